#include "state/hash_chain.h"

#include <openssl/evp.h>

namespace sextant::state {

namespace {

// SHA-256 fetched from the provider once: EVP_sha256() makes OpenSSL 3 look the algorithm up
// again on every EVP_DigestInit_ex (a locked search, a third of a ledger append's cost).
const EVP_MD* Sha256() {
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kSha256;
}

// One digest context per thread, reset by each EVP_DigestInit_ex.
struct DigestContext {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  ~DigestContext() { EVP_MD_CTX_free(context); }
};

std::string DigestHex(std::string_view first, std::string_view second) {
  thread_local DigestContext holder;
  EVP_MD_CTX* context = holder.context;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestInit_ex(context, Sha256(), nullptr);
  EVP_DigestUpdate(context, first.data(), first.size());
  EVP_DigestUpdate(context, second.data(), second.size());
  EVP_DigestFinal_ex(context, digest, &length);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(size_t{length} * 2, '0');
  for (unsigned int index = 0; index < length; ++index) {
    hex[2 * index] = kDigits[digest[index] >> 4];
    hex[2 * index + 1] = kDigits[digest[index] & 15];
  }
  return hex;
}

constexpr char kRedactedMark = '#';
constexpr size_t kHeaderBytes = 128;

// The digest of the original body of a stored value.
std::string BodyDigest(std::string_view stored) {
  if (IsRedactedChainEntry(stored)) return std::string(stored.substr(kHeaderBytes + 1, 64));
  return Sha256Hex(stored.substr(kHeaderBytes));
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) { return DigestHex(bytes, {}); }

std::string ChainHash(std::string_view previous_hash, std::string_view body) {
  return DigestHex(previous_hash, Sha256Hex(body));
}

bool IsRedactedChainEntry(std::string_view stored) {
  return stored.size() >= kHeaderBytes + 1 + 64 && stored[kHeaderBytes] == kRedactedMark;
}

std::string_view ChainEntryBody(std::string_view stored) {
  if (stored.size() < kHeaderBytes) return {};
  return IsRedactedChainEntry(stored) ? stored.substr(kHeaderBytes + 1 + 64)
                                      : stored.substr(kHeaderBytes);
}

std::string RedactChainEntry(std::string_view stored, std::string_view redacted_body) {
  std::string value(stored.substr(0, kHeaderBytes));
  value += kRedactedMark;
  value += BodyDigest(stored);
  value += redacted_body;
  return value;
}

std::string ChainValue(std::string_view previous_hash, std::string_view body, std::string* hash) {
  *hash = ChainHash(previous_hash, body);
  std::string value;
  value.reserve(128 + body.size());
  value.append(*hash).append(previous_hash).append(body);
  return value;
}

std::string RenderChainEntry(uint64_t sequence, std::string_view stored) {
  std::string_view hash = stored.substr(0, 64), previous = stored.substr(64, 64);
  std::string_view body = ChainEntryBody(stored);
  std::string out = "{\"seq\":" + std::to_string(sequence) + ",\"hash\":\"" + std::string(hash) +
                    "\",\"prev\":\"" + std::string(previous) + "\"";
  if (IsRedactedChainEntry(stored))
    out += ",\"redacted\":true,\"body_sha256\":\"" + BodyDigest(stored) + "\"";
  if (body.size() > 2)
    out += "," + std::string(body.substr(1));
  else
    out += "}";
  return out;
}

Result<ChainHead> ReadChainHead(const KvStore& kv, std::string_view prefix) {
  ChainHead head;
  SEXTANT_RETURN_IF_ERROR(kv.ScanPrefix(
      prefix,
      [&](std::string_view key, std::string_view value) {
        head.sequence = ReadBigEndian64(key.substr(prefix.size()));
        head.hash = std::string(value.substr(0, 64));
        return false;
      },
      /*reverse=*/true));
  return head;
}

Result<ChainVerification> VerifyChain(const KvStore& kv, std::string_view prefix) {
  ChainVerification verification;
  uint64_t expected = 1;
  SEXTANT_RETURN_IF_ERROR(kv.ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    const uint64_t sequence = ReadBigEndian64(key.substr(prefix.size()));
    auto fail = [&](std::string reason) {
      verification.valid = false;
      verification.first_bad_sequence = sequence;
      verification.reason = std::move(reason);
      return false;
    };
    if (sequence != expected) return fail("entry " + std::to_string(expected) + " is missing");
    if (value.size() < 128) return fail("entry is truncated");
    if (value.substr(64, 64) != verification.head_hash) return fail("previous hash does not match");
    const std::string_view stored_hash = value.substr(0, 64);
    const bool redacted = IsRedactedChainEntry(value);
    if (DigestHex(verification.head_hash, BodyDigest(value)) != stored_hash &&
        // Entries written before the digest form hashed the body itself.
        (redacted || DigestHex(verification.head_hash, value.substr(128)) != stored_hash))
      return fail("hash does not match the entry's content");
    if (redacted) ++verification.redacted;
    verification.head_hash = std::string(value.substr(0, 64));
    ++verification.entries;
    ++expected;
    return true;
  }));
  return verification;
}

}  // namespace sextant::state
