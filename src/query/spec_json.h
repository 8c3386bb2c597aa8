// JSON building blocks of the query language (docs/query.md), shared with the languages built
// on it — segment rules and tag definitions (docs/segments.md). Every error is kInvalidQuery
// with the JSON path of the offending field in Status::field().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "common/status.h"
#include "query/query_spec.h"

namespace sextant::query::spec_json {

using simdjson::dom::element;

// kInvalidQuery "<path>: <why>" with field `path`.
Status Invalid(const std::string& path, const std::string& why);
// "a.b" from ("a", "b"); "b" from ("", "b").
std::string Join(const std::string& path, std::string_view key);
// The member `key` of `object`, if present.
std::optional<element> Member(const element& object, std::string_view key);
// A string member; "" when absent and not required.
Result<std::string> GetString(const element& object, std::string_view key,
                              const std::string& path, bool required);
// An integer member in [min, max]; `fallback` when absent.
Result<int64_t> GetInteger(const element& object, std::string_view key, const std::string& path,
                           int64_t fallback, int64_t min, int64_t max);
Result<Literal> ParseLiteral(const element& value, const std::string& path);
// "=", "!=", ">", ">=", "<", "<=", "between", "in", "not_in", "contains", "starts_with",
// "is_set", "not_set".
std::optional<CompareOp> ParseOp(std::string_view op);
// The "op" and "value" members of a condition object at `path` (the property is read by the
// caller): value is absent for is_set/not_set, [low, high] for between, a list for in/not_in.
Status ParseConditionBody(const element& value, const std::string& path, Condition* condition);
// A filter tree (all / any / not / condition). With `bare_names_are_event`, a property name
// without a dot means "event.<name>" (segment rules' "where" lists).
Result<FilterNode> ParseFilter(const element& value, const std::string& path, int depth,
                               bool bare_names_are_event = false);
// The "where" member of `object`: a list of conditions (all must hold) or one filter object;
// bare property names are event properties. nullopt when absent, null or an empty list.
Result<std::optional<FilterNode>> ParseWhere(const element& object, const std::string& path);

}  // namespace sextant::query::spec_json
