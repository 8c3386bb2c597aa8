// libFuzzer target: `sextant import` of a CSV file (docs/import.md). Input: byte 0 selects the
// kind (bits 0-1: events, profiles, items, records) and the delimiter (bits 2-3: ',' ';' '\t'
// '|'); then the mapping JSON up to the first '\n' (empty = "{}"); the rest is the CSV file.
// Seeds start with '@' (events, ','), 'A' (profiles), 'B' (items), 'D' (events, ';').
// Rows are read as the importer reads them and mapped; every record Map() produces must be a
// JSON object (the server parses each line of the batch with simdjson).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import/csv_reader.h"
#include "import/row_mapper.h"

#ifndef SEXTANT_FUZZ_ENTRY
#define SEXTANT_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

namespace {

// The output contract: a JSON object. Numbers outside the double range are grammatical JSON
// that simdjson refuses; the server reports those per record, so they are not failures here.
void CheckRecord(std::string_view record) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(record.data(), record.size()).get(root);
  if (error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE) return;
  if (error != simdjson::SUCCESS || !root.is_object()) std::abort();
}

}  // namespace

extern "C" int SEXTANT_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  namespace import = sextant::import;
  if (size == 0) return 0;
  static constexpr import::ImportKind kKinds[] = {import::ImportKind::kEvents, import::ImportKind::kProfiles,
                                                  import::ImportKind::kItems, import::ImportKind::kRecords};
  static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
  const import::ImportKind kind = kKinds[data[0] & 3];
  const char delimiter = kDelimiters[(data[0] >> 2) & 3];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t newline = rest.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::string_view mapping_json = rest.substr(0, newline);
  std::string_view csv = rest.substr(newline + 1);

  std::optional<import::RowMapper> mapper;
  auto mapping = import::ParseMapping(mapping_json.empty() ? std::string_view("{}") : mapping_json);
  if (mapping.ok()) {
    auto created = import::RowMapper::Create(*mapping, kind);
    if (created.ok()) mapper.emplace(std::move(*created));
  }

  import::CsvReader reader(csv, delimiter);
  std::vector<std::string_view> fields, header_names;
  std::vector<std::string> header_storage;  // the header's views die with the next record
  std::vector<import::Cell> cells;
  sextant::Status error;
  bool prepared = false;
  std::string out;
  size_t before = reader.offset();
  for (int64_t row = 0; reader.Next(&fields, &error); ++row) {
    if (reader.offset() <= before) std::abort();  // every record consumes input
    before = reader.offset();
    if (reader.offset() > csv.size()) std::abort();
    if (row == 0) {
      header_storage.assign(fields.begin(), fields.end());
      header_names.assign(header_storage.begin(), header_storage.end());
      prepared = mapper && mapper->Prepare(header_names).ok();
      continue;
    }
    if (!prepared || fields.size() != header_names.size()) continue;
    cells.resize(fields.size());
    for (size_t c = 0; c < fields.size(); ++c) cells[c] = import::Cell{import::Cell::Kind::kText, fields[c], false};
    out.clear();
    sextant::Status mapped = mapper->Map(header_names, cells, row, &out);
    if (mapped.ok()) {
      CheckRecord(out);
    } else if (!out.empty()) {
      std::abort();  // on error nothing is appended
    }
  }
  return 0;
}
