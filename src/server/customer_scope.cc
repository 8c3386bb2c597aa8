#include "server/customer_scope.h"

#include <string>
#include <vector>

#include "common/json_writer.h"

namespace sextant::server {
namespace {

query::FilterNode UserCondition(const std::string& property, query::CompareOp op,
                                const std::vector<std::string>& values) {
  query::FilterNode node;
  node.kind = query::FilterNode::Kind::kCondition;
  node.condition.property = query::PropertyRef{.user = true, .name = property};
  node.condition.op = op;
  for (const std::string& value : values) {
    query::Literal literal;
    literal.kind = query::Literal::Kind::kString;
    literal.string = value;
    node.condition.values.push_back(std::move(literal));
  }
  return node;
}

query::FilterNode Combine(query::FilterNode::Kind kind, std::vector<query::FilterNode> children) {
  query::FilterNode node;
  node.kind = kind;
  node.children = std::move(children);
  return node;
}

void WriteProfileCondition(JsonWriter& out, const std::string& property, const char* op,
                           const std::vector<std::string>* values, const std::string* value) {
  out.BeginObject().Key("profile").String(property).Key("op").String(op);
  if (value) out.Key("value").String(*value);
  if (values) {
    out.Key("value").BeginArray();
    for (const std::string& item : *values) out.String(item);
    out.EndArray();
  }
  out.EndObject();
}

}  // namespace

std::optional<audience::CustomerScope> CustomerScopeOf(const access::Principal& principal,
                                                       const access::AccountStore& accounts) {
  if (!principal.ScopedToOrgUnit()) return std::nullopt;
  using Kind = query::FilterNode::Kind;
  using query::CompareOp;
  const std::string unit = principal.org_unit;
  const std::string below = unit + "/";
  const std::vector<std::string> advisors = accounts.AccountsCoveredBy(principal);

  audience::CustomerScope scope;
  // Query language: org_unit = U  or  org_unit starts with "U/"  or
  //                 (org_unit not set and advisor_id in [accounts of U and below]).
  std::vector<query::FilterNode> any = {UserCondition("org_unit", CompareOp::kEq, {unit}),
                                        UserCondition("org_unit", CompareOp::kStartsWith, {below})};
  if (!advisors.empty()) {
    // An empty org_unit counts as none, as in RequestRouter::CheckCustomerScope.
    any.push_back(Combine(
        Kind::kAll, {Combine(Kind::kAny, {UserCondition("org_unit", CompareOp::kNotSet, {}),
                                          UserCondition("org_unit", CompareOp::kEq, {""})}),
                     UserCondition("advisor_id", CompareOp::kIn, advisors)}));
  }
  scope.filter = Combine(Kind::kAny, std::move(any));

  // The same as a segment rule (docs/segments.md).
  JsonWriter rule;
  rule.BeginObject().Key("any").BeginArray();
  WriteProfileCondition(rule, "org_unit", "=", nullptr, &unit);
  WriteProfileCondition(rule, "org_unit", "starts_with", nullptr, &below);
  if (!advisors.empty()) {
    const std::string empty;
    rule.BeginObject().Key("all").BeginArray();
    rule.BeginObject().Key("any").BeginArray();
    WriteProfileCondition(rule, "org_unit", "not_set", nullptr, nullptr);
    WriteProfileCondition(rule, "org_unit", "=", nullptr, &empty);
    rule.EndArray().EndObject();
    WriteProfileCondition(rule, "advisor_id", "in", &advisors, nullptr);
    rule.EndArray().EndObject();
  }
  rule.EndArray().EndObject();
  scope.rule_json = rule.Take();
  return scope;
}

}  // namespace sextant::server
