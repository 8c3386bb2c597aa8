// libFuzzer target: audience definitions (docs/segments.md). The first input byte selects the
// parser (byte % 3: 0 = segment definition, 1 = tag definition, 2 = bare rule, as in
// POST /segments/estimate); the rest is the JSON body. Seeds use '0', '1', '2'.
// An accepted segment or tag must survive its stored form (what a restart reloads).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audience/audience_internal.h"
#include "audience/definitions.h"

#ifndef SEXTANT_FUZZ_ENTRY
#define SEXTANT_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int SEXTANT_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  namespace audience = sextant::audience;
  const int selector = data[0] % 3;
  std::string_view json(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (selector == 0) {
    auto segment = audience::ParseSegmentDefinition(json);
    if (!segment.ok()) return 0;
    segment->id = "s1";
    auto stored = audience::DecodeStoredSegment(audience::EncodeStoredSegment(*segment, 1, 2.5));
    if (!stored.ok() || stored->definition.kind != segment->kind ||
        stored->definition.name != segment->name)
      std::abort();
    if (segment->kind == audience::SegmentDefinition::Kind::kRule &&
        !audience::ParseRuleJson(segment->rule_json, "rule").ok())
      std::abort();
  } else if (selector == 1) {
    auto tag = audience::ParseTagDefinition(json);
    if (!tag.ok()) return 0;
    tag->id = "t1";
    auto stored = audience::DecodeStoredTag(audience::EncodeStoredTag(*tag, 1, 2.5, 3));
    if (!stored.ok() || stored->definition.kind != tag->kind || stored->definition.name != tag->name)
      std::abort();
  } else {
    (void)audience::ParseRuleJson(json, "rule");
  }
  return 0;
}
