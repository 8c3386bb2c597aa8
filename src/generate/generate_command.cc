#include "generate/generate_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>
#include <cstdio>
#include <cstring>
#include <string>

#include <CLI/CLI.hpp>

#include "common/time_zone.h"
#include "generate/generate.h"

namespace sextant::generate {
namespace {

// Parses "YYYY-MM-DD" into a day number.
bool ParseDate(const std::string& text, int32_t* days) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  *days = DaysFromCivil(y, m, d);
  return true;
}

// Buffered writer straight to a file descriptor, with the write(2) calls on a second thread:
// at ~650 B per record, copying into the page cache costs about as much as generating, so the
// two overlap on a 2-core machine. Not thread-safe: one producer.
class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd), thread_([this] { WriterLoop(); }) {
    current_.reserve(kFlushAt + 65536);
  }
  ~LineWriter() { Finish(); }
  void Line(std::string_view line) {
    current_.append(line);
    current_.push_back('\n');
    if (current_.size() >= kFlushAt) Handoff();
  }
  // Writes everything and stops the writer thread. Returns false if a write failed.
  bool Finish() {
    if (thread_.joinable()) {
      Handoff();
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_ = true;
      }
      cv_.notify_all();
      thread_.join();
    }
    return !failed_;
  }
  int error() const { return errno_; }

 private:
  void Handoff() {
    if (current_.empty()) return;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return queue_.size() < 2; });
    queue_.push_back(std::move(current_));
    current_ = std::string();
    if (!spare_.empty()) {
      current_ = std::move(spare_.back());
      spare_.pop_back();
    }
    current_.clear();
    current_.reserve(kFlushAt + 65536);
    lock.unlock();
    cv_.notify_all();
  }
  void WriterLoop() {
    for (;;) {
      std::string block;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        block = std::move(queue_.front());
        queue_.pop_front();
      }
      cv_.notify_all();
      size_t off = 0;
      while (!failed_ && off < block.size()) {
        ssize_t n = ::write(fd_, block.data() + off, block.size() - off);
        if (n < 0) {
          if (errno == EINTR) continue;
          errno_ = errno;
          failed_ = true;
          break;
        }
        off += static_cast<size_t>(n);
      }
      std::lock_guard<std::mutex> lock(mu_);
      spare_.push_back(std::move(block));
    }
  }

  static constexpr size_t kFlushAt = 4 << 20;
  int fd_;
  std::string current_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;    // guarded by mu_
  std::vector<std::string> spare_;   // guarded by mu_
  bool done_ = false;                // guarded by mu_
  std::atomic<bool> failed_{false};
  int errno_ = 0;
  std::thread thread_;
};

}  // namespace

int RunGenerateCommand(int argc, char** argv) {
  CLI::App app{"Write a deterministic demo dataset (fund items, customer profiles, events) as "
               "Sensors records, one JSON object per line."};
  app.name("sextant generate");
  GenerateOptions options;
  std::string end_date, out = "-", format = "jsonl";
  bool no_items = false, no_profiles = false, no_time_free = false, quiet = false;
  app.add_option("--seed", options.seed, "random seed; same seed and flags, same bytes")
      ->capture_default_str();
  app.add_option("--customers", options.customers, "number of customers")->capture_default_str();
  app.add_option("--events", options.target_events, "number of event records (exact)")
      ->capture_default_str();
  app.add_option("--days", options.days, "length of the covered period")->capture_default_str();
  app.add_option("--end-date", end_date,
                 "last day covered, YYYY-MM-DD (Asia/Shanghai); default: up to the current hour");
  app.add_option("--funds", options.funds, "number of fund items")->capture_default_str();
  app.add_option("--out", out, "output file, '-' for stdout")->capture_default_str();
  app.add_option("--format", format, "output format")->check(CLI::IsMember({"jsonl"}))
      ->capture_default_str();
  app.add_flag("--no-items", no_items, "do not emit item_set records");
  app.add_flag("--no-profiles", no_profiles, "do not emit profile_set records");
  app.add_flag("--no-time-free", no_time_free, "omit \"time_free\":true from records");
  app.add_flag("--quiet,-q", quiet, "no summary");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.emit_items = !no_items;
  options.emit_profiles = !no_profiles;
  options.time_free = !no_time_free;
  if (!end_date.empty()) {
    int32_t day = 0;
    if (!ParseDate(end_date, &day)) {
      std::fprintf(stderr, "sextant generate: --end-date must be YYYY-MM-DD, got '%s'\n",
                   end_date.c_str());
      return 2;
    }
    options.end_time_ms = TimeZone().DayStartMs(day + 1);
  } else {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    options.end_time_ms = now / 3'600'000 * 3'600'000;
  }

  int fd = 1;
  if (out != "-") {
    fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "sextant generate: cannot open %s: %s\n", out.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  LineWriter writer(fd);
  GenerateStats stats;
  const auto started = std::chrono::steady_clock::now();
  Status st = GenerateDataset(
      options, [&writer](std::string_view record) { writer.Line(record); }, &stats);
  bool write_ok = writer.Finish();
  if (fd != 1 && ::close(fd) != 0) write_ok = false;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!st.ok()) {
    std::fprintf(stderr, "sextant generate: %s\n", st.ToString().c_str());
    return 2;
  }
  if (!write_ok) {
    std::fprintf(stderr, "sextant generate: write to %s failed: %s\n", out.c_str(),
                 std::strerror(writer.error() ? writer.error() : errno));
    return 1;
  }
  if (!quiet) {
    FILE* summary = out == "-" ? stderr : stdout;
    std::fprintf(summary,
                 "generated %llu events (%llu $SignUp, %llu $BindID), %llu profiles, %llu items "
                 "for %llu active of %llu customers, %.1f MB, in %.2f s (%.0f events/s) -> %s\n",
                 static_cast<unsigned long long>(stats.events),
                 static_cast<unsigned long long>(stats.signups),
                 static_cast<unsigned long long>(stats.binds),
                 static_cast<unsigned long long>(stats.profiles),
                 static_cast<unsigned long long>(stats.items),
                 static_cast<unsigned long long>(stats.active_customers),
                 static_cast<unsigned long long>(options.customers), stats.bytes / 1e6, seconds,
                 seconds > 0 ? stats.events / seconds : 0.0, out.c_str());
  }
  return 0;
}

}  // namespace sextant::generate
