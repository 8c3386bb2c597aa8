#include "state/state_cipher.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace sextant::state {

namespace {

constexpr std::string_view kValueMark = "\xffSE1";
constexpr char kKeyMark = '\x01';
constexpr std::string_view kIndexPrefix = "idm/";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

// Where the plaintext part of an index key starts: after "idm/<pid>/".
size_t IndexBodyStart(std::string_view key) {
  if (key.substr(0, kIndexPrefix.size()) != kIndexPrefix) return std::string_view::npos;
  const size_t slash = key.find('/', kIndexPrefix.size());
  return slash == std::string_view::npos ? std::string_view::npos : slash + 1;
}

void Hmac(const unsigned char* key, std::string_view a, std::string_view b, unsigned char* out) {
  std::string message;
  message.reserve(a.size() + b.size());
  message.append(a).append(b);
  unsigned int length = 0;
  HMAC(EVP_sha256(), key, 32, reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), out, &length);
}

// AES-256-GCM of `plaintext` with `nonce` and `aad`, appended to *out as ciphertext || tag.
void Seal(const unsigned char* key, const unsigned char* nonce, std::string_view aad,
          std::string_view plaintext, std::string* out) {
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  int length = 0;
  EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr);
  EVP_EncryptInit_ex(context, nullptr, nullptr, key, nonce);
  EVP_EncryptUpdate(context, nullptr, &length, reinterpret_cast<const unsigned char*>(aad.data()),
                    static_cast<int>(aad.size()));
  const size_t start = out->size();
  out->resize(start + plaintext.size() + kTagBytes);
  auto* cipher = reinterpret_cast<unsigned char*>(out->data() + start);
  EVP_EncryptUpdate(context, cipher, &length,
                    reinterpret_cast<const unsigned char*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  int final_length = 0;
  EVP_EncryptFinal_ex(context, cipher + length, &final_length);
  EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, kTagBytes, cipher + plaintext.size());
  EVP_CIPHER_CTX_free(context);
}

// Inverse of Seal: `sealed` is ciphertext || tag. False if it does not authenticate.
bool Open(const unsigned char* key, const unsigned char* nonce, std::string_view aad,
          std::string_view sealed, std::string* plaintext) {
  if (sealed.size() < kTagBytes) return false;
  const size_t length = sealed.size() - kTagBytes;
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  int out_length = 0;
  EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr);
  EVP_DecryptInit_ex(context, nullptr, nullptr, key, nonce);
  EVP_DecryptUpdate(context, nullptr, &out_length,
                    reinterpret_cast<const unsigned char*>(aad.data()), static_cast<int>(aad.size()));
  plaintext->resize(length);
  EVP_DecryptUpdate(context, reinterpret_cast<unsigned char*>(plaintext->data()), &out_length,
                    reinterpret_cast<const unsigned char*>(sealed.data()), static_cast<int>(length));
  std::string tag(sealed.substr(length));
  EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data());
  int final_length = 0;
  const bool ok = EVP_DecryptFinal_ex(context, reinterpret_cast<unsigned char*>(plaintext->data()) +
                                                   out_length,
                                      &final_length) == 1;
  EVP_CIPHER_CTX_free(context);
  return ok;
}

}  // namespace

Status MissingKeyError(uint8_t key_id) {
  return Status(ErrorCode::kUnavailable,
                "the state store holds personal data encrypted with key " + std::to_string(key_id) +
                    ", which the keyring does not have (give it with --pii-key-file or "
                    "SEXTANT_PII_KEYS; docs/access.md \"Encryption at rest\")");
}

Result<std::unique_ptr<StateCipher>> StateCipher::FromKeyring(std::string_view text,
                                                              const std::string& source) {
  std::unique_ptr<StateCipher> cipher(new StateCipher());
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](const std::string& why) {
      return Status(ErrorCode::kBadRequest,
                    source + " line " + std::to_string(line_number) + ": " + why +
                        " (expected \"<id 1-255>:<base64 of 32 bytes>\", e.g. from "
                        "`sextant pii keygen`)");
    };
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return bad("no ':'");
    int id = 0;
    for (char c : line.substr(0, colon)) {
      if (c < '0' || c > '9' || id > 255) return bad("key id is not a number from 1 to 255");
      id = id * 10 + (c - '0');
    }
    if (id < 1 || id > 255) return bad("key id is not a number from 1 to 255");
    const std::string_view encoded = line.substr(colon + 1);
    std::string raw(encoded.size(), '\0');
    const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                        reinterpret_cast<const unsigned char*>(encoded.data()),
                                        static_cast<int>(encoded.size()));
    // EVP_DecodeBlock counts the padding bytes as output: 32 bytes → 44 chars, one '='.
    const int padding = encoded.size() >= 1 && encoded.back() == '=' ?
                            (encoded.size() >= 2 && encoded[encoded.size() - 2] == '=' ? 2 : 1) : 0;
    if (decoded < 0 || decoded - padding != 32) return bad("the key is not base64 of 32 bytes");
    if (cipher->keys_.count(static_cast<uint8_t>(id))) return bad("key id " + std::to_string(id) + " twice");
    Key& key = cipher->keys_[static_cast<uint8_t>(id)];
    const auto* secret = reinterpret_cast<const unsigned char*>(raw.data());
    Hmac(secret, "sextant state encryption", "", key.encryption.data());
    Hmac(secret, "sextant state index nonce", "", key.nonce_mac.data());
    cipher->active_ = static_cast<uint8_t>(id);
  }
  if (cipher->keys_.empty()) return Status(ErrorCode::kBadRequest, source + ": no key");
  return cipher;
}

