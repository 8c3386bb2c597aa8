#include "common/metrics.h"

#include <cstdio>

namespace sextant {

void LabeledCounter::Add(const std::string& label, uint64_t n) {
  std::lock_guard lock(mu_);
  auto& slot = counters_[label];
  if (!slot) slot = std::make_unique<Counter>();
  slot->Add(n);
}

std::map<std::string, uint64_t> LabeledCounter::Snapshot() const {
  std::lock_guard lock(mu_);
  std::map<std::string, uint64_t> out;
  for (const auto& [label, counter] : counters_) out[label] = counter->value();
  return out;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::Observe(double value) {
  size_t bucket = 0;
  while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(value * 1e6), std::memory_order_relaxed);
}

namespace {
std::string FormatDouble(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", value);
  return buf;
}
}  // namespace

void Histogram::Render(const std::string& name, const std::string& help, std::string* out) const {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    *out += name + "_bucket{le=\"" + FormatDouble(upper_bounds_[i]) + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  cumulative += counts_[upper_bounds_.size()].load(std::memory_order_relaxed);
  *out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  *out += name + "_sum " + FormatDouble(sum_micros_.load() / 1e6) + "\n";
  *out += name + "_count " + std::to_string(count_.load()) + "\n";
}

void RenderCounter(const std::string& name, const std::string& help, uint64_t value,
                   std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
          std::to_string(value) + "\n";
}

void RenderSecondsCounter(const std::string& name, const std::string& help, double seconds,
                          std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
          FormatDouble(seconds) + "\n";
}

void RenderGauge(const std::string& name, const std::string& help, double value, std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
          FormatDouble(value) + "\n";
}

void RenderLabeled(const std::string& name, const std::string& help, const std::string& label,
                   const LabeledCounter& counter, std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
  for (const auto& [value, count] : counter.Snapshot())
    *out += name + "{" + label + "=\"" + value + "\"} " + std::to_string(count) + "\n";
}

}  // namespace sextant
