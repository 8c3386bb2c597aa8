#include "import/importer.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/hash.h"
#include "import/batch_sender.h"
#include "import/csv_reader.h"

namespace sextant::import {
namespace {

// A read-only mapping of a whole file.
class MappedFile {
 public:
  ~MappedFile() {
    if (data_ != nullptr && size_ > 0) munmap(data_, size_);
    if (fd_ >= 0) close(fd_);
  }
  Status Open(const std::string& path) {
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return Status(ErrorCode::kIoError, "cannot open " + path + ": " + std::strerror(errno));
    struct stat st;
    if (fstat(fd_, &st) != 0) return Status(ErrorCode::kIoError, "cannot stat " + path);
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return Status::Ok();
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) return Status(ErrorCode::kIoError, "cannot map " + path + ": " + std::strerror(errno));
    madvise(p, size_, MADV_SEQUENTIAL);
    data_ = static_cast<char*>(p);
    return Status::Ok();
  }
  std::string_view view() const { return std::string_view(data_ == nullptr ? "" : data_, size_); }

 private:
  int fd_ = -1;
  char* data_ = nullptr;
  size_t size_ = 0;
};

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool ParseServerUrl(const std::string& url, SenderOptions* out) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) return false;
  std::string rest = url.substr(prefix.size());
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    out->host = hostport;
    out->port = "80";
  } else {
    out->host = hostport.substr(0, colon);
    out->port = hostport.substr(colon + 1);
  }
  if (out->host.empty()) return false;
  out->target = path;  // prefix; the records path is appended by the caller
  return true;
}

std::string PercentEncodeSegment(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '$') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Serialises error lines from the reader and the sender threads.
class ErrorLog {
 public:
  explicit ErrorLog(const std::vector<std::string>& files) : files_(files) {}
  Status Open(const std::string& path) {
    if (path.empty()) return Status::Ok();
    file_ = std::fopen(path.c_str(), "w");
    if (file_ == nullptr) return Status(ErrorCode::kIoError, "cannot write " + path + ": " + std::strerror(errno));
    return Status::Ok();
  }
  ~ErrorLog() {
    if (file_) std::fclose(file_);
  }
  void Add(const LineRef& where, std::string_view code, std::string_view field, std::string_view reason) {
    std::string line = FormatErrorLine(where.file < files_.size() ? files_[where.file] : "?",
                                       where.line, code, field, reason);
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    if (file_) {
      std::fputs(line.c_str(), file_);
      std::fputc('\n', file_);
    } else if (count_ <= 20) {
      pending_stderr_.push_back(line);
    }
  }
  uint64_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  // Lines kept for stderr when there is no error file.
  std::vector<std::string> TakeStderrLines() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(pending_stderr_);
  }

 private:
  const std::vector<std::string>& files_;
  mutable std::mutex mu_;
  FILE* file_ = nullptr;
  uint64_t count_ = 0;
  std::vector<std::string> pending_stderr_;
};

// Progress on stderr: a bar redrawn at most 4×/s on a TTY, else a plain line every 2 s.
class Progress {
 public:
  Progress(uint64_t total_bytes, bool enabled, bool tty,
           std::function<void(const ImportProgress&)> hook = nullptr)
      : total_bytes_(total_bytes), enabled_(enabled || hook != nullptr), tty_(tty),
        hook_(std::move(hook)), start_(std::chrono::steady_clock::now()) {}
  void Start(const std::function<uint64_t()>& rows_done, const std::function<uint64_t()>& errors) {
    if (!enabled_) return;
    rows_done_ = rows_done;
    errors_ = errors;
    thread_ = std::thread([this] {
      const auto period = std::chrono::milliseconds(hook_ ? 500 : tty_ ? 250 : 2000);
      std::unique_lock<std::mutex> lock(mu_);
      while (!stop_) {
        cv_.wait_for(lock, period, [this] { return stop_; });
        if (stop_) break;
        Print(false);
      }
    });
  }
  void Stop() {
    if (!enabled_) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    Print(true);
  }
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> rows_read{0};

