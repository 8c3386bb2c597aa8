// Importer: reads CSV / JSON-lines files, maps each row to a Sensors record (RowMapper), and
// sends them in NDJSON batches to a running server (BatchSender), with a progress line on
// stderr and an error file naming the file and line of every failed row.
//
// Re-run safety: every event record gets `_track_id` = ImportTrackId(file name, line, row
// bytes), so importing the same file again is deduplicated by the server (its key includes
// _track_id, time, distinct_id and event). Profile and item sets are idempotent anyway.
// Thread-safety: RunImport is reentrant.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "import/row_mapper.h"

namespace sextant::import {

// Where an import stands; reported about twice a second to ImportOptions::on_progress.
struct ImportProgress {
  uint64_t bytes_done = 0;   // of the input files, read so far
  uint64_t total_bytes = 0;
  uint64_t rows_done = 0;    // records answered by the server (accepted, duplicate or rejected)
  uint64_t errors = 0;       // rows failed so far (unparsable or rejected)
  double seconds = 0;
  bool final = false;        // the last report, after everything was sent
};

struct ImportOptions {
  std::string project = "default";
  ImportKind kind = ImportKind::kEvents;
  std::string format;          // "csv" or "jsonl"; empty: by file extension
  std::string mapping_file;    // optional
  std::string server = "http://127.0.0.1:8106";
  std::string token;
  std::string errors_file;     // empty: first errors to stderr
  size_t batch = 2000;
  int connections = 8;
  char delimiter = ',';
  bool dry_run = false;        // write the records to stdout instead of sending them
  int progress = -1;           // -1: auto (stderr is a TTY → bar, else plain lines), 0: off, 1: on
  std::vector<std::string> files;
  // Instead of the progress line on stderr: called from a progress thread every 500 ms and
  // once at the end (an import job's progress in the server).
  std::function<void(const ImportProgress&)> on_progress;
  // When set to true, reading stops; what was read is still sent. The report's `fatal` says
  // "cancelled".
  const std::atomic<bool>* cancel = nullptr;
};

struct ImportReport {
  uint64_t rows = 0;           // data rows read (header excluded)
  uint64_t sent = 0;           // records handed to the server (or written in dry-run mode)
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t failed = 0;         // unparsable + rejected
  double seconds = 0;
  std::string fatal;           // non-empty when the import stopped early
};

Status RunImport(const ImportOptions& options, ImportReport* report);

// Deterministic `_track_id` of an imported event row: 53 bits (exact in JavaScript numbers),
// from the file's base name, its line number and the row's bytes.
int64_t ImportTrackId(std::string_view file_name, uint64_t line, std::string_view row_bytes);

// "<file>:<line>: <code> <field>: <reason>" (field part omitted when empty).
std::string FormatErrorLine(std::string_view file, uint64_t line, std::string_view code,
                            std::string_view field, std::string_view reason);

}  // namespace sextant::import
