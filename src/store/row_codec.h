// Compact binary codec for EventRows, used by WAL records and by the in-memory heads.
//
// Primitives: unsigned LEB128 varints, zigzag for signed values, length-prefixed strings.
// Row layout (see docs/storage-format.md, "Row encoding"):
//   varint user_id, zigzag time_ms, varint event_id, zigzag track_id,
//   zigzag (receive_time_ms - time_ms), string distinct_id, varint property_count,
//   property_count × { varint property_id, u8 ValueType, value }
//   value: NUMBER 8-byte LE double | BOOL u8 | STRING string | LIST varint n + n strings |
//          DATETIME zigzag ms | DATE zigzag days
// WAL payload: varint project, varint row_count, row_count × row.
//
// Decoders never trust their input: every read is bounds-checked and a malformed buffer
// yields false / kCorruption, never a crash. Thread-safety: stateless free functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/event_row.h"

namespace sextant::store {

using ProjectId = uint32_t;

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

void PutVarint(std::string* out, uint64_t v);
void PutString(std::string* out, std::string_view s);
void PutFixed32(std::string* out, uint32_t v);
void PutFixed64(std::string* out, uint64_t v);
// Each Get* consumes from the front of `in`; false (and `in` unspecified) on malformed input.
bool GetVarint(std::string_view* in, uint64_t* v);
bool GetVarint32(std::string_view* in, uint32_t* v);
bool GetString(std::string_view* in, std::string_view* s);
bool GetFixed32(std::string_view* in, uint32_t* v);
bool GetFixed64(std::string_view* in, uint64_t* v);
uint32_t DecodeFixed32(const char* p);
uint64_t DecodeFixed64(const char* p);

// Appends the encoding of `row` to `out`.
void EncodeRow(const EventRow& row, std::string* out);
// Decodes one row from the front of `in` into `row` (reusing its allocations).
bool DecodeRow(std::string_view* in, EventRow* row);

// WAL payload: (project, rows).
void EncodeRows(ProjectId project, const std::vector<EventRow>& rows, std::string* out);
Status DecodeRows(std::string_view in, ProjectId* project, std::vector<EventRow>* rows);

}  // namespace sextant::store
