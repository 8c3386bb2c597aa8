// Segment insight (人群洞察): how a dimension (a tag or profile property) is distributed inside a
// segment against a base population (all users, or a second segment), with TGI.
//
//   segment_share = users of the segment with the value / users of the segment
//   base_share    = users of the base with the value / users of the base
//   TGI           = 100 * segment_share / base_share   (NaN when base_share is 0)
//
// Rows are sorted by how distinctive they are: |ln(TGI / 100)| descending (values absent from
// the base come first), then by segment count descending, then by value ascending; rows whose
// segment count is 0 come last. "Absent" (users without a value) is a row of its own, with value
// null, so that shares add up to 1.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sextant::audience {

struct ValueCount {
  std::optional<std::string> value;  // the value's display text; nullopt = absent
  uint64_t segment_count = 0;
  uint64_t base_count = 0;
};

struct InsightRow {
  std::optional<std::string> value;
  uint64_t segment_count = 0;
  uint64_t base_count = 0;
  double segment_share = 0;
  double base_share = 0;
  double tgi = 0;  // NaN when base_share == 0
};

// `counts` may list a value once only. segment_total / base_total are the sizes of the two
// populations (they include users with the value absent).
std::vector<InsightRow> ComputeInsight(const std::vector<ValueCount>& counts,
                                       uint64_t segment_total, uint64_t base_total);

// Bucket bounds for a numeric dimension: up to `buckets` quantile cut points of `values` (the
// base population's values, any order), deduplicated and ascending; bucket i is
// [bounds[i], bounds[i+1]) and the last is [bounds.back(), +inf). Empty input → empty bounds.
std::vector<double> QuantileBounds(std::vector<double> values, int buckets);

// The display text of bucket i: "[a, b)" or "[a, +inf)", numbers without trailing zeros.
std::string BucketLabel(const std::vector<double>& bounds, size_t bucket);

}  // namespace sextant::audience
