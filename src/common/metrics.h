// Minimal Prometheus-style metrics: counters (optionally with one label) and histograms with
// fixed buckets. Lock-free on the hot path except for labelled counters seen for the first time.
// Thread-safety: thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sextant {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A counter family with one label, e.g. records_rejected_total{reason="invalid_name"}.
class LabeledCounter {
 public:
  void Add(const std::string& label, uint64_t n = 1);
  std::map<std::string, uint64_t> Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Counter>> counters_;  // guarded by mu_
};

class Histogram {
 public:
  // `upper_bounds` ascending, in the unit observed (e.g. seconds).
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // Appends Prometheus text lines for this histogram named `name` (with HELP/TYPE lines).
  void Render(const std::string& name, const std::string& help, std::string* out) const;

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // one per bound, plus +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};  // sum ×1e6, to keep it atomic
};

// Prometheus exposition helpers.
void RenderCounter(const std::string& name, const std::string& help, uint64_t value, std::string* out);
// A counter of seconds (fractional), e.g. time spent waiting.
void RenderSecondsCounter(const std::string& name, const std::string& help, double seconds,
                          std::string* out);
void RenderGauge(const std::string& name, const std::string& help, double value, std::string* out);
void RenderLabeled(const std::string& name, const std::string& help, const std::string& label,
                   const LabeledCounter& counter, std::string* out);

}  // namespace sextant