Result<std::shared_ptr<const StateCipher>> StateCipher::Load(const std::string& key_file) {
  std::string text, source;
  if (!key_file.empty()) {
    std::ifstream in(key_file, std::ios::binary);
    if (!in) return Status(ErrorCode::kIoError, "cannot read the keyring " + key_file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    source = key_file;
  } else if (const char* env = std::getenv("SEXTANT_PII_KEYS"); env != nullptr && *env != '\0') {
    text = env;
    source = "SEXTANT_PII_KEYS";
  } else {
    return std::shared_ptr<const StateCipher>();
  }
  auto cipher = FromKeyring(text, source);
  if (!cipher.ok()) return cipher.status();
  return std::shared_ptr<const StateCipher>(std::move(cipher.value()));
}

Result<std::string> StateCipher::GenerateKeyLine(uint8_t id) {
  unsigned char secret[32];
  if (RAND_bytes(secret, sizeof secret) != 1)
    return Status(ErrorCode::kInternal, "the OS random generator failed");
  unsigned char encoded[64];
  const int length = EVP_EncodeBlock(encoded, secret, sizeof secret);
  return std::to_string(id) + ":" + std::string(reinterpret_cast<char*>(encoded), length);
}

bool StateCipher::SealsValueOf(std::string_view key) {
  if (key.starts_with("prof/") || key.starts_with("uid/") || key.starts_with("led/") ||
      key.starts_with("err/"))
    return true;
  if (!key.starts_with("jrn/")) return false;
  const size_t slash = key.find('/', 4);
  if (slash == std::string_view::npos) return false;
  const std::string_view space = key.substr(slash + 1, 2);
  return space == "o/" || space == "m/" || space == "k/";
}

bool StateCipher::SealsKey(std::string_view key) {
  return IndexBodyStart(key) != std::string_view::npos;
}

bool StateCipher::IsSealedValue(std::string_view stored) {
  return stored.size() >= kValueMark.size() + 1 + kNonceBytes + kTagBytes &&
         stored.substr(0, kValueMark.size()) == kValueMark;
}

bool StateCipher::IsSealedKey(std::string_view stored_key) {
  const size_t body = IndexBodyStart(stored_key);
  return body != std::string_view::npos &&
         stored_key.size() >= body + 2 + kNonceBytes + kTagBytes && stored_key[body] == kKeyMark;
}

uint8_t StateCipher::KeyIdOfKey(std::string_view stored_key) {
  return static_cast<uint8_t>(stored_key[IndexBodyStart(stored_key) + 1]);
}

Result<const StateCipher::Key*> StateCipher::Find(uint8_t key_id) const {
  auto found = keys_.find(key_id);
  if (found == keys_.end()) return MissingKeyError(key_id);
  return &found->second;
}

std::string StateCipher::SealValue(std::string_view key, std::string_view value) const {
  const Key& active = keys_.at(active_);
  unsigned char nonce[kNonceBytes];
  RAND_bytes(nonce, sizeof nonce);
  std::string out(kValueMark);
  out.push_back(static_cast<char>(active_));
  out.append(reinterpret_cast<const char*>(nonce), kNonceBytes);
  Seal(active.encryption.data(), nonce, key, value, &out);
  return out;
}

Result<std::string> StateCipher::OpenValue(std::string_view key, std::string_view stored) const {
  if (!IsSealedValue(stored)) return std::string(stored);
  auto found = Find(KeyIdOfValue(stored));
  if (!found.ok()) return found.status();
  const auto* nonce = reinterpret_cast<const unsigned char*>(stored.data() + kValueMark.size() + 1);
  std::string plaintext;
  if (!Open((*found)->encryption.data(), nonce, key,
            stored.substr(kValueMark.size() + 1 + kNonceBytes), &plaintext))
    return Status(ErrorCode::kCorruption,
                  "encrypted state value does not authenticate (damaged, or moved from another "
                  "key)");
  return plaintext;
}

std::string StateCipher::SealKey(std::string_view key, uint8_t key_id) const {
  const size_t body = IndexBodyStart(key);
  const Key& sealing = keys_.at(key_id);
  const std::string_view prefix = key.substr(0, body), plaintext = key.substr(body);
  unsigned char mac[32];
  Hmac(sealing.nonce_mac.data(), prefix, plaintext, mac);
  std::string out(prefix);
  out.push_back(kKeyMark);
  out.push_back(static_cast<char>(key_id));
  out.append(reinterpret_cast<const char*>(mac), kNonceBytes);
  Seal(sealing.encryption.data(), mac, prefix, plaintext, &out);
  return out;
}

std::vector<std::string> StateCipher::KeyForms(std::string_view key) const {
  std::vector<std::string> forms;
  forms.push_back(SealKey(key, active_));
  for (const auto& [id, unused] : keys_)
    if (id != active_) forms.push_back(SealKey(key, id));
  forms.emplace_back(key);
  return forms;
}

Result<std::string> StateCipher::OpenKey(std::string_view stored_key) const {
  if (!IsSealedKey(stored_key)) return std::string(stored_key);
  const size_t body = IndexBodyStart(stored_key);
  auto found = Find(KeyIdOfKey(stored_key));
  if (!found.ok()) return found.status();
  const auto* nonce = reinterpret_cast<const unsigned char*>(stored_key.data() + body + 2);
  std::string plaintext;
  const std::string_view prefix = stored_key.substr(0, body);
  if (!Open((*found)->encryption.data(), nonce, prefix,
            stored_key.substr(body + 2 + kNonceBytes), &plaintext))
    return Status(ErrorCode::kCorruption, "encrypted identity index key does not authenticate");
  return std::string(prefix) + plaintext;
}

}  // namespace sextant::state
