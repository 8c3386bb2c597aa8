// CatalogStore: the saved metrics and dashboards of every project, in the KV store.
//
// Key spaces (docs/storage-format.md):
//   "met/<pid>/<metric id BE32>"     metric, as the JSON of WriteJson(Metric)
//   "dsh/<pid>/<dashboard id BE32>"  dashboard, as the JSON of WriteJson(Dashboard)
//   "cseq/<pid>/met" "cseq/<pid>/dsh"  BE32: the last id assigned, so ids are never reused
//                                      (a deleted metric's id never names another metric)
//
// Invariants, kept by doing every write under one mutex: a stored metric's query is accepted
// by query::ParseQuery; every metric_id of a stored dashboard names a stored metric (a metric
// on a dashboard cannot be deleted: kConflict). Every write is synced to the KV store's log
// before it returns, so an answered request survives a crash.
//
// Thread-safety: thread-safe. Reads take no lock (each is one RocksDB read or scan).
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "catalog/catalog_types.h"
#include "common/clock.h"
#include "common/status.h"
#include "state/kv_store.h"
#include "state/project_registry.h"

namespace sextant::catalog {

class CatalogStore {
 public:
  // `kv` and `clock` must outlive the store.
  CatalogStore(state::KvStore* kv, Clock* clock) : kv_(kv), clock_(clock) {}

  // Metrics. `body` is the client's JSON (catalog_types.h); `project` gives the time zone the
  // query's "last" is validated in. Create assigns the next id; Replace keeps id and
  // created_at. Errors: those of MetricFromRequest; kNotFound for an unknown id; kConflict
  // when deleting a metric that dashboards show (the message names them).
  Result<Metric> CreateMetric(const state::ProjectInfo& project, std::string_view body);
  Result<Metric> ReplaceMetric(const state::ProjectInfo& project, MetricId id,
                               std::string_view body);
  Result<Metric> GetMetric(state::ProjectId project, MetricId id) const;
  Result<std::vector<Metric>> ListMetrics(state::ProjectId project) const;  // by id
  Status DeleteMetric(state::ProjectId project, MetricId id);

  // Dashboards. Errors: those of DashboardFromRequest; kBadRequest with the field
  // "items[i].metric_id" for a metric that does not exist; kNotFound for an unknown id.
  Result<Dashboard> CreateDashboard(state::ProjectId project, std::string_view body);
  Result<Dashboard> ReplaceDashboard(state::ProjectId project, DashboardId id,
                                     std::string_view body);
  Result<Dashboard> GetDashboard(state::ProjectId project, DashboardId id) const;
  Result<std::vector<Dashboard>> ListDashboards(state::ProjectId project) const;  // by id
  Status DeleteDashboard(state::ProjectId project, DashboardId id);

 private:
  // The next id of `kind` in `project`. REQUIRES: mu_ held.
  Result<uint32_t> NextId(state::ProjectId project, CatalogKind kind);
  // kBadRequest naming the first item whose metric does not exist. REQUIRES: mu_ held.
  Status CheckItemsExist(state::ProjectId project, const Dashboard& dashboard) const;
  // Writes `batch` and syncs the log.
  Status Commit(state::KvStore::Batch* batch);

  state::KvStore* kv_;
  Clock* clock_;
  // Serialises writers: id assignment, the reference checks and the writes they guard.
  std::mutex mu_;
};

}  // namespace sextant::catalog
