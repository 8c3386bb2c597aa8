// libFuzzer target: a journey definition (docs/journeys.md) as POSTed to /journeys. Input = the
// JSON body. An accepted definition must satisfy what the engine relies on: every node index is
// in range, and its stored form (`json`, reloaded after a restart) parses again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "journey/journey_definition.h"

#ifndef SEXTANT_FUZZ_ENTRY
#define SEXTANT_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

namespace {

void CheckIndex(int index, size_t nodes, bool optional) {
  if (index >= static_cast<int>(nodes) || index < (optional ? -1 : 0)) std::abort();
}

}  // namespace

extern "C" int SEXTANT_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto definition = sextant::journey::ParseJourneyDefinition(json);
  if (!definition.ok()) return 0;
  const size_t count = definition->nodes.size();
  if (count == 0) std::abort();
  CheckIndex(definition->start, count, false);
  for (const auto& node : definition->nodes) {
    CheckIndex(node.next, count, true);
    CheckIndex(node.yes, count, true);
    CheckIndex(node.no, count, true);
    CheckIndex(node.timeout_next, count, true);
    for (const auto& branch : node.branches) CheckIndex(branch.next, count, false);
    if (definition->NodeIndex(node.id) < 0) std::abort();
    (void)sextant::journey::NodeKindName(node.kind);
  }
  (void)sextant::journey::EntryKindName(definition->entry.kind);
  // The engine stores `json` and reparses it when the project is opened again; a definition it
  // accepted must not disappear on restart.
  auto reloaded = sextant::journey::ParseJourneyDefinition(definition->json);
  if (!reloaded.ok() || reloaded->nodes.size() != count) std::abort();
  return 0;
}
