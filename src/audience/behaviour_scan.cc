#include "audience/behaviour_scan.h"

#include <cmath>

namespace sextant::audience {
namespace {

bool Evaluate(const query::CompiledFilter& filter, int node_index, const store::EventRow& row) {
  const query::CompiledFilter::Node& node = filter.nodes[node_index];
  switch (node.kind) {
    case query::FilterNode::Kind::kAll:
      for (int child : node.children) {
        if (!Evaluate(filter, child, row)) return false;
      }
      return true;
    case query::FilterNode::Kind::kAny:
      for (int child : node.children) {
        if (Evaluate(filter, child, row)) return true;
      }
      return false;
    case query::FilterNode::Kind::kNot:
      return !Evaluate(filter, node.children[0], row);
    case query::FilterNode::Kind::kCondition: {
      const query::CompiledCondition& condition = filter.conditions[node.condition];
      const Value* value = nullptr;
      if (condition.property != 0) {
        for (const store::PropertyCell& cell : row.properties) {
          if (cell.property_id == condition.property) {
            value = &cell.value;
            break;
          }
        }
      }
      return query::EvaluateValue(condition, value);
    }
  }
  return false;
}

}  // namespace

Result<CompiledStep> CompileStep(query::QueryContext& context, const EventStep& step,
                                 const std::string& path) {
  CompiledStep out;
  out.event = query::ResolveEvent(context.schema(), step.event);
  if (out.event == query::kAnyEvent) {
    for (std::string_view own : query::kOwnEvents) {
      if (EventId id = context.schema().FindEvent(std::string(own)); id != 0)
        out.any_excludes.push_back(id);
    }
  }
  auto where = context.Compile(step.where, path + ".where");
  if (!where.ok()) return where.status();
  for (const query::CompiledCondition& condition : where->conditions) {
    if (condition.user) {
      return Status(ErrorCode::kInvalidQuery,
                    path +
                        ".where: takes event properties; put user properties in a profile "
                        "condition",
                    path + ".where");
    }
  }
  out.where = std::move(*where);
  return out;
}

const store::PropColumn* PropertyReader::ColumnOf(const query::DayColumns& day) {
  if (&day != day_) {
    day_ = &day;
    column_ = nullptr;
    if (property_ != 0) {
      auto column = day.Property(property_);
      if (column.ok()) column_ = *column;
    }
  }
  return column_;
}

std::optional<Value> PropertyReader::Get(const query::DayColumns& day, uint32_t row) {
  const store::PropColumn* column = ColumnOf(day);
  if (column == nullptr || column->slot[row] < 0) return std::nullopt;
  return column->Get(column->slot[row]);
}

double PropertyReader::Number(const query::DayColumns& day, uint32_t row) {
  const store::PropColumn* column = ColumnOf(day);
  if (column == nullptr || column->type != ValueType::kNumber || column->slot[row] < 0) {
    return std::nan("");
  }
  return column->numbers[column->slot[row]];
}

bool RowMatches(const CompiledStep& step, const store::EventRow& row) {
  if (step.event != query::kAnyEvent && step.event != row.event_id) return false;
  for (EventId excluded : step.any_excludes) {  // "$any": all but Sextant's own events
    if (row.event_id == excluded) return false;
  }
  return step.where.matches_all() || Evaluate(step.where, step.where.root, row);
}

}  // namespace sextant::audience
