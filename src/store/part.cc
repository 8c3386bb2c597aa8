#include "store/part.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <memory>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "common/hash.h"
#include "store/file_util.h"
#include "store/row_codec.h"

namespace sextant::store {

namespace {

constexpr uint64_t kPartMagic = 0x3154524150545853ull;  // "SXTPART1" little endian
constexpr uint32_t kPartVersion = 1;
constexpr size_t kHeaderBytes = 12;
constexpr size_t kTrailerBytes = 24;
constexpr size_t kColumnEntryBytes = 28;
// Directory entry kinds: built-in columns, property columns, per-event user index blocks.
constexpr uint8_t kBuiltinKind = 0;
constexpr uint8_t kPropertyKind = 1;
constexpr uint8_t kEventIndexKind = 2;

enum PresenceMode : uint8_t { kAllRows = 0, kBitmap = 1, kRowList = 2 };
enum NumberMode : uint8_t { kRawDoubles = 0, kIntegers = 1 };

bool IsSmallIntegral(double d) {
  return std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9007199254740992.0 &&
         !(d == 0 && std::signbit(d));
}

void PutBits(std::string* out, const std::vector<bool>& bits) {
  std::string bytes((bits.size() + 7) / 8, '\0');
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i]) bytes[i / 8] = static_cast<char>(bytes[i / 8] | (1 << (i % 8)));
  }
  out->append(bytes);
}

}  // namespace

uint32_t PartWriter::StringDict::Code(std::string_view s) {
  auto it = codes.find(s);
  if (it != codes.end()) return it->second;
  strings.emplace_back(s);
  uint32_t code = static_cast<uint32_t>(strings.size() - 1);
  codes.emplace(strings.back(), code);
  return code;
}

PartWriter::PartWriter(int64_t day_start_ms, int zstd_level)
    : day_start_ms_(day_start_ms), zstd_level_(zstd_level), cctx_(ZSTD_createCCtx()) {}

PartWriter::~PartWriter() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_)); }

size_t PartWriter::BuilderIndex(PropertyId property_id, ValueType type) {
  const uint64_t key = (uint64_t{property_id} << 8) | static_cast<uint8_t>(type);
  auto [it, inserted] = prop_index_.try_emplace(key, props_.size());
  if (inserted) {
    props_.push_back(std::make_unique<PropBuilder>());
    props_.back()->property_id = property_id;
    props_.back()->type = type;
  }
  return it->second;
}

void PartWriter::Add(const EventRow& row) {
  const auto row_idx = static_cast<uint32_t>(users_.size());
  users_.push_back(row.user_id);
  times_.push_back(row.time_ms);
  events_.push_back(row.event_id);
  tracks_.push_back(row.track_id);
  receives_.push_back(row.receive_time_ms);
  distinct_codes_.push_back(distinct_dict_.Code(row.distinct_id));
  for (const PropertyCell& cell : row.properties) {
    const ValueType type = cell.value.type();
    PropBuilder& prop = *props_[BuilderIndex(cell.property_id, type)];
    if (!prop.rows.empty() && prop.rows.back() == row_idx) continue;  // duplicate id in a row
    prop.rows.push_back(row_idx);
    switch (type) {
      case ValueType::kNumber: prop.numbers.push_back(cell.value.number()); break;
      case ValueType::kBool: prop.bools.push_back(cell.value.boolean() ? 1 : 0); break;
      case ValueType::kString: prop.codes.push_back(prop.dict.Code(cell.value.str())); break;
      case ValueType::kList:
        prop.list_lens.push_back(static_cast<uint32_t>(cell.value.list().size()));
        for (const std::string& item : cell.value.list()) prop.codes.push_back(prop.dict.Code(item));
        break;
      case ValueType::kDatetime: prop.ints.push_back(cell.value.datetime_ms()); break;
      case ValueType::kDate: prop.ints.push_back(cell.value.date_days()); break;
    }
  }
}

void PartWriter::AddFromColumns(const PartColumns& columns, size_t row, int64_t track_id,
                                MergeCodeMap* codes) {
  constexpr uint32_t kUnmapped = MergeCodeMap::kUnmapped;
  const auto row_idx = static_cast<uint32_t>(users_.size());
  users_.push_back(columns.users[row]);
  times_.push_back(columns.times[row]);
  events_.push_back(columns.events[row]);
  tracks_.push_back(track_id);
  receives_.push_back(columns.receives[row]);
  if (codes->distinct.size() != columns.distinct_dict.size())
    codes->distinct.assign(columns.distinct_dict.size(), kUnmapped);
  uint32_t& distinct = codes->distinct[columns.distinct_codes[row]];
  if (distinct == kUnmapped)
    distinct = distinct_dict_.Code(columns.distinct_dict[columns.distinct_codes[row]]);
  distinct_codes_.push_back(distinct);
  if (codes->properties.size() != columns.properties.size()) {
    codes->properties.assign(columns.properties.size(), {});
    for (size_t k = 0; k < columns.properties.size(); ++k)
      codes->properties[k].resize(columns.properties[k].size());
  }
  for (size_t k = 0; k < columns.properties.size(); ++k) {
    // As the decoded row would carry it: the property's first column with a value in this row.
    for (size_t c = 0; c < columns.properties[k].size(); ++c) {
      const PropColumn& column = columns.properties[k][c];
      const int32_t slot = column.slot[row];
      if (slot < 0) continue;
      MergeCodeMap::Column& mapped = codes->properties[k][c];
      if (mapped.builder == SIZE_MAX) {
        mapped.builder = BuilderIndex(columns.property_ids[k], column.type);
        if (column.type == ValueType::kString || column.type == ValueType::kList)
          mapped.codes.assign(column.dict.size(), kUnmapped);
      }
      PropBuilder& prop = *props_[mapped.builder];
      if (!prop.rows.empty() && prop.rows.back() == row_idx) break;  // duplicate id in a row
      prop.rows.push_back(row_idx);
      auto output_code = [&](uint32_t input_code) {
        uint32_t& code = mapped.codes[input_code];
        if (code == kUnmapped) code = prop.dict.Code(column.dict[input_code]);
        return code;
      };
      switch (column.type) {
        case ValueType::kNumber: prop.numbers.push_back(column.numbers[slot]); break;
        case ValueType::kBool: prop.bools.push_back(column.bools[slot]); break;
        case ValueType::kString: prop.codes.push_back(output_code(column.codes[slot])); break;
        case ValueType::kList:
          prop.list_lens.push_back(column.list_begin[slot + 1] - column.list_begin[slot]);
          for (uint32_t e = column.list_begin[slot]; e < column.list_begin[slot + 1]; ++e)
            prop.codes.push_back(output_code(column.codes[e]));
          break;
        case ValueType::kDatetime:
        case ValueType::kDate: prop.ints.push_back(column.ints[slot]); break;
      }
      break;
    }
  }
}

