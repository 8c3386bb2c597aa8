// QueryEngine: runs analysis queries (docs/query.md) over the event store.
//
// Execution model — the reason this is faster than a general-purpose engine:
//  * Days are read as DayColumns (fixed-width columns of one day sorted by (user, time)),
//    cached while the day is immutable.
//  * The dense user-id space is cut into one contiguous shard per thread. Each thread walks the
//    days in time order and, inside a day, its users in id order, so a user's events arrive in
//    time order without any per-user sort, and per-user state lives in plain arrays indexed by
//    (user - shard start) that are touched in ascending order: no hashing, no per-user heap
//    allocation. Threads share nothing until their results are added up.
//  * Users merged by ID-Mapping (an anonymous user whose events were stored under its own id
//    before it was merged into a logged-in one) are the only exception: their rows of a day
//    are gathered and sorted by time on a slow path, which is exact and rare.
//
// Thread-safety: Run() may be called concurrently from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "identity/identity_store.h"
#include "query/day_columns.h"
#include "query/query_context.h"
#include "query/query_spec.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"
#include "store/event_store.h"

namespace sextant::query {

struct QueryEngineOptions {
  // Threads per query (shards of the user-id space); 0 = hardware concurrency.
  int threads = 0;
  // Memory for cached day columns.
  // Together with max_state_bytes this keeps a query's memory under 8 GiB.
  size_t cache_budget_bytes = size_t{4} << 30;
  // Upper bound of one query's per-user state (arrays sized by the user-id space).
  size_t max_state_bytes = size_t{3} << 30;
  // The time zone the event store cuts day partitions in.
  TimeZone store_time_zone;
};

struct QueryAnswer {
  std::string body;
  std::string content_type = "application/json";
};

// The day columns an analysis reads, with the user-id space they were cut from.
struct LoadedDays {
  std::vector<std::shared_ptr<const DayColumns>> days;  // ascending store days
  UserId user_limit = 1;                                 // every user id in `days` is below it
  std::vector<std::pair<UserId, UserId>> merges;         // ID-Mapping merges (merged, into)
};

class QueryEngine {
 public:
  QueryEngine(store::EventStore* events, state::SchemaRegistry* schemas,
              identity::IdentityStore* identities, state::KvStore* kv, Clock* clock,
              QueryEngineOptions options);

  // Runs the query `json` on `project` and returns the answer: JSON, or with "users" the page
  // of people behind the named cell (JSON or CSV). Errors: kBadJson / kInvalidQuery (with the
  // field), kQueryTooLarge, store errors.
  // With `all_drilled` (and a query with "users"), every drilled person is stored there in id
  // order instead of a page being rendered (static segments from a drill-down); the answer is
  // then empty.
  // With `customers` (a filter of `user.` conditions: the customers of a branch-scoped caller),
  // the analysis sees only the people it matches: it is joined to the query's filter with
  // `all`, so every number, drill-down and drilled list counts only them.
  Result<QueryAnswer> Run(const state::ProjectInfo& project, std::string_view json,
                          std::vector<UserId>* all_drilled = nullptr,
                          const FilterNode* customers = nullptr);

  // Day columns of every store day touching [read_start_ms, read_end_ms] (or, with
  // from_first_day, from the first stored day), from the cache or built (in parallel), then
  // the user-id limit and merges. kQueryTooLarge when state_bytes_per_user × users exceeds
  // the per-query state bound. Used by Run and by the segment and tag engine.
  Result<LoadedDays> LoadDays(const state::ProjectInfo& project, int64_t read_start_ms,
                              int64_t read_end_ms, bool from_first_day,
                              size_t state_bytes_per_user);

  int threads() const { return options_.threads; }

  // Drops cached day columns (tests, benchmarks of cold runs).
  void ClearCache() { cache_.Clear(); }
  store::EventStore* events() const { return events_; }

 private:
  store::EventStore* events_;
  state::SchemaRegistry* schemas_;
  identity::IdentityStore* identities_;
  state::KvStore* kv_;
  Clock* clock_;
  QueryEngineOptions options_;
  DayColumnsCache cache_;

  // The requested page of drilled users with their distinct id and profile columns.
  Result<QueryAnswer> WriteUsers(const state::ProjectInfo& project, const QueryContext& context,
                                 double elapsed_ms);
};

}  // namespace sextant::query
