#include "store/row_codec.h"

#include <cstring>

namespace sextant::store {

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

void PutFixed32(std::string* out, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, 4);
}

void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, 8);
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0, i = 0; shift <= 63 && i < static_cast<int>(in->size()); shift += 7, ++i) {
    uint64_t byte = static_cast<uint8_t>((*in)[i]);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

bool GetVarint32(std::string_view* in, uint32_t* v) {
  uint64_t wide;
  if (!GetVarint(in, &wide) || wide > UINT32_MAX) return false;
  *v = static_cast<uint32_t>(wide);
  return true;
}

bool GetString(std::string_view* in, std::string_view* s) {
  uint64_t len;
  if (!GetVarint(in, &len) || len > in->size()) return false;
  *s = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

bool GetFixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeFixed32(in->data());
  in->remove_prefix(4);
  return true;
}

bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64(in->data());
  in->remove_prefix(8);
  return true;
}

void EncodeRow(const EventRow& row, std::string* out) {
  PutVarint(out, row.user_id);
  PutVarint(out, ZigZag(row.time_ms));
  PutVarint(out, row.event_id);
  PutVarint(out, ZigZag(row.track_id));
  PutVarint(out, ZigZag(row.receive_time_ms - row.time_ms));
  PutString(out, row.distinct_id);
  PutVarint(out, row.properties.size());
  for (const PropertyCell& cell : row.properties) {
    PutVarint(out, cell.property_id);
    ValueType type = cell.value.type();
    out->push_back(static_cast<char>(type));
    switch (type) {
      case ValueType::kNumber: {
        uint64_t bits;
        double d = cell.value.number();
        std::memcpy(&bits, &d, 8);
        PutFixed64(out, bits);
        break;
      }
      case ValueType::kBool: out->push_back(cell.value.boolean() ? 1 : 0); break;
      case ValueType::kString: PutString(out, cell.value.str()); break;
      case ValueType::kList:
        PutVarint(out, cell.value.list().size());
        for (const std::string& s : cell.value.list()) PutString(out, s);
        break;
      case ValueType::kDatetime: PutVarint(out, ZigZag(cell.value.datetime_ms())); break;
      case ValueType::kDate: PutVarint(out, ZigZag(cell.value.date_days())); break;
    }
  }
}

bool DecodeRow(std::string_view* in, EventRow* row) {
  uint64_t v;
  std::string_view s;
  if (!GetVarint32(in, &row->user_id)) return false;
  if (!GetVarint(in, &v)) return false;
  row->time_ms = UnZigZag(v);
  if (!GetVarint32(in, &row->event_id)) return false;
  if (!GetVarint(in, &v)) return false;
  row->track_id = UnZigZag(v);
  if (!GetVarint(in, &v)) return false;
  row->receive_time_ms = row->time_ms + UnZigZag(v);
  if (!GetString(in, &s)) return false;
  row->distinct_id.assign(s);
  uint64_t count;
  // Each property takes at least 3 bytes: a cheap bound against absurd counts.
  if (!GetVarint(in, &count) || count > in->size()) return false;
  row->properties.resize(count);
  for (PropertyCell& cell : row->properties) {
    if (!GetVarint32(in, &cell.property_id) || in->empty()) return false;
    auto type = static_cast<ValueType>(static_cast<uint8_t>(in->front()));
    in->remove_prefix(1);
    switch (type) {
      case ValueType::kNumber: {
        uint64_t bits;
        if (!GetFixed64(in, &bits)) return false;
        double d;
        std::memcpy(&d, &bits, 8);
        cell.value = Value::Number(d);
        break;
      }
      case ValueType::kBool:
        if (in->empty()) return false;
        cell.value = Value::Bool(in->front() != 0);
        in->remove_prefix(1);
        break;
      case ValueType::kString:
        if (!GetString(in, &s)) return false;
        if (cell.value.type() == ValueType::kString) {
          cell.value.mutable_str().assign(s);
        } else {
          cell.value = Value::String(std::string(s));
        }
        break;
      case ValueType::kList: {
        uint64_t n;
        if (!GetVarint(in, &n) || n > in->size()) return false;
        std::vector<std::string> items(n);
        for (std::string& item : items) {
          if (!GetString(in, &s)) return false;
          item.assign(s);
        }
        cell.value = Value::List(std::move(items));
        break;
      }
      case ValueType::kDatetime:
        if (!GetVarint(in, &v)) return false;
        cell.value = Value::Datetime(UnZigZag(v));
        break;
      case ValueType::kDate:
        if (!GetVarint(in, &v)) return false;
        cell.value = Value::Date(static_cast<int32_t>(UnZigZag(v)));
        break;
      default:
        return false;
    }
  }
  return true;
}

void EncodeRows(ProjectId project, const std::vector<EventRow>& rows, std::string* out) {
  PutVarint(out, project);
  PutVarint(out, rows.size());
  for (const EventRow& row : rows) EncodeRow(row, out);
}

Status DecodeRows(std::string_view in, ProjectId* project, std::vector<EventRow>* rows) {
  uint64_t count;
  if (!GetVarint32(&in, project) || !GetVarint(&in, &count) || count > in.size()) {
    return Status(ErrorCode::kCorruption, "bad row batch header");
  }
  rows->clear();
  rows->resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!DecodeRow(&in, &(*rows)[i])) {
      return Status(ErrorCode::kCorruption, "bad row " + std::to_string(i) + " in row batch");
    }
  }
  if (!in.empty()) return Status(ErrorCode::kCorruption, "trailing bytes after row batch");
  return Status::Ok();
}

}  // namespace sextant::store