Result<PartInfo> PartWriter::Finish(const std::string& path) {
  const size_t rows = users_.size();
  std::string file;
  PutFixed64(&file, kPartMagic);
  PutFixed32(&file, kPartVersion);
  std::string directory;
  uint32_t column_count = 0;
  column_sizes_.clear();
  std::string compressed;

  auto add_block = [&](uint8_t kind, uint8_t value_type, uint32_t id, const std::string& raw,
                       std::string name) {
    compressed.resize(ZSTD_compressBound(raw.size()));
    size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(cctx_), compressed.data(),
                                 compressed.size(), raw.data(), raw.size(), zstd_level_);
    uint8_t compression = 1;
    std::string_view stored(compressed.data(), ZSTD_isError(n) ? 0 : n);
    if (ZSTD_isError(n) || n >= raw.size()) {
      compression = 0;
      stored = raw;
    }
    directory.push_back(static_cast<char>(kind));
    directory.push_back(static_cast<char>(value_type));
    directory.push_back(static_cast<char>(compression));
    directory.push_back('\0');
    PutFixed32(&directory, id);
    PutFixed64(&directory, file.size());
    PutFixed32(&directory, static_cast<uint32_t>(stored.size()));
    PutFixed32(&directory, static_cast<uint32_t>(raw.size()));
    PutFixed32(&directory, Crc32(stored));
    file.append(stored);
    ++column_count;
    column_sizes_.emplace_back(std::move(name), stored.size());
  };

  std::string raw;
  // user_id: delta from the previous row (rows are sorted, so deltas are >= 0).
  UserId prev_user = 0;
  for (UserId user : users_) {
    PutVarint(&raw, user - prev_user);
    prev_user = user;
  }
  add_block(kBuiltinKind, 0, static_cast<uint32_t>(BuiltinColumn::kUser), raw, "user_id");
  // time: first row of a user run relative to day start, then delta from the previous row.
  raw.clear();
  for (size_t i = 0; i < rows; ++i) {
    bool run_start = i == 0 || users_[i] != users_[i - 1];
    PutVarint(&raw, ZigZag(times_[i] - (run_start ? day_start_ms_ : times_[i - 1])));
  }
  add_block(kBuiltinKind, 0, static_cast<uint32_t>(BuiltinColumn::kTime), raw, "time");
  raw.clear();
  for (EventId event : events_) PutVarint(&raw, event);
  add_block(kBuiltinKind, 0, static_cast<uint32_t>(BuiltinColumn::kEvent), raw, "event_id");
  // Per-event user index: for each event present, its users ascending with their row counts
  // (rows are sorted by user, so each event's list is built in one pass). One block per event,
  // so a query of a few events reads and decompresses only theirs.
  {
    struct UserCounts {
      std::vector<UserId> users;
      std::vector<uint32_t> counts;
    };
    std::vector<UserCounts> by_event;
    for (size_t i = 0; i < rows; ++i) {
      const EventId event = events_[i];
      if (event >= by_event.size()) by_event.resize(size_t{event} + 1);
      UserCounts& list = by_event[event];
      if (!list.users.empty() && list.users.back() == users_[i]) {
        ++list.counts.back();
      } else {
        list.users.push_back(users_[i]);
        list.counts.push_back(1);
      }
    }
    for (size_t event = 0; event < by_event.size(); ++event) {
      const UserCounts& list = by_event[event];
      if (list.users.empty()) continue;
      raw.clear();
      PutVarint(&raw, list.users.size());
      UserId previous = 0;
      for (UserId user : list.users) {
        PutVarint(&raw, user - previous);
        previous = user;
      }
      for (uint32_t count : list.counts) PutVarint(&raw, count - 1);
      std::string name = "event_index_";
      name += std::to_string(event);
      add_block(kEventIndexKind, 0, static_cast<uint32_t>(event), raw, std::move(name));
    }
  }
  raw.clear();
  for (int64_t track : tracks_) PutVarint(&raw, ZigZag(track));
  add_block(kBuiltinKind, 0, static_cast<uint32_t>(BuiltinColumn::kTrack), raw, "track_id");
  raw.clear();
  // Receive times of a part span the minutes its head was open, whatever the event times:
  // stored as the part's earliest receive time, then per-row offsets from it.
  int64_t min_receive = rows == 0 ? 0 : *std::min_element(receives_.begin(), receives_.end());
  PutVarint(&raw, ZigZag(min_receive - day_start_ms_));
  for (size_t i = 0; i < rows; ++i) PutVarint(&raw, static_cast<uint64_t>(receives_[i] - min_receive));
  add_block(kBuiltinKind, 0, static_cast<uint32_t>(BuiltinColumn::kReceive), raw, "receive_time");
  raw.clear();
  PutVarint(&raw, distinct_dict_.strings.size());
  for (const std::string& s : distinct_dict_.strings) PutString(&raw, s);
  for (uint32_t code : distinct_codes_) PutVarint(&raw, code);
  add_block(kBuiltinKind, 0, static_cast<uint32_t>(BuiltinColumn::kDistinct), raw, "distinct_id");

  std::vector<PropBuilder*> props;
  for (auto& prop : props_) props.push_back(prop.get());
  std::sort(props.begin(), props.end(), [](const PropBuilder* a, const PropBuilder* b) {
    return a->property_id != b->property_id ? a->property_id < b->property_id
                                            : a->type < b->type;
  });
  for (const PropBuilder* prop : props) {
    raw.clear();
    const size_t count = prop->rows.size();
    PutVarint(&raw, count);
    if (count == rows) {
      raw.push_back(static_cast<char>(kAllRows));
    } else if (count * 12 < rows) {
      raw.push_back(static_cast<char>(kRowList));
      uint32_t prev = 0;
      for (uint32_t row : prop->rows) {
        PutVarint(&raw, row - prev);
        prev = row;
      }
    } else {
      raw.push_back(static_cast<char>(kBitmap));
      std::vector<bool> bits(rows, false);
      for (uint32_t row : prop->rows) bits[row] = true;
      PutBits(&raw, bits);
    }
    switch (prop->type) {
      case ValueType::kNumber: {
        bool integral = std::all_of(prop->numbers.begin(), prop->numbers.end(), IsSmallIntegral);
        raw.push_back(static_cast<char>(integral ? kIntegers : kRawDoubles));
        for (double d : prop->numbers) {
          if (integral) {
            PutVarint(&raw, ZigZag(static_cast<int64_t>(d)));
          } else {
            uint64_t bits;
            std::memcpy(&bits, &d, 8);
            PutFixed64(&raw, bits);
          }
        }
        break;
      }
      case ValueType::kBool: {
        std::vector<bool> bits(prop->bools.begin(), prop->bools.end());
        PutBits(&raw, bits);
        break;
      }
      case ValueType::kString:
      case ValueType::kList: {
        PutVarint(&raw, prop->dict.strings.size());
        for (const std::string& s : prop->dict.strings) PutString(&raw, s);
        if (prop->type == ValueType::kString) {
          for (uint32_t code : prop->codes) PutVarint(&raw, code);
        } else {
          size_t pos = 0;
          for (uint32_t len : prop->list_lens) {
            PutVarint(&raw, len);
            for (uint32_t k = 0; k < len; ++k) PutVarint(&raw, prop->codes[pos++]);
          }
        }
        break;
      }
      case ValueType::kDatetime:
      case ValueType::kDate: {
        int64_t prev = 0;
        for (int64_t v : prop->ints) {
          PutVarint(&raw, ZigZag(v - prev));
          prev = v;
        }
        break;
      }
    }
    std::string name = "p";
    name += std::to_string(prop->property_id);  // not "p" + ...: GCC 12 -Wrestrict false positive
    add_block(kPropertyKind, static_cast<uint8_t>(prop->type), prop->property_id, raw,
              std::move(name));
  }

  PartInfo info;
  info.rows = static_cast<uint32_t>(rows);
  if (rows > 0) {
    info.min_user = users_.front();
    info.max_user = users_.back();
    auto [min_it, max_it] = std::minmax_element(times_.begin(), times_.end());
    info.min_time_ms = *min_it;
    info.max_time_ms = *max_it;
  }
  std::string footer;
  PutFixed32(&footer, info.rows);
  PutFixed32(&footer, info.min_user);
  PutFixed32(&footer, info.max_user);
  PutFixed64(&footer, static_cast<uint64_t>(info.min_time_ms));
  PutFixed64(&footer, static_cast<uint64_t>(info.max_time_ms));
  PutFixed64(&footer, static_cast<uint64_t>(day_start_ms_));
  PutFixed32(&footer, column_count);
  footer.append(directory);
  const uint64_t footer_offset = file.size();
  file.append(footer);
  PutFixed64(&file, footer_offset);
  PutFixed32(&file, static_cast<uint32_t>(footer.size()));
  PutFixed32(&file, Crc32(footer));
  PutFixed64(&file, kPartMagic);
  info.file_bytes = file.size();

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status(ErrorCode::kIoError, "open " + path + ": " + std::strerror(errno));
  Status st = WriteAll(fd, file);
  if (st.ok() && ::fdatasync(fd) != 0) {
    st = Status(ErrorCode::kIoError, "fdatasync " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!st.ok()) return st;
  return info;
}

