// UserColumn: one value per dense user id, for a profile property or a tag, held in memory so
// that a condition over ten million users is one sequential scan (and no KV reads).
//
// Layout: NUMBER / BOOL (0/1) / DATETIME (ms) / DATE (days) values are doubles, NaN = absent;
// STRING values are codes into a per-column dictionary, 0 = absent; LIST values are a
// dictionary code of the list's JSON rendering (conditions on lists go through the dictionary
// entries, which keep the decoded list).
//
// Thread-safety: none; the owner (AudienceEngine) serialises writers and readers.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <roaring/roaring.hh>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/value.h"
#include "query/query_context.h"
#include "store/event_row.h"

namespace sextant::audience {

using store::EventId;
using store::PropertyId;
using store::UserId;

class UserColumn {
 public:
  explicit UserColumn(ValueType type = ValueType::kNumber) : type_(type) {}

  ValueType type() const { return type_; }
  bool numeric() const { return type_ != ValueType::kString && type_ != ValueType::kList; }
  // One past the highest user id with a slot (users at or above it are absent).
  UserId size() const { return static_cast<UserId>(numeric() ? numbers_.size() : codes_.size()); }

  // Stores `value` for `user` (nullptr = absent). A value of another type than the column's is
  // stored as absent (the schema registry fixes property types, so this only happens for tag
  // values of a definition whose value type changed; the next run rewrites the column).
  void Set(UserId user, const Value* value);
  void Clear(UserId user) { Set(user, nullptr); }
  // Numeric columns: stores the raw number (NaN = absent), as the column holds it.
  void SetNumber(UserId user, double number);
  std::optional<Value> Get(UserId user) const;
  bool Has(UserId user) const;
  // NUMBER-like columns: the value or NaN.
  double Number(UserId user) const {
    return user < numbers_.size() ? numbers_[user] : std::nan("");
  }
  // STRING / LIST columns: the dictionary code (0 = absent) and the value of a code.
  uint32_t Code(UserId user) const { return user < codes_.size() ? codes_[user] : 0; }
  const Value& Dictionary(uint32_t code) const { return dictionary_[code - 1]; }
  size_t dictionary_size() const { return dictionary_.size(); }

  // Users in [1, user_limit) whose value satisfies `condition` (its user/property fields are
  // ignored; op and literals are used). A condition on an absent value is false except
  // not_set, as in the query language (docs/query.md).
  Roaring Select(const query::CompiledCondition& condition, UserId user_limit) const;
  // Users that have a value.
  Roaring Present() const;

  // Memory held, for the engine's accounting.
  size_t MemoryBytes() const;

 private:
  uint32_t Intern(const Value& value);

  ValueType type_;
  std::vector<double> numbers_;
  std::vector<uint32_t> codes_;
  std::vector<Value> dictionary_;
  std::unordered_map<std::string, uint32_t> code_of_;  // dictionary key → code
};

}  // namespace sextant::audience
