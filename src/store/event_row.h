// One event as the event store receives it: identity already resolved to a dense user id,
// names already turned into per-project codes by the schema registry.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/value.h"

namespace sextant::store {

// Dense per-project user id assigned by identity resolution (1, 2, 3, ...; 0 = none).
using UserId = uint32_t;
// Per-project event-name code and property code, assigned by the schema registry (from 1).
using EventId = uint32_t;
using PropertyId = uint32_t;

struct PropertyCell {
  PropertyId property_id = 0;
  Value value;  // its type is the property's schema type (the registry guarantees it)
  bool operator==(const PropertyCell&) const = default;
};

struct EventRow {
  UserId user_id = 0;
  int64_t time_ms = 0;          // event time, ms since the Unix epoch
  EventId event_id = 0;
  int64_t track_id = 0;         // client "_track_id"; 0 when the record had none
  int64_t receive_time_ms = 0;  // server receive time
  std::string distinct_id;
  std::vector<PropertyCell> properties;  // sparse: only the properties the event carried
  bool operator==(const EventRow&) const = default;
};

}  // namespace sextant::store