Value PropColumn::Get(int32_t value_idx) const {
  switch (type) {
    case ValueType::kNumber: return Value::Number(numbers[value_idx]);
    case ValueType::kBool: return Value::Bool(bools[value_idx] != 0);
    case ValueType::kString: return Value::String(dict[codes[value_idx]]);
    case ValueType::kList: {
      std::vector<std::string> items;
      items.reserve(list_begin[value_idx + 1] - list_begin[value_idx]);
      for (uint32_t k = list_begin[value_idx]; k < list_begin[value_idx + 1]; ++k) {
        items.push_back(dict[codes[k]]);
      }
      return Value::List(std::move(items));
    }
    case ValueType::kDatetime: return Value::Datetime(ints[value_idx]);
    case ValueType::kDate: return Value::Date(static_cast<int32_t>(ints[value_idx]));
  }
  return Value();
}

Result<std::shared_ptr<Part>> Part::Open(const std::string& path, uint32_t project, int32_t day,
                                         uint64_t seq) {
  std::shared_ptr<Part> part(new Part());
  part->path_ = path;
  part->project_ = project;
  part->day_ = day;
  part->seq_ = seq;
  part->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (part->fd_ < 0) {
    return Status(ErrorCode::kIoError, "open " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(part->fd_, &st) != 0) return Status(ErrorCode::kIoError, "stat " + path);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderBytes + kTrailerBytes) return part->Corrupt("file too short");
  char header[kHeaderBytes];
  char trailer[kTrailerBytes];
  SEXTANT_RETURN_IF_ERROR(PReadExact(part->fd_, 0, kHeaderBytes, header));
  SEXTANT_RETURN_IF_ERROR(PReadExact(part->fd_, size - kTrailerBytes, kTrailerBytes, trailer));
  if (DecodeFixed64(header) != kPartMagic || DecodeFixed64(trailer + 16) != kPartMagic) {
    return part->Corrupt("bad magic");
  }
  if (DecodeFixed32(header + 8) != kPartVersion) return part->Corrupt("unsupported version");
  const uint64_t footer_offset = DecodeFixed64(trailer);
  const uint32_t footer_len = DecodeFixed32(trailer + 8);
  if (footer_offset < kHeaderBytes || footer_offset + footer_len + kTrailerBytes != size) {
    return part->Corrupt("bad footer location");
  }
  std::string footer(footer_len, '\0');
  SEXTANT_RETURN_IF_ERROR(PReadExact(part->fd_, footer_offset, footer_len, footer.data()));
  if (Crc32(footer) != DecodeFixed32(trailer + 12)) return part->Corrupt("footer checksum");
  std::string_view in(footer);
  uint32_t column_count = 0;
  uint64_t min_time = 0;
  uint64_t max_time = 0;
  uint64_t day_start = 0;
  if (!GetFixed32(&in, &part->info_.rows) || !GetFixed32(&in, &part->info_.min_user) ||
      !GetFixed32(&in, &part->info_.max_user) || !GetFixed64(&in, &min_time) ||
      !GetFixed64(&in, &max_time) || !GetFixed64(&in, &day_start) ||
      !GetFixed32(&in, &column_count) || in.size() != size_t{column_count} * kColumnEntryBytes) {
    return part->Corrupt("bad footer");
  }
  part->info_.min_time_ms = static_cast<int64_t>(min_time);
  part->info_.max_time_ms = static_cast<int64_t>(max_time);
  part->info_.file_bytes = size;
  part->day_start_ms_ = static_cast<int64_t>(day_start);
  for (uint32_t i = 0; i < column_count; ++i) {
    ColumnEntry entry;
    const char* p = in.data() + size_t{i} * kColumnEntryBytes;
    entry.kind = static_cast<uint8_t>(p[0]);
    entry.value_type = static_cast<uint8_t>(p[1]);
    entry.compression = static_cast<uint8_t>(p[2]);
    entry.id = DecodeFixed32(p + 4);
    entry.offset = DecodeFixed64(p + 8);
    entry.stored_bytes = DecodeFixed32(p + 16);
    entry.raw_bytes = DecodeFixed32(p + 20);
    entry.crc = DecodeFixed32(p + 24);
    if (entry.offset < kHeaderBytes || entry.offset + entry.stored_bytes > footer_offset ||
        entry.compression > 1 ||
        (entry.kind == kPropertyKind && (entry.value_type < 1 || entry.value_type > 6))) {
      return part->Corrupt("bad column entry " + std::to_string(i));
    }
    if (entry.kind == kEventIndexKind) {
      part->event_index_.emplace_back(entry.id, static_cast<uint32_t>(part->columns_.size()));
    }
    part->columns_.push_back(entry);
  }
  // Parts written before the index existed have no index entries; an empty part needs none.
  part->has_event_index_ = !part->event_index_.empty() || part->info_.rows == 0;
  std::sort(part->event_index_.begin(), part->event_index_.end());
  for (BuiltinColumn column : {BuiltinColumn::kUser, BuiltinColumn::kTime, BuiltinColumn::kEvent}) {
    if (part->Builtin(column) == nullptr) return part->Corrupt("missing built-in column");
  }
  return part;
}

