// Mapping of flat rows (CSV records or flat JSON objects) onto Sensors records; the mapping
// file format is documented in docs/import.md.
//
// A RowMapper is built once per import from the mapping and the kind (events / profiles /
// items); Prepare() binds it to a CSV header, then Map() turns one row into one compact JSON
// record. Errors name the column (as `field`) so the error file can say which cell was bad.
// Thread-safety: const methods are thread-safe; Prepare/Map mutate caches and are not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "common/time_zone.h"
#include "common/value.h"
#include "import/time_format.h"

namespace sextant::import {

enum class ImportKind { kEvents, kProfiles, kItems, kRecords };
bool ParseImportKind(std::string_view name, ImportKind* out);

struct ColumnSpec {
  std::optional<ValueType> type;  // unset: inferred
  std::string rename;             // empty: keep the column name
  std::string separator = "|";    // LIST
  std::string time_format;        // DATETIME / DATE cells; empty: auto
  bool skip = false;
};

struct Mapping {
  std::string id_column;                           // default: distinct_id / item_id
  std::string id_key = "$identity_login_id";       // "" or "distinct_id": no identities map
  std::string event;                               // constant event name, or
  std::string event_column;                        // the column holding it (default "event")
  std::string time_column;                         // default "time" when present
  std::string time_format = "auto";
  std::string time_zone = "Asia/Shanghai";
  std::string item_type;                           // items: constant, or
  std::string item_type_column;
  bool infer_types = true;
  bool time_free = true;
  std::string profile_op = "profile_set";          // profiles: profile_set or profile_set_once
  std::unordered_map<std::string, ColumnSpec> columns;
};

// Parses the JSON mapping file text.
Result<Mapping> ParseMapping(std::string_view json);

// One cell of a row. CSV cells are untyped text; JSON cells keep their JSON type, and
// kJsonRaw holds the raw text of an array or object.
struct Cell {
  enum class Kind : uint8_t { kText, kJsonString, kJsonNumber, kJsonBool, kJsonNull, kJsonRaw };
  Kind kind = Kind::kText;
  std::string_view text;  // kJsonString: unescaped; kJsonNumber/kJsonRaw: JSON text
  bool boolean = false;
};

// "NUMBER" if a CSV cell looks numeric (no leading zeros except "0.x", at most 15 significant
// digits — longer digit strings are account numbers, not quantities), "BOOL" for true/false,
// else "STRING".
ValueType InferCellType(std::string_view text);

class RowMapper {
 public:
  static Result<RowMapper> Create(const Mapping& mapping, ImportKind kind);

  // Binds column positions for a CSV header. Fails if a required column is missing.
  Status Prepare(const std::vector<std::string_view>& header);

  // Appends the record for one row to `out` (no newline). `names` are the column names
  // (the prepared header for CSV). `track_id` is used for event records.
  // On error nothing is appended and the Status names the column in field().
  Status Map(const std::vector<std::string_view>& names, const std::vector<Cell>& cells,
             int64_t track_id, std::string* out);

  ImportKind kind() const { return kind_; }

 private:
  enum class Role : uint8_t { kProperty, kId, kEvent, kTime, kItemType, kSkip };
  struct Plan {
    Role role = Role::kProperty;
    const ColumnSpec* spec = nullptr;  // may be null
    std::string key_json;              // "\"name\":" ready to append
  };
  const Plan& PlanFor(std::string_view name);
  Status AppendValue(const Plan& plan, std::string_view column, const Cell& cell,
                     std::string* out) const;

  Mapping mapping_;
  ImportKind kind_ = ImportKind::kEvents;
  TimeZone zone_;
  TimeFormat time_format_;
  std::string id_column_, event_column_, time_column_, item_type_column_;
  std::vector<Plan> header_plans_;  // by CSV column index
  bool prepared_ = false;
  std::unordered_map<std::string, Plan> plan_cache_;  // by column name (JSON rows)
  std::string type_prefix_;  // {"type":"...",
  std::string scratch_;
};

}  // namespace sextant::import
