#include "identity/id_owner_map.h"

#include "common/hash.h"

namespace sextant::identity {

namespace {

constexpr char kSeparator = '\x1f';
constexpr size_t kFirstSlots = 1024;

}  // namespace

uint64_t IdOwnerMap::Hash(std::string_view key, std::string_view value) {
  const uint64_t hash = Hash64(value, Hash64(key));
  return hash == 0 ? 1 : hash;
}

size_t IdOwnerMap::Probe(uint64_t hash, std::string_view key, std::string_view value) const {
  const size_t mask = slots_.size() - 1;
  for (size_t idx = hash & mask;; idx = (idx + 1) & mask) {
    const Slot& slot = slots_[idx];
    if (slot.hash == 0) return idx;
    if (slot.hash == hash && slot.key_size == key.size()) {
      const char* bytes = arena_.data() + slot.offset;
      const size_t value_size = static_cast<size_t>(static_cast<unsigned char>(bytes[-1])) |
                                (static_cast<size_t>(static_cast<unsigned char>(bytes[-2])) << 8);
      if (value_size == value.size() && std::string_view(bytes, key.size()) == key &&
          std::string_view(bytes + key.size() + 1, value.size()) == value) {
        return idx;
      }
    }
  }
}

UserId IdOwnerMap::Find(std::string_view key, std::string_view value) const {
  if (size_ == 0 || value.size() > 0xffff) return 0;
  const Slot& slot = slots_[Probe(Hash(key, value), key, value)];
  return slot.hash == 0 ? 0 : slot.user;
}

void IdOwnerMap::Set(std::string_view key, std::string_view value, UserId user) {
  // Values longer than 64 KiB cannot be identities (the ingest limit is far lower); they are
  // not stored rather than stored wrongly.
  if (value.size() > 0xffff) return;
  if ((size_ + 1) * 10 > slots_.size() * 7) Grow();  // load factor ≤ 0.7
  const uint64_t hash = Hash(key, value);
  Slot& slot = slots_[Probe(hash, key, value)];
  if (slot.hash != 0) {
    slot.user = user;
    return;
  }
  // Entry bytes: value size (2 bytes, big-endian), key, separator, value; the slot points past
  // the size so the key starts at its offset.
  arena_.push_back(static_cast<char>(value.size() >> 8));
  arena_.push_back(static_cast<char>(value.size() & 0xff));
  slot.hash = hash;
  slot.offset = arena_.size();
  slot.key_size = static_cast<uint32_t>(key.size());
  slot.user = user;
  arena_.append(key);
  arena_.push_back(kSeparator);
  arena_.append(value);
  ++size_;
}

void IdOwnerMap::SetJoined(std::string_view joined, UserId user) {
  const size_t separator = joined.find(kSeparator);
  if (separator == std::string_view::npos) {
    Set(joined, std::string_view(), user);
  } else {
    Set(joined.substr(0, separator), joined.substr(separator + 1), user);
  }
}

void IdOwnerMap::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? kFirstSlots : old.size() * 2, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.hash == 0) continue;
    size_t idx = slot.hash & mask;
    while (slots_[idx].hash != 0) idx = (idx + 1) & mask;
    slots_[idx] = slot;
  }
}

}  // namespace sextant::identity