Part::~Part() {
  if (fd_ >= 0) ::close(fd_);
  if (obsolete_.load()) {
    ::unlink(path_.c_str());
    ::rmdir(DirName(path_).c_str());  // succeeds only once the day directory is empty
  }
}

Status Part::Corrupt(const std::string& what) const {
  return Status(ErrorCode::kCorruption, path_ + ": " + what);
}

const Part::ColumnEntry* Part::Builtin(BuiltinColumn column) const {
  for (const ColumnEntry& entry : columns_) {
    if (entry.kind == kBuiltinKind && entry.id == static_cast<uint32_t>(column)) return &entry;
  }
  return nullptr;
}

const Part::ColumnEntry* Part::EventIndexBlock(EventId event) const {
  auto it = std::lower_bound(event_index_.begin(), event_index_.end(),
                             std::make_pair(event, uint32_t{0}));
  return it != event_index_.end() && it->first == event ? &columns_[it->second] : nullptr;
}

Status Part::ReadBlock(const ColumnEntry& entry, std::string* raw) const {
  std::string stored(entry.stored_bytes, '\0');
  SEXTANT_RETURN_IF_ERROR(PReadExact(fd_, entry.offset, entry.stored_bytes, stored.data()));
  if (Crc32(stored) != entry.crc) {
    return Corrupt("column checksum mismatch at offset " + std::to_string(entry.offset));
  }
  if (entry.compression == 0) {
    *raw = std::move(stored);
  } else {
    raw->resize(entry.raw_bytes);
    // One decompression context per thread, reused: creating one per block showed in scans.
    thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(),
                                                                          ZSTD_freeDCtx);
    size_t n = ZSTD_decompressDCtx(dctx.get(), raw->data(), raw->size(), stored.data(),
                                   stored.size());
    if (ZSTD_isError(n) || n != entry.raw_bytes) {
      return Corrupt("column decompression failed at offset " + std::to_string(entry.offset));
    }
  }
  return Status::Ok();
}