 private:
  void Print(bool final) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const uint64_t rows = rows_done_();
    const uint64_t bytes = bytes_done.load();
    if (hook_) {
      hook_(ImportProgress{bytes, total_bytes_, rows, errors_(), secs, final});
      return;
    }
    const double frac = total_bytes_ ? static_cast<double>(bytes) / total_bytes_ : 1.0;
    const double rate = secs > 0 ? rows / secs : 0;
    const double byte_rate = secs > 0 ? bytes / secs : 0;
    const double eta = byte_rate > 0 ? (total_bytes_ - bytes) / byte_rate : 0;
    char line[256];
    if (tty_) {
      char bar[31];
      int filled = static_cast<int>(frac * 30);
      for (int i = 0; i < 30; ++i) bar[i] = i < filled ? '#' : '.';
      bar[30] = 0;
      std::snprintf(line, sizeof(line),
                    "\r[%s] %5.1f%% %llu rows %.0f rows/s ETA %d:%02d errors %llu\033[K%s", bar,
                    frac * 100, static_cast<unsigned long long>(rows), rate,
                    static_cast<int>(eta) / 60, static_cast<int>(eta) % 60,
                    static_cast<unsigned long long>(errors_()), final ? "\n" : "");
    } else {
      std::snprintf(line, sizeof(line), "import: %5.1f%% %llu rows %.0f rows/s ETA %ds errors %llu\n",
                    frac * 100, static_cast<unsigned long long>(rows), rate,
                    static_cast<int>(eta), static_cast<unsigned long long>(errors_()));
    }
    std::fputs(line, stderr);
    std::fflush(stderr);
  }

  uint64_t total_bytes_;
  bool enabled_, tty_;
  std::function<void(const ImportProgress&)> hook_;
  std::chrono::steady_clock::time_point start_;
  std::function<uint64_t()> rows_done_, errors_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Flat JSON objects → (names, cells). Strings own nothing: views into the parser's buffers,
// numbers and nested values into `scratch`.
bool FlattenJson(simdjson::dom::object obj, std::vector<std::string_view>* names,
                 std::vector<Cell>* cells, std::deque<std::string>* scratch) {
  names->clear();
  cells->clear();
  size_t used = 0;
  auto store = [&](std::string s) -> std::string_view {
    if (used == scratch->size()) scratch->emplace_back();
    (*scratch)[used] = std::move(s);
    return (*scratch)[used++];
  };
  for (auto [key, value] : obj) {
    Cell cell;
    char buf[40];
    switch (value.type()) {
      case simdjson::dom::element_type::STRING:
        cell.kind = Cell::Kind::kJsonString;
        cell.text = value.get_string().value_unsafe();
        break;
      case simdjson::dom::element_type::INT64: {
        auto r = std::to_chars(buf, buf + sizeof(buf), value.get_int64().value_unsafe());
        cell.kind = Cell::Kind::kJsonNumber;
        cell.text = store(std::string(buf, r.ptr));
        break;
      }
      case simdjson::dom::element_type::UINT64: {
        auto r = std::to_chars(buf, buf + sizeof(buf), value.get_uint64().value_unsafe());
        cell.kind = Cell::Kind::kJsonNumber;
        cell.text = store(std::string(buf, r.ptr));
        break;
      }
      case simdjson::dom::element_type::DOUBLE: {
        auto r = std::to_chars(buf, buf + sizeof(buf), value.get_double().value_unsafe());
        cell.kind = Cell::Kind::kJsonNumber;
        cell.text = store(std::string(buf, r.ptr));
        break;
      }
      case simdjson::dom::element_type::BOOL:
        cell.kind = Cell::Kind::kJsonBool;
        cell.boolean = value.get_bool().value_unsafe();
        cell.text = cell.boolean ? "true" : "false";
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        cell.kind = Cell::Kind::kJsonNull;
        break;
      default:
        cell.kind = Cell::Kind::kJsonRaw;
        cell.text = store(simdjson::minify(value));
        break;
    }
    names->push_back(key);
    cells->push_back(cell);
  }
  return true;
}

