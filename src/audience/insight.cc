// Segment insight rows (shares, TGI, distinctiveness order) and numeric bucket bounds.
#include "audience/insight.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace sextant::audience {
namespace {

double Share(uint64_t count, uint64_t total) {
  return total == 0 ? 0.0 : static_cast<double>(count) / static_cast<double>(total);
}

// A row with its sort keys. `distinctiveness` is max(a, b) / min(a, b) for a = segment_count *
// base_total and b = base_count * segment_total: the same order as |ln(TGI / 100)|, but as one
// correctly rounded division of (for counts below ~9e7) exact products, so that TGIs that are
// equal, or inverse like 200 and 50, tie exactly and fall to the next key instead of to
// rounding. A zero product gives +inf, the limit of |ln 0|.
struct Ranked {
  InsightRow row;
  bool zero_segment;
  bool absent_from_base;
  double distinctiveness;
};

Ranked Rank(InsightRow row, uint64_t segment_total, uint64_t base_total) {
  const double a = static_cast<double>(row.segment_count) * static_cast<double>(base_total);
  const double b = static_cast<double>(row.base_count) * static_cast<double>(segment_total);
  const double low = std::min(a, b), high = std::max(a, b);
  const double distinctiveness = low == 0 ? std::numeric_limits<double>::infinity() : high / low;
  const bool zero_segment = row.segment_count == 0;
  const bool absent_from_base = row.base_share == 0;
  return {std::move(row), zero_segment, absent_from_base, distinctiveness};
}

bool RanksBefore(const Ranked& a, const Ranked& b) {
  if (a.zero_segment != b.zero_segment) return b.zero_segment;
  if (a.absent_from_base != b.absent_from_base) return a.absent_from_base;
  if (a.distinctiveness != b.distinctiveness) return a.distinctiveness > b.distinctiveness;
  if (a.row.segment_count != b.row.segment_count) return a.row.segment_count > b.row.segment_count;
  return a.row.value < b.row.value;  // nullopt (absent) before any text
}

// Moves the elements that belong at the ascending, distinct `positions[first, last)` of the
// sorted `values[begin, end)` into place, as nth_element would one by one, in O(n log k) for k
// positions: select the middle position, then recurse on each side of it.
void SelectPositions(std::vector<double>* values, size_t begin, size_t end, const size_t* first,
                     const size_t* last) {
  if (first == last) return;
  const size_t* middle = first + (last - first) / 2;
  std::nth_element(values->begin() + static_cast<ptrdiff_t>(begin),
                   values->begin() + static_cast<ptrdiff_t>(*middle),
                   values->begin() + static_cast<ptrdiff_t>(end));
  SelectPositions(values, begin, *middle, first, middle);
  SelectPositions(values, *middle + 1, end, middle + 1, last);
}

// Shortest text that reads back as `value`, in plain (never exponent) notation: "1000000",
// "0.1", "2.5". -0 prints as 0.
std::string FormatNumber(double value) {
  if (value == 0) value = 0;  // drops the sign of -0
  // The longest fixed rendering of a double (the smallest subnormal) has 327 characters.
  char buffer[400];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
  return std::string(buffer, result.ptr);
}

}  // namespace

// A "value absent" row is derived from the totals when `counts` has none: segment_total minus
// the listed segment counts, and likewise for the base (0 when the listed counts exceed the
// total, as multi-valued dimensions can); it is added when either count is nonzero. A
// caller-supplied absent row is used as given. A total of 0 gives shares of 0.
std::vector<InsightRow> ComputeInsight(const std::vector<ValueCount>& counts,
                                       uint64_t segment_total, uint64_t base_total) {
  std::vector<InsightRow> rows;
  rows.reserve(counts.size() + 1);
  bool has_absent = false;
  uint64_t listed_segment = 0, listed_base = 0;
  for (const ValueCount& count : counts) {
    rows.push_back({count.value, count.segment_count, count.base_count});
    has_absent = has_absent || !count.value.has_value();
    listed_segment += count.segment_count;
    listed_base += count.base_count;
  }
  if (!has_absent) {
    const uint64_t segment_absent =
        segment_total > listed_segment ? segment_total - listed_segment : 0;
    const uint64_t base_absent = base_total > listed_base ? base_total - listed_base : 0;
    if (segment_absent > 0 || base_absent > 0) {
      rows.push_back({std::nullopt, segment_absent, base_absent});
    }
  }

  std::vector<Ranked> ranked;
  ranked.reserve(rows.size());
  for (InsightRow& row : rows) {
    row.segment_share = Share(row.segment_count, segment_total);
    row.base_share = Share(row.base_count, base_total);
    row.tgi = row.base_share == 0 ? std::numeric_limits<double>::quiet_NaN()
                                  : 100 * row.segment_share / row.base_share;
    ranked.push_back(Rank(std::move(row), segment_total, base_total));
  }
  std::sort(ranked.begin(), ranked.end(), RanksBefore);
  rows.clear();
  for (Ranked& entry : ranked) rows.push_back(std::move(entry.row));
  return rows;
}

// Cut point i (0 <= i < buckets) is the element of rank floor(i * n / buckets) of the n
// non-NaN values (NaN marks an absent value). Cut points are data values, so no bucket is
// empty, and the first is the minimum, so every value falls in a bucket. O(n log buckets).
std::vector<double> QuantileBounds(std::vector<double> values, int buckets) {
  std::erase_if(values, [](double value) { return std::isnan(value); });
  if (values.empty() || buckets <= 0) return {};
  const size_t n = values.size();
  // More buckets than values select every rank, exactly as `n` buckets do.
  const size_t bucket_count = std::min(static_cast<size_t>(buckets), n);
  std::vector<size_t> positions;
  positions.reserve(bucket_count);
  for (size_t i = 0; i < bucket_count; ++i) positions.push_back(i * n / bucket_count);
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  SelectPositions(&values, 0, n, positions.data(), positions.data() + positions.size());

  std::vector<double> bounds;
  bounds.reserve(positions.size());
  for (size_t position : positions) {
    if (bounds.empty() || bounds.back() != values[position]) bounds.push_back(values[position]);
  }
  return bounds;
}

// A bucket past the end of `bounds` has no label (empty string).
std::string BucketLabel(const std::vector<double>& bounds, size_t bucket) {
  if (bucket >= bounds.size()) return {};
  const std::string upper = bucket + 1 < bounds.size() ? FormatNumber(bounds[bucket + 1]) : "+inf";
  return "[" + FormatNumber(bounds[bucket]) + ", " + upper + ")";
}

}  // namespace sextant::audience