namespace {

bool DecodeDict(std::string_view* in, std::vector<std::string>* dict) {
  uint64_t size;
  if (!GetVarint(in, &size) || size > in->size()) return false;
  dict->resize(size);
  for (std::string& s : *dict) {
    std::string_view view;
    if (!GetString(in, &view)) return false;
    s.assign(view);
  }
  return true;
}

bool DecodePropColumn(std::string_view in, size_t rows, ValueType type, PropColumn* col) {
  col->type = type;
  uint64_t count;
  if (!GetVarint(&in, &count) || count > rows || in.empty()) return false;
  auto mode = static_cast<uint8_t>(in.front());
  in.remove_prefix(1);
  col->slot.assign(rows, -1);
  int32_t next = 0;
  if (mode == kAllRows) {
    if (count != rows) return false;
    for (size_t r = 0; r < rows; ++r) col->slot[r] = next++;
  } else if (mode == kBitmap) {
    size_t bytes = (rows + 7) / 8;
    if (in.size() < bytes) return false;
    for (size_t r = 0; r < rows; ++r) {
      if (static_cast<uint8_t>(in[r / 8]) & (1 << (r % 8))) col->slot[r] = next++;
    }
    in.remove_prefix(bytes);
  } else if (mode == kRowList) {
    uint64_t row = 0;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t delta;
      if (!GetVarint(&in, &delta)) return false;
      row += delta;
      if (row >= rows || col->slot[row] >= 0) return false;
      col->slot[row] = next++;
    }
  } else {
    return false;
  }
  if (static_cast<uint64_t>(next) != count) return false;
  uint64_t v;
  switch (type) {
    case ValueType::kNumber: {
      if (in.empty()) return false;
      auto number_mode = static_cast<uint8_t>(in.front());
      in.remove_prefix(1);
      col->numbers.resize(count);
      for (double& d : col->numbers) {
        if (number_mode == kIntegers) {
          if (!GetVarint(&in, &v)) return false;
          d = static_cast<double>(UnZigZag(v));
        } else {
          if (!GetFixed64(&in, &v)) return false;
          std::memcpy(&d, &v, 8);
        }
      }
      break;
    }
    case ValueType::kBool: {
      size_t bytes = (count + 7) / 8;
      if (in.size() < bytes) return false;
      col->bools.resize(count);
      for (size_t i = 0; i < count; ++i) {
        col->bools[i] = (static_cast<uint8_t>(in[i / 8]) >> (i % 8)) & 1;
      }
      break;
    }
    case ValueType::kString:
    case ValueType::kList: {
      if (!DecodeDict(&in, &col->dict)) return false;
      const uint64_t dict_size = col->dict.size();
      if (type == ValueType::kString) {
        col->codes.resize(count);
        for (uint32_t& code : col->codes) {
          if (!GetVarint32(&in, &code) || code >= dict_size) return false;
        }
      } else {
        col->list_begin.resize(count + 1);
        col->list_begin[0] = 0;
        for (uint64_t i = 0; i < count; ++i) {
          uint64_t len;
          if (!GetVarint(&in, &len) || len > in.size()) return false;
          for (uint64_t k = 0; k < len; ++k) {
            uint32_t code;
            if (!GetVarint32(&in, &code) || code >= dict_size) return false;
            col->codes.push_back(code);
          }
          col->list_begin[i + 1] = static_cast<uint32_t>(col->codes.size());
        }
      }
      break;
    }
    case ValueType::kDatetime:
    case ValueType::kDate: {
      col->ints.resize(count);
      int64_t prev = 0;
      for (int64_t& value : col->ints) {
        if (!GetVarint(&in, &v)) return false;
        prev += UnZigZag(v);
        value = prev;
      }
      break;
    }
    default:
      return false;
  }
  return true;
}

}  // namespace

Status Part::ReadBlockView(const ColumnEntry& entry, std::string_view* raw) const {
  thread_local std::string stored_buffer, raw_buffer;
  auto ensure = [](std::string* buffer, size_t bytes) {
    if (buffer->size() < bytes) buffer->resize(bytes);
  };
  ensure(&stored_buffer, entry.stored_bytes);
  SEXTANT_RETURN_IF_ERROR(PReadExact(fd_, entry.offset, entry.stored_bytes, stored_buffer.data()));
  const std::string_view stored(stored_buffer.data(), entry.stored_bytes);
  if (Crc32(stored) != entry.crc) {
    return Corrupt("column checksum mismatch at offset " + std::to_string(entry.offset));
  }
  if (entry.compression == 0) {
    *raw = stored;
    return Status::Ok();
  }
  ensure(&raw_buffer, entry.raw_bytes);
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(),
                                                                        ZSTD_freeDCtx);
  const size_t n = ZSTD_decompressDCtx(dctx.get(), raw_buffer.data(), entry.raw_bytes,
                                       stored.data(), stored.size());
  if (ZSTD_isError(n) || n != entry.raw_bytes) {
    return Corrupt("column decompression failed at offset " + std::to_string(entry.offset));
  }
  *raw = std::string_view(raw_buffer.data(), entry.raw_bytes);
  return Status::Ok();
}

