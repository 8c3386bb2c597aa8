// CsvReader: a streaming RFC 4180 reader over bytes already in memory (typically a mapped file).
//
// Handles quoted fields with embedded delimiters, newlines and doubled quotes (""), a UTF-8 BOM,
// CRLF or LF line ends, and blank lines (skipped). Text after a closing quote is kept literally,
// as Python's csv module does. The only error is a quote left open at end of input.
// Thread-safety: not thread-safe; one reader per file.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sextant::import {

class CsvReader {
 public:
  explicit CsvReader(std::string_view data, char delimiter = ',');

  // Reads the next record into `fields`. The views stay valid until the next call.
  // Returns false at end of input or on error (then `*error` is set and ok() is false).
  bool Next(std::vector<std::string_view>* fields, Status* error);

  // 1-based physical line on which the record returned last started.
  uint64_t record_line() const { return record_line_; }
  // Bytes consumed so far (for progress reporting).
  size_t offset() const { return pos_; }

 private:
  std::string_view data_;
  char delimiter_;
  size_t pos_ = 0;
  uint64_t line_ = 1;         // physical line of pos_
  uint64_t record_line_ = 0;
  // Unescaped copies of quoted fields that contained "" (deque: growth never moves elements).
  std::deque<std::string> scratch_;
  size_t scratch_used_ = 0;
};

}  // namespace sextant::import