bool IsEventType(std::string_view type) { return type.rfind("track", 0) == 0; }

}  // namespace

int64_t ImportTrackId(std::string_view file_name, uint64_t line, std::string_view row_bytes) {
  uint64_t h = HashCombine(Hash64(file_name, 0x1A2B3C), line);
  h = HashCombine(h, Hash64(row_bytes));
  return static_cast<int64_t>(h & ((uint64_t{1} << 53) - 1));
}

std::string FormatErrorLine(std::string_view file, uint64_t line, std::string_view code,
                            std::string_view field, std::string_view reason) {
  std::string out;
  out.append(file).push_back(':');
  out.append(std::to_string(line)).append(": ");
  out.append(code.empty() ? std::string_view("error") : code);
  if (!field.empty()) out.append(" ").append(field);
  out.append(": ");
  for (char c : reason) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return out;
}

Status RunImport(const ImportOptions& options, ImportReport* report) {
  *report = ImportReport{};
  const auto started = std::chrono::steady_clock::now();
  if (options.files.empty()) return Status(ErrorCode::kBadRequest, "no input files");
  if (options.batch == 0) return Status(ErrorCode::kBadRequest, "--batch must be > 0");

  // Mapping.
  Mapping mapping;
  if (!options.mapping_file.empty()) {
    std::ifstream in(options.mapping_file);
    if (!in) return Status(ErrorCode::kIoError, "cannot read mapping " + options.mapping_file);
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = ParseMapping(ss.str());
    if (!parsed.ok()) return parsed.status();
    mapping = std::move(parsed).value();
  }
  std::optional<RowMapper> mapper;
  if (options.kind != ImportKind::kRecords) {
    auto created = RowMapper::Create(mapping, options.kind);
    if (!created.ok()) return created.status();
    mapper.emplace(std::move(created).value());
  }

  // Files: sizes for the ETA, formats.
  std::vector<std::string> names;
  std::vector<std::string> formats;
  uint64_t total_bytes = 0;
  for (const std::string& path : options.files) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return Status(ErrorCode::kIoError, "cannot read " + path + ": " + std::strerror(errno));
    total_bytes += static_cast<uint64_t>(st.st_size);
    names.push_back(path);
    std::string fmt = options.format;
    if (fmt.empty()) {
      auto ends = [&](std::string_view suffix) {
        return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
      };
      if (ends(".csv") || ends(".CSV") || ends(".tsv")) fmt = "csv";
      else if (ends(".jsonl") || ends(".ndjson") || ends(".json")) fmt = "jsonl";
      else return Status(ErrorCode::kBadRequest, "cannot tell the format of " + path + "; pass --format csv|jsonl");
    }
    if (fmt != "csv" && fmt != "jsonl") return Status(ErrorCode::kBadRequest, "--format must be csv or jsonl");
    if (fmt == "csv" && options.kind == ImportKind::kRecords)
      return Status(ErrorCode::kBadRequest, "--kind records needs JSON lines (Sensors records), not CSV");
    formats.push_back(fmt);
  }

  // Sender.
  SenderOptions sender_options;
  if (!ParseServerUrl(options.server, &sender_options))
    return Status(ErrorCode::kBadRequest, "--server must look like http://host:port, got " + options.server);
  sender_options.target += "/api/v1/projects/" + PercentEncodeSegment(options.project) + "/records";
  sender_options.token = options.token;
  sender_options.connections = std::max(1, options.connections);

  ErrorLog errors(names);
  SEXTANT_RETURN_IF_ERROR(errors.Open(options.errors_file));
  BatchSender sender(sender_options, [&errors](const LineRef& where, std::string_view code,
                                               std::string_view field, std::string_view reason) {
    errors.Add(where, code, field, reason);
  });
  const bool tty = isatty(STDERR_FILENO) == 1;
  Progress progress(total_bytes, options.progress == 1 || (options.progress == -1), tty,
                    options.on_progress);
  auto cancelled = [&options] { return options.cancel != nullptr && options.cancel->load(); };
  std::atomic<uint64_t> dry_rows{0};
  if (!options.dry_run) sender.Start();
  progress.Start([&] { return options.dry_run ? dry_rows.load() : sender.rows_done(); },
                 [&] { return errors.count(); });

  uint64_t local_failed = 0;
  // A dry run prints NDJSON; a sent batch is one JSON array (the server parses it in one pass
  // instead of line by line), each record followed by ',' until flush() closes it.
  Batch batch;
  auto start_batch = [&] {
    batch = Batch();
    if (!options.dry_run) batch.body.push_back('[');
  };
  start_batch();
  auto flush = [&] {
    if (batch.lines.empty()) return;
    report->sent += batch.lines.size();
    if (options.dry_run) {
      std::fwrite(batch.body.data(), 1, batch.body.size(), stdout);
      dry_rows += batch.lines.size();
    } else {
      batch.body.back() = ']';  // the last record's ',' closes the array
      sender.Submit(std::move(batch));
    }
    start_batch();
  };
  auto add = [&](uint32_t file, uint64_t line) {
    batch.body.push_back(options.dry_run ? '\n' : ',');
    batch.lines.push_back(LineRef{file, line});
    if (batch.lines.size() >= options.batch) flush();
  };
  auto fail_row = [&](uint32_t file, uint64_t line, const Status& st) {
    ++local_failed;
    errors.Add(LineRef{file, line}, ErrorCodeName(st.code()), st.field(), st.message());
  };

  Status result = Status::Ok();
  uint64_t bytes_before = 0;
  simdjson::dom::parser json_parser;
  std::vector<std::string_view> fields, header_names;
  std::vector<Cell> cells;
  std::deque<std::string> scratch;
  std::vector<std::string> header_storage;
  for (uint32_t fi = 0; fi < names.size() && result.ok() && !sender.fatal() && !cancelled(); ++fi) {
    MappedFile file;
    result = file.Open(names[fi]);
    if (!result.ok()) break;
    const std::string base = BaseName(names[fi]);
    std::string_view data = file.view();
    if (formats[fi] == "csv") {
      CsvReader reader(data, options.delimiter);
      Status err;
      if (!reader.Next(&fields, &err)) {
        if (!err.ok()) result = Status(err.code(), names[fi] + ": " + err.message());
        continue;  // empty file
      }
      header_storage.assign(fields.begin(), fields.end());
      header_names.assign(header_storage.begin(), header_storage.end());
      Status prep = mapper->Prepare(header_names);
      if (!prep.ok()) {
        result = Status(prep.code(), names[fi] + ": " + prep.message(), prep.field());
        break;
      }
      size_t row_start = reader.offset();
      uint64_t row_count = 0;
      while (reader.Next(&fields, &err)) {
        const uint64_t line = reader.record_line();
        std::string_view row_bytes = data.substr(row_start, reader.offset() - row_start);
        row_start = reader.offset();
        ++report->rows;
        if ((++row_count & 1023) == 0) {
          progress.bytes_done = bytes_before + reader.offset();
          if (sender.fatal() || cancelled()) break;
        }
        if (fields.size() != header_names.size()) {
          fail_row(fi, line, Status(ErrorCode::kBadRequest,
                                    "row has " + std::to_string(fields.size()) + " fields, the header " +
                                        std::to_string(header_names.size())));
          continue;
        }
        cells.resize(fields.size());
        for (size_t c = 0; c < fields.size(); ++c) cells[c] = Cell{Cell::Kind::kText, fields[c], false};
        const size_t mark = batch.body.size();
        Status st = mapper->Map(header_names, cells, ImportTrackId(base, line, row_bytes), &batch.body);
        if (!st.ok()) {
          batch.body.resize(mark);
          fail_row(fi, line, st);
          continue;
        }
        add(fi, line);
      }
      if (!err.ok()) fail_row(fi, reader.record_line(), err);
    } else {
      size_t pos = data.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
      uint64_t line = 0;
      while (pos < data.size()) {
        size_t nl = data.find('\n', pos);
        if (nl == std::string_view::npos) nl = data.size();
        std::string_view text = data.substr(pos, nl - pos);
        pos = nl + 1;
        ++line;
        if ((line & 1023) == 0) {
          progress.bytes_done = bytes_before + std::min(pos, data.size());
          if (sender.fatal() || cancelled()) break;
        }
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        size_t first = text.find_first_not_of(" \t");
        if (first == std::string_view::npos) continue;  // blank line
        ++report->rows;
        simdjson::dom::element doc;
        simdjson::dom::object obj;
        if (auto e = json_parser.parse(text.data(), text.size()).get(doc)) {
          fail_row(fi, line, Status(ErrorCode::kBadJson, simdjson::error_message(e)));
          continue;
        }
        if (doc.get_object().get(obj)) {
          fail_row(fi, line, Status(ErrorCode::kBadJson, "line is not a JSON object"));
          continue;
        }
        const size_t mark = batch.body.size();
        if (options.kind == ImportKind::kRecords) {
          std::string_view type;
          if (obj["type"].get_string().get(type)) {
            fail_row(fi, line, Status(ErrorCode::kMissingField, "record has no \"type\"", "type"));
            continue;
          }
          if (IsEventType(type) && obj["_track_id"].error() == simdjson::NO_SUCH_FIELD) {
            // Give the event a deterministic id so that a re-run is deduplicated.
            batch.body.append("{\"_track_id\":");
            char buf[24];
            auto r = std::to_chars(buf, buf + sizeof(buf), ImportTrackId(base, line, text));
            batch.body.append(buf, r.ptr);
            std::string_view rest = text.substr(text.find('{') + 1);
            size_t nonspace = rest.find_first_not_of(" \t");
            if (nonspace != std::string_view::npos && rest[nonspace] != '}') batch.body.push_back(',');
            batch.body.append(rest);
          } else {
            batch.body.append(text);
          }
        } else {
          FlattenJson(obj, &fields, &cells, &scratch);
          Status st = mapper->Map(fields, cells, ImportTrackId(base, line, text), &batch.body);
          if (!st.ok()) {
            batch.body.resize(mark);
            fail_row(fi, line, st);
            continue;
          }
        }
        add(fi, line);
      }
    }
    if (cancelled()) break;  // bytes_done stays where reading stopped
    bytes_before += data.size();
    progress.bytes_done = bytes_before;
  }
  flush();
  if (!options.dry_run) sender.Finish();
  progress.Stop();
  std::fflush(stdout);

  report->accepted = options.dry_run ? 0 : sender.accepted();
  report->duplicates = options.dry_run ? 0 : sender.duplicates();
  report->failed = local_failed + (options.dry_run ? 0 : sender.failed());
  if (sender.fatal()) report->fatal = sender.fatal_message();
  if (report->fatal.empty() && cancelled()) report->fatal = "cancelled";
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const std::string& l : errors.TakeStderrLines()) std::fprintf(stderr, "%s\n", l.c_str());
  if (options.errors_file.empty() && errors.count() > 20)
    std::fprintf(stderr, "... %llu more errors (use --errors FILE to keep them all)\n",
                 static_cast<unsigned long long>(errors.count() - 20));
  return result;
}

}  // namespace sextant::import