namespace {

// One varint at p (before end); false when truncated or longer than 10 bytes. Inline, because
// this runs once per row and column when the analysis engine loads a part; varints of up to
// three bytes (user deltas, events, most time deltas) take no loop.
inline bool NextVarint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  if (p < end && *p < 0x80) {
    *v = *p++;
    return true;
  }
  if (end - p >= 3) {
    const uint64_t b1 = p[1];
    if (b1 < 0x80) {
      *v = (p[0] & 0x7f) | (b1 << 7);
      p += 2;
      return true;
    }
    const uint64_t b2 = p[2];
    if (b2 < 0x80) {
      *v = (p[0] & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
      p += 3;
      return true;
    }
  }
  uint64_t result = 0;
  for (int shift = 0; p < end && shift <= 63; shift += 7) {
    const uint8_t byte = *p++;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

// As NextVarint for a varint of at most 8 bytes with 8 bytes readable at p, without a branch
// on its length (time deltas are 1 to 3 bytes at random, which a branchy decoder mispredicts):
// the continuation bits give the length, and the 7-bit groups are packed by three shifts.
// False for a longer varint (the caller falls back to NextVarint).
inline bool NextVarintWord(const uint8_t*& p, uint64_t* v) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  if constexpr (std::endian::native != std::endian::little) word = __builtin_bswap64(word);
  const uint64_t stops = ~word & 0x8080808080808080ull;
  if (stops == 0) return false;
  uint64_t x = word & (stops ^ (stops - 1)) & 0x7f7f7f7f7f7f7f7full;
  x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
  x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
  x = ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
  *v = x;
  p += (std::countr_zero(stops) >> 3) + 1;
  return true;
}

// The number of bytes of `word` whose high bit is set, for a word of only high bits (0x80
// masks). Summed into the top byte by a multiply: the baseline x86-64 target has no popcnt
// instruction, so std::popcount would be a call.
inline size_t CountHighBits(uint64_t high_bits) {
  return static_cast<size_t>(((high_bits >> 7) * 0x0101010101010101ull) >> 56);
}

}  // namespace

void Part::PrefetchBase(bool with_times) const {
  for (BuiltinColumn column : {BuiltinColumn::kUser, BuiltinColumn::kTime, BuiltinColumn::kEvent}) {
    if (column == BuiltinColumn::kTime && !with_times) continue;
    if (const ColumnEntry* entry = Builtin(column)) {
      (void)::posix_fadvise(fd_, static_cast<off_t>(entry->offset),
                            static_cast<off_t>(entry->stored_bytes), POSIX_FADV_WILLNEED);
    }
  }
}

void Part::PrefetchEventIndex(const std::vector<EventId>& events) const {
  for (EventId event : events) {
    if (const ColumnEntry* entry = EventIndexBlock(event)) {
      (void)::posix_fadvise(fd_, static_cast<off_t>(entry->offset),
                            static_cast<off_t>(entry->stored_bytes), POSIX_FADV_WILLNEED);
    }
  }
}

Status Part::ReadEventUsers(EventId event, std::vector<UserId>* users,
                            std::vector<uint32_t>* row_counts) const {
  users->clear();
  row_counts->clear();
  if (!has_event_index_) return Status(ErrorCode::kInternal, path_ + ": part has no event index");
  const ColumnEntry* entry = EventIndexBlock(event);
  if (entry == nullptr) return Status::Ok();  // no row of `event`
  std::string_view raw;
  SEXTANT_RETURN_IF_ERROR(ReadBlockView(*entry, &raw));
  const std::string where = "event index of event " + std::to_string(event) + ": ";
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const uint8_t* end = p + raw.size();
  uint64_t count = 0;
  // Every listed user has at least one row and takes at least two bytes.
  if (!NextVarint(p, end, &count) || count == 0 || count > info_.rows ||
      count * 2 > static_cast<size_t>(end - p)) {
    return Corrupt(where + "bad user count");
  }
  users->resize(count);
  row_counts->resize(count);
  uint64_t user = 0;
  for (size_t i = 0; i < count; ++i) {
    uint64_t delta = 0;
    if (!NextVarint(p, end, &delta) || (delta == 0 && i > 0)) {
      return Corrupt(where + "user " + std::to_string(i) + " missing or not ascending");
    }
    user += delta;
    if (user < info_.min_user || user > info_.max_user) {
      return Corrupt(where + "user " + std::to_string(i) + " outside the part's users");
    }
    (*users)[i] = static_cast<UserId>(user);
  }
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    uint64_t extra = 0;
    if (!NextVarint(p, end, &extra) || extra >= info_.rows) {
      return Corrupt(where + "row count " + std::to_string(i) + " missing or too large");
    }
    (*row_counts)[i] = static_cast<uint32_t>(extra + 1);
    total += extra + 1;
  }
  if (p != end || total > info_.rows) return Corrupt(where + "row counts do not match the part");
  return Status::Ok();
}

Status Part::ReadCompact(CompactColumns* out) const {
  SEXTANT_RETURN_IF_ERROR(ReadUserRuns(&out->run_user, &out->run_begin));
  SEXTANT_RETURN_IF_ERROR(ReadTimeOffsets(out->run_begin, &out->time_offset_ms));
  return ReadEvents(&out->event);
}

