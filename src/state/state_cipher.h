// StateCipher: encryption at rest of the personal data in the state store (docs/access.md,
// "Encryption at rest"), AES-256-GCM from OpenSSL.
//
// What is sealed (KvStore applies it on every write and opens it on every read, so no other
// module sees ciphertext):
//   values of   prof/  (profiles)          uid/  (a user's identities)
//               led/   (decision ledger: rendered messages, personalisation values)
//               err/   (ingest errors: excerpts of rejected records)
//               jrn/<pid>/o/, jrn/<pid>/m/ (outbox and in-app messages: recipient, content)
//               jrn/<pid>/k/               (advisor tasks: who the customer is)
//   keys of     idm/   (the identity index: "<key>\x1f<value>" holds phone numbers, emails)
//
// A sealed value is "\xffSE1" + key id (1 byte) + random 12-byte nonce + ciphertext + 16-byte
// tag, with the KV key as associated data (a value cannot be moved to another key). A sealed
// index key is "idm/<pid>/" + "\x01" + key id + nonce + ciphertext + tag of "<key>\x1f<value>",
// with a deterministic nonce (HMAC-SHA-256 of the plaintext under a key derived for the
// purpose, the SIV construction) so that a lookup can compute the stored key from the id; it
// reveals only whether two stored ids are equal, which an index must.
//
// Keys come from a keyring (a file given with --pii-key-file, or the SEXTANT_PII_KEYS
// environment variable): lines "<id>:<base64 of 32 random bytes>", ids 1-255, '#' comments. The
// last line is the active key, used for every new write; every listed key can still be read.
// Rotation: add a line, restart, run `sextant pii rotate` (rewrites everything under the
// active key), then drop the old line. Values written before encryption was turned on stay
// readable (they carry no marker) until `sextant pii rotate` seals them.
//
// Thread-safety: immutable after construction; all methods are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sextant::state {

class StateCipher {
 public:
  // Parses keyring text (see above); `source` names it in errors.
  static Result<std::unique_ptr<StateCipher>> FromKeyring(std::string_view text,
                                                          const std::string& source);
  // The keyring of a process: the file `key_file` if given, else the environment variable
  // SEXTANT_PII_KEYS (the keyring text itself); null when neither is set.
  static Result<std::shared_ptr<const StateCipher>> Load(const std::string& key_file);
  // A new keyring line "<id>:<base64>" with 32 bytes from the OS's random generator.
  static Result<std::string> GenerateKeyLine(uint8_t id);

  // Which stored forms apply to `key` (a plaintext KV key).
  static bool SealsValueOf(std::string_view key);
  static bool SealsKey(std::string_view key);
  // Whether a stored value / key is sealed, and by which key id.
  static bool IsSealedValue(std::string_view stored);
  static bool IsSealedKey(std::string_view stored_key);
  static uint8_t KeyIdOfValue(std::string_view stored) { return static_cast<uint8_t>(stored[4]); }
  static uint8_t KeyIdOfKey(std::string_view stored_key);

  uint8_t active_id() const { return active_; }
  bool Has(uint8_t key_id) const { return keys_.count(key_id) > 0; }

  std::string SealValue(std::string_view key, std::string_view value) const;
  // The plaintext of a sealed value (kCorruption if it does not authenticate, kUnavailable
  // naming the key id if the keyring lacks it); an unsealed value is returned as it is.
  Result<std::string> OpenValue(std::string_view key, std::string_view stored) const;

  // The stored form of index key `key` under key `key_id`.
  std::string SealKey(std::string_view key, uint8_t key_id) const;
  // Every form `key` may be stored under: the active key's first, then the other keys', then
  // the plaintext (written before encryption was on).
  std::vector<std::string> KeyForms(std::string_view key) const;
  Result<std::string> OpenKey(std::string_view stored_key) const;

 private:
  struct Key {
    std::array<unsigned char, 32> encryption{};
    std::array<unsigned char, 32> nonce_mac{};
  };
  StateCipher() = default;
  Result<const Key*> Find(uint8_t key_id) const;

  std::map<uint8_t, Key> keys_;
  uint8_t active_ = 0;
};

// "the state store is encrypted with key N ..." — the error of a sealed value without a
// cipher (or without that key).
Status MissingKeyError(uint8_t key_id);

}  // namespace sextant::state
