// Deterministic demo / benchmark data for a securities broker or bank, in the Sensors record
// model (../shared/sensors-protocol.md §2): fund items, customer profiles, and time-ordered
// events along real journeys (app start, page views, search, articles, fund detail, compare,
// subscribe, 定投 plans, 入金 / withdraw, account opening with drop-off, loan stages,
// anonymous browsing followed by $SignUp, $BindID of mobile numbers).
//
// The generator streams: memory is O(customers + funds), never O(events). The output is a pure
// function of GenerateOptions (same options → same bytes, on every platform).
// Thread-safety: GenerateDataset is reentrant; it holds no global state.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sextant::generate {

struct GenerateOptions {
  uint64_t seed = 42;
  uint64_t customers = 10000;
  // Number of event records (track, track_signup, track_id_bind) to emit, exactly.
  // Profile and item records come on top.
  uint64_t target_events = 1000000;
  int days = 90;
  // End of the covered period (exclusive). Default: 2025-01-01 00:00 Asia/Shanghai, so that the
  // library is deterministic; the CLI defaults to the end of today.
  int64_t end_time_ms = 1735660800000;
  uint32_t funds = 200;
  bool emit_items = true;
  bool emit_profiles = true;
  // Adds "time_free":true to every record so that servers accept history outside their
  // real-time window.
  bool time_free = true;
};

struct GenerateStats {
  uint64_t items = 0;
  uint64_t profiles = 0;
  uint64_t events = 0;     // all event records, including signups and binds
  uint64_t signups = 0;
  uint64_t binds = 0;
  uint64_t bytes = 0;      // JSON bytes handed to the sink (without separators)
  uint64_t active_customers = 0;
};

// Emits every record as one compact JSON object (no trailing newline) to `sink`, in this order:
// item_set for the funds, profile_set for customers that already hold an account, then events
// in roughly global time order (each customer's own records strictly ordered by time). Profiles
// of prospects who complete account opening follow their $SignUp.
// `_track_id` is unique per record within one run (a bijection of the record index keyed by the
// seed), so resending the dataset is deduplicated by the server.
Status GenerateDataset(const GenerateOptions& options,
                       const std::function<void(std::string_view record_json)>& sink,
                       GenerateStats* stats = nullptr);

}  // namespace sextant::generate