Status Part::ReadUserRuns(std::vector<UserId>* run_user, std::vector<uint32_t>* run_begin) const {
  const size_t rows = info_.rows;
  run_user->clear();
  run_begin->clear();
  std::string_view raw;
  uint64_t v;
  SEXTANT_RETURN_IF_ERROR(ReadBlockView(*Builtin(BuiltinColumn::kUser), &raw));
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const uint8_t* end = p + raw.size();
  // Reserved ahead so that the vectors never grow by copying into fresh pages (the copies of
  // growing vectors were most of a cold query's page faults), and no larger than needed (a
  // cached day holds them): a run starts at a non-zero delta, whose varint has a non-zero
  // byte, so the non-zero bytes bound the runs. Counted a word at a time over the column just
  // decompressed (in cache).
  size_t nonzero_bytes = 0;
  {
    const uint8_t* q = p;
    for (; end - q >= 8; q += 8) {
      uint64_t word;
      std::memcpy(&word, q, 8);
      // High bit of each byte: set when the byte is non-zero (low seven bits carried, or its
      // own high bit).
      const uint64_t nonzero =
          (((word & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | word) & 0x8080808080808080ull;
      nonzero_bytes += CountHighBits(nonzero);
    }
    for (; q < end; ++q) nonzero_bytes += *q != 0;
  }
  const size_t max_runs = std::min(rows, nonzero_bytes + 1);
  run_user->reserve(max_runs);
  run_begin->reserve(max_runs + 1);
  uint64_t user = 0;  // wider than UserId, so that a corrupt column is caught, not wrapped
  for (size_t i = 0; i < rows;) {
    // User deltas: 0 for every row but the first of a run, and small (consecutive users) at a
    // run's start. A word of eight one-byte varints is decoded at once: each non-zero byte
    // starts a run.
    if (i != 0 && rows - i >= 8 && end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if constexpr (std::endian::native != std::endian::little) word = __builtin_bswap64(word);
      if ((word & 0x8080808080808080ull) == 0) {
        // A byte b ≤ 0x7f plus 0x7f carries into its high bit exactly when b ≠ 0.
        uint64_t starts = (word + 0x7f7f7f7f7f7f7f7full) & 0x8080808080808080ull;
        while (starts != 0) {
          const int k = __builtin_ctzll(starts) >> 3;
          user += p[k];
          run_user->push_back(static_cast<UserId>(user));
          run_begin->push_back(static_cast<uint32_t>(i + k));
          starts &= starts - 1;
        }
        if (user > UINT32_MAX) return Corrupt("bad user column");
        p += 8;
        i += 8;
        continue;
      }
    }
    if (!NextVarint(p, end, &v) || v > UINT32_MAX - user) return Corrupt("bad user column");
    user += v;
    if (i == 0 || v != 0) {
      run_user->push_back(static_cast<UserId>(user));
      run_begin->push_back(static_cast<uint32_t>(i));
    }
    ++i;
  }
  run_begin->push_back(static_cast<uint32_t>(rows));
  return Status::Ok();
}

Status Part::ReadTimeOffsets(const std::vector<uint32_t>& run_begin,
                             std::vector<uint32_t>* time_offset_ms) const {
  constexpr int64_t kDayMs = 86'400'000;
  const size_t rows = info_.rows;
  if (run_begin.empty() || run_begin.back() != rows) {
    return Status(ErrorCode::kInternal, "ReadTimeOffsets: run_begin is not this part's");
  }
  std::string_view raw;
  uint64_t v;
  // Times, run by run: the first row of a run relative to the day start, the others to the
  // previous row. Written through a pointer (push_back per row showed in cold profiles).
  SEXTANT_RETURN_IF_ERROR(ReadBlockView(*Builtin(BuiltinColumn::kTime), &raw));
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const uint8_t* end = p + raw.size();
  time_offset_ms->resize(rows);
  uint32_t* times = time_offset_ms->data();
  const size_t runs = run_begin.size() - 1;
  for (size_t run = 0; run < runs; ++run) {
    const uint32_t run_end = run_begin[run + 1];
    int64_t offset = 0;
    for (uint32_t i = run_begin[run]; i < run_end; ++i) {
      if (!(end - p >= 8 && NextVarintWord(p, &v)) && !NextVarint(p, end, &v)) {
        return Corrupt("bad time column");
      }
      offset += UnZigZag(v);
      times[i] = static_cast<uint32_t>(std::clamp<int64_t>(offset, 0, kDayMs - 1));
    }
  }
  return Status::Ok();
}

namespace {

// Advances p past `count` varints without decoding them: a word at a time, counting the bytes
// that end a varint (high bit clear). False when the block ends first.
inline bool SkipVarints(const uint8_t*& p, const uint8_t* end, size_t count) {
  while (count > 0) {
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if constexpr (std::endian::native != std::endian::little) word = __builtin_bswap64(word);
      uint64_t stops = ~word & 0x8080808080808080ull;
      const size_t ends = CountHighBits(stops);  // varints ending in this word
      if (ends < count) {
        // Bytes after the word's last end belong to a varint that ends in a later word.
        p += 8;
        count -= ends;
        continue;
      }
      for (size_t k = 1; k < count; ++k) stops &= stops - 1;  // keep the count-th end
      p += (std::countr_zero(stops) >> 3) + 1;
      return true;
    }
    if (p == end) return false;
    if (*p++ < 0x80) --count;
  }
  return true;
}

}  // namespace

Status Part::ReadTimeOffsetsOfRows(const std::vector<uint32_t>& run_begin,
                                   const std::vector<uint32_t>& rows, uint32_t* out) const {
  constexpr int64_t kDayMs = 86'400'000;
  if (run_begin.empty() || run_begin.back() != info_.rows) {
    return Status(ErrorCode::kInternal, "ReadTimeOffsetsOfRows: run_begin is not this part's");
  }
  std::string_view raw;
  SEXTANT_RETURN_IF_ERROR(ReadBlockView(*Builtin(BuiltinColumn::kTime), &raw));
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const uint8_t* end = p + raw.size();
  const size_t runs = run_begin.size() - 1;
  uint64_t v;
  uint32_t row = 0;     // the row whose varint p points at
  size_t run = 0;       // the run of rows[next]
  int64_t offset = 0;   // the time offset of row - 1, when row - 1 is in `run`
  for (size_t next = 0; next < rows.size(); ++next) {
    const uint32_t wanted = rows[next];
    if (wanted < row) return Status(ErrorCode::kInternal, "rows not ascending");
    if (wanted >= info_.rows) return Status(ErrorCode::kInternal, "rows beyond the part");
    if (wanted >= run_begin[run + 1]) {
      // A later run: skip every varint up to its first row at once, across the runs between
      // (a time delta restarts at each run's first row, so rows before it are not needed).
      // Most runs hold no listed row: skipping them one by one was most of a cold funnel.
      while (run < runs && run_begin[run + 1] <= wanted) ++run;
      if (run_begin[run] > row) {
        if (!SkipVarints(p, end, run_begin[run] - row)) return Corrupt("bad time column");
        row = run_begin[run];
      }
      offset = 0;
    } else if (row == run_begin[run]) {
      offset = 0;
    }
    // Decode up to the listed row, accumulating the deltas of its run.
    for (; row <= wanted; ++row) {
      if (!(end - p >= 8 && NextVarintWord(p, &v)) && !NextVarint(p, end, &v)) {
        return Corrupt("bad time column");
      }
      offset += UnZigZag(v);
    }
    out[next] = static_cast<uint32_t>(std::clamp<int64_t>(offset, 0, kDayMs - 1));
  }
  return Status::Ok();
}

Status Part::ReadEvents(std::vector<EventId>* events_out) const {
  const size_t rows = info_.rows;
  std::string_view raw;
  uint64_t v;
  // Event ids: almost all below 128, so eight one-byte varints at a time when no byte of the
  // word has its continuation bit.
  SEXTANT_RETURN_IF_ERROR(ReadBlockView(*Builtin(BuiltinColumn::kEvent), &raw));
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const uint8_t* end = p + raw.size();
  events_out->resize(rows);
  EventId* events = events_out->data();
  for (size_t i = 0; i < rows;) {
    if (rows - i >= 8 && end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        for (size_t k = 0; k < 8; ++k) events[i + k] = p[k];
        p += 8;
        i += 8;
        continue;
      }
    }
    if (!NextVarint(p, end, &v) || v > UINT32_MAX) return Corrupt("bad event column");
    events[i++] = static_cast<EventId>(v);
  }
  return Status::Ok();
}

Status Part::ReadRowsOfEvents(const std::vector<EventId>& wanted_events,
                              std::vector<uint32_t>* rows_out,
                              std::vector<EventId>* row_events) const {
  rows_out->clear();
  row_events->clear();
  if (wanted_events.empty()) return Status::Ok();
  const size_t rows = info_.rows;
  // wanted[e] for every one-byte event id (the word-at-a-time path), the list for the rest.
  uint8_t wanted[128] = {};
  for (EventId event : wanted_events) {
    if (event < 128) wanted[event] = 1;
  }
  auto is_wanted = [&](uint64_t event) {
    return event < 128 ? wanted[event] != 0
                       : std::binary_search(wanted_events.begin(), wanted_events.end(), event);
  };
  // Listed rows are written without a branch: every row goes to the next free slot, which
  // advances only for a listed row (about one row in ten for a few events, at random: a branch
  // per row is often mispredicted). Only the slots up to the last listed row are ever written,
  // so buffers sized for every row cost address space, not memory; the lists are copied out at
  // their size (no vector grows by copying into fresh pages).
  std::unique_ptr<uint32_t[]> listed_rows(new uint32_t[rows + 1]);
  std::unique_ptr<EventId[]> listed_events(new EventId[rows + 1]);
  size_t next = 0;
  std::string_view raw;
  uint64_t v;
  SEXTANT_RETURN_IF_ERROR(ReadBlockView(*Builtin(BuiltinColumn::kEvent), &raw));
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const uint8_t* end = p + raw.size();
  for (size_t i = 0; i < rows;) {
    if (rows - i >= 8 && end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        for (size_t k = 0; k < 8; ++k) {
          const uint8_t event = p[k];
          listed_rows[next] = static_cast<uint32_t>(i + k);
          listed_events[next] = event;
          next += wanted[event];
        }
        p += 8;
        i += 8;
        continue;
      }
    }
    if (!NextVarint(p, end, &v) || v > UINT32_MAX) return Corrupt("bad event column");
    if (is_wanted(v)) {
      listed_rows[next] = static_cast<uint32_t>(i);
      listed_events[next] = static_cast<EventId>(v);
      ++next;
    }
    ++i;
  }
  rows_out->assign(listed_rows.get(), listed_rows.get() + next);
  row_events->assign(listed_events.get(), listed_events.get() + next);
  return Status::Ok();
}

Status Part::Read(const ColumnRequest& request, PartColumns* out) const {
  const size_t rows = info_.rows;
  out->rows = rows;
  std::string raw;
  std::string_view in;
  uint64_t v;

  if (request.base) {
    SEXTANT_RETURN_IF_ERROR(ReadBlock(*Builtin(BuiltinColumn::kUser), &raw));
    in = raw;
    out->users.resize(rows);
    UserId user = 0;
    for (size_t i = 0; i < rows; ++i) {
      if (!GetVarint(&in, &v) || v > UINT32_MAX - user) return Corrupt("bad user column");
      user += static_cast<UserId>(v);
      out->users[i] = user;
    }
    SEXTANT_RETURN_IF_ERROR(ReadBlock(*Builtin(BuiltinColumn::kTime), &raw));
    in = raw;
    out->times.resize(rows);
    for (size_t i = 0; i < rows; ++i) {
      if (!GetVarint(&in, &v)) return Corrupt("bad time column");
      bool run_start = i == 0 || out->users[i] != out->users[i - 1];
      out->times[i] = (run_start ? day_start_ms_ : out->times[i - 1]) + UnZigZag(v);
    }
    SEXTANT_RETURN_IF_ERROR(ReadBlock(*Builtin(BuiltinColumn::kEvent), &raw));
    in = raw;
    out->events.resize(rows);
    for (size_t i = 0; i < rows; ++i) {
      if (!GetVarint32(&in, &out->events[i])) return Corrupt("bad event column");
    }
  }
  out->tracks.clear();
  if (request.track) {
    const ColumnEntry* entry = Builtin(BuiltinColumn::kTrack);
    out->tracks.assign(rows, 0);
    if (entry != nullptr) {
      SEXTANT_RETURN_IF_ERROR(ReadBlock(*entry, &raw));
      in = raw;
      for (size_t i = 0; i < rows; ++i) {
        if (!GetVarint(&in, &v)) return Corrupt("bad track column");
        out->tracks[i] = UnZigZag(v);
      }
    }
  }
  out->receives.clear();
  if (request.receive) {
    const ColumnEntry* entry = Builtin(BuiltinColumn::kReceive);
    out->receives = out->times;
    if (entry != nullptr) {
      SEXTANT_RETURN_IF_ERROR(ReadBlock(*entry, &raw));
      in = raw;
      if (rows > 0) {
        if (!GetVarint(&in, &v)) return Corrupt("bad receive_time column");
        const int64_t min_receive = day_start_ms_ + UnZigZag(v);
        for (size_t i = 0; i < rows; ++i) {
          if (!GetVarint(&in, &v)) return Corrupt("bad receive_time column");
          out->receives[i] = min_receive + static_cast<int64_t>(v);
        }
      }
    }
  }
  out->distinct_codes.clear();
  out->distinct_dict.clear();
  if (request.distinct) {
    const ColumnEntry* entry = Builtin(BuiltinColumn::kDistinct);
    if (entry == nullptr) {
      out->distinct_dict.assign(1, std::string());
      out->distinct_codes.assign(rows, 0);
    } else {
      SEXTANT_RETURN_IF_ERROR(ReadBlock(*entry, &raw));
      in = raw;
      if (!DecodeDict(&in, &out->distinct_dict)) return Corrupt("bad distinct_id dictionary");
      out->distinct_codes.resize(rows);
      for (size_t i = 0; i < rows; ++i) {
        if (!GetVarint32(&in, &out->distinct_codes[i]) ||
            out->distinct_codes[i] >= out->distinct_dict.size()) {
          return Corrupt("bad distinct_id column");
        }
      }
    }
  }
  out->property_ids.clear();
  out->properties.clear();
  if (request.all_properties) {
    for (const ColumnEntry& entry : columns_) {
      if (entry.kind == kPropertyKind &&
          (out->property_ids.empty() || out->property_ids.back() != entry.id)) {
        out->property_ids.push_back(entry.id);
      }
    }
  } else {
    out->property_ids = request.properties;
  }
  out->properties.resize(out->property_ids.size());
  for (size_t k = 0; k < out->property_ids.size(); ++k) {
    for (const ColumnEntry& entry : columns_) {
      if (entry.kind != kPropertyKind || entry.id != out->property_ids[k]) continue;
      SEXTANT_RETURN_IF_ERROR(ReadBlock(entry, &raw));
      PropColumn column;
      if (!DecodePropColumn(raw, rows, static_cast<ValueType>(entry.value_type), &column)) {
        return Corrupt("bad property column " + std::to_string(entry.id));
      }
      out->properties[k].push_back(std::move(column));
    }
  }
  return Status::Ok();
}

}  // namespace sextant::store
