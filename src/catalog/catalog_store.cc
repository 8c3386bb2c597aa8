#include "catalog/catalog_store.h"

#include <algorithm>
#include <limits>
#include <string>

namespace sextant::catalog {

namespace {

constexpr CatalogKind kMetric = CatalogKind::kMetric;
constexpr CatalogKind kDashboard = CatalogKind::kDashboard;

std::string KindName(CatalogKind kind) { return kind == kMetric ? "metric" : "dashboard"; }

std::string Prefix(CatalogKind kind, state::ProjectId project) {
  return std::string(kind == kMetric ? "met/" : "dsh/") + std::to_string(project) + "/";
}

std::string Key(CatalogKind kind, state::ProjectId project, uint32_t id) {
  std::string key = Prefix(kind, project);
  state::AppendBigEndian32(id, &key);
  return key;
}

std::string SequenceKey(CatalogKind kind, state::ProjectId project) {
  return "cseq/" + std::to_string(project) + (kind == kMetric ? "/met" : "/dsh");
}

Status NotFound(CatalogKind kind, uint32_t id) {
  return Status(ErrorCode::kNotFound, "no " + KindName(kind) + " with id " + std::to_string(id));
}

// Reads and decodes one stored object; kNotFound names it.
template <typename T>
Result<T> Load(const state::KvStore& kv, CatalogKind kind, state::ProjectId project, uint32_t id,
               Result<T> (*decode)(std::string_view)) {
  auto value = kv.Get(Key(kind, project, id));
  if (!value.ok()) {
    if (value.status().code() == ErrorCode::kNotFound) return NotFound(kind, id);
    return value.status();
  }
  return decode(*value);
}

// Every stored object under `prefix`, in id order; the first undecodable one is the error.
template <typename T>
Result<std::vector<T>> LoadAll(const state::KvStore& kv, const std::string& prefix,
                               Result<T> (*decode)(std::string_view)) {
  std::vector<T> out;
  Status failure = Status::Ok();
  Status scan = kv.ScanPrefix(prefix, [&](std::string_view, std::string_view value) {
    auto decoded = decode(value);
    if (!decoded.ok()) {
      failure = decoded.status();
      return false;
    }
    out.push_back(std::move(*decoded));
    return true;
  });
  SEXTANT_RETURN_IF_ERROR(scan);
  SEXTANT_RETURN_IF_ERROR(failure);
  return out;
}

}  // namespace

Result<uint32_t> CatalogStore::NextId(state::ProjectId project, CatalogKind kind) {
  uint32_t last = 0;
  auto sequence = kv_->Get(SequenceKey(kind, project));
  if (sequence.ok()) {
    last = state::ReadBigEndian32(*sequence);
  } else if (sequence.status().code() != ErrorCode::kNotFound) {
    return sequence.status();
  }
  // The last key too, in case the sequence key is behind (it is written with every object,
  // so only a store edited by hand could have it behind).
  const std::string prefix = Prefix(kind, project);
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
      prefix,
      [&](std::string_view key, std::string_view) {
        if (key.size() == prefix.size() + 4) {
          last = std::max(last, state::ReadBigEndian32(key.substr(prefix.size())));
        }
        return false;
      },
      /*reverse=*/true));
  if (last == std::numeric_limits<uint32_t>::max()) {
    return Status(ErrorCode::kConflict, "every " + KindName(kind) + " id of this project is used");
  }
  return last + 1;
}

Status CatalogStore::Commit(state::KvStore::Batch* batch) {
  SEXTANT_RETURN_IF_ERROR(kv_->Write(batch));
  return kv_->SyncWal();
}

Result<Metric> CatalogStore::CreateMetric(const state::ProjectInfo& project,
                                          std::string_view body) {
  const int64_t now_ms = clock_->NowMs();
  auto metric = MetricFromRequest(body, project.time_zone.DayOf(now_ms));
  if (!metric.ok()) return metric.status();
  metric->created_at_ms = metric->updated_at_ms = now_ms;
  std::lock_guard lock(mu_);
  auto id = NextId(project.id, kMetric);
  if (!id.ok()) return id.status();
  metric->id = *id;
  state::KvStore::Batch batch;
  batch.Put(Key(kMetric, project.id, *id), ToJson(*metric));
  std::string sequence;
  state::AppendBigEndian32(*id, &sequence);
  batch.Put(SequenceKey(kMetric, project.id), sequence);
  SEXTANT_RETURN_IF_ERROR(Commit(&batch));
  return metric;
}

Result<Metric> CatalogStore::ReplaceMetric(const state::ProjectInfo& project, MetricId id,
                                           std::string_view body) {
  const int64_t now_ms = clock_->NowMs();
  auto metric = MetricFromRequest(body, project.time_zone.DayOf(now_ms));
  if (!metric.ok()) return metric.status();
  std::lock_guard lock(mu_);
  auto existing = GetMetric(project.id, id);
  if (!existing.ok()) return existing.status();
  metric->id = id;
  metric->created_at_ms = existing->created_at_ms;
  metric->updated_at_ms = now_ms;
  state::KvStore::Batch batch;
  batch.Put(Key(kMetric, project.id, id), ToJson(*metric));
  SEXTANT_RETURN_IF_ERROR(Commit(&batch));
  return metric;
}

Result<Metric> CatalogStore::GetMetric(state::ProjectId project, MetricId id) const {
  return Load<Metric>(*kv_, kMetric, project, id, &MetricFromStored);
}

Result<std::vector<Metric>> CatalogStore::ListMetrics(state::ProjectId project) const {
  return LoadAll<Metric>(*kv_, Prefix(kMetric, project), &MetricFromStored);
}

Status CatalogStore::DeleteMetric(state::ProjectId project, MetricId id) {
  std::lock_guard lock(mu_);
  auto existing = GetMetric(project, id);
  if (!existing.ok()) return existing.status();
  auto dashboards = ListDashboards(project);
  if (!dashboards.ok()) return dashboards.status();
  std::string users;
  for (const Dashboard& dashboard : *dashboards) {
    const bool shows = std::any_of(dashboard.items.begin(), dashboard.items.end(),
                                   [&](const DashboardItem& item) { return item.metric_id == id; });
    if (!shows) continue;
    if (!users.empty()) users += ", ";
    users += std::to_string(dashboard.id) + " \"" + dashboard.name + "\"";
  }
  if (!users.empty()) {
    return Status(ErrorCode::kConflict, "metric " + std::to_string(id) +
                                            " is shown on dashboards " + users +
                                            "; remove it from them first");
  }
  state::KvStore::Batch batch;
  batch.Delete(Key(kMetric, project, id));
  return Commit(&batch);
}

Status CatalogStore::CheckItemsExist(state::ProjectId project, const Dashboard& dashboard) const {
  for (size_t item_idx = 0; item_idx < dashboard.items.size(); ++item_idx) {
    const MetricId metric_id = dashboard.items[item_idx].metric_id;
    auto found = kv_->Get(Key(kMetric, project, metric_id));
    if (found.ok()) continue;
    if (found.status().code() != ErrorCode::kNotFound) return found.status();
    const std::string field = "items[" + std::to_string(item_idx) + "].metric_id";
    return Status(ErrorCode::kBadRequest,
                  field + ": no metric with id " + std::to_string(metric_id), field);
  }
  return Status::Ok();
}

Result<Dashboard> CatalogStore::CreateDashboard(state::ProjectId project, std::string_view body) {
  auto dashboard = DashboardFromRequest(body);
  if (!dashboard.ok()) return dashboard.status();
  std::lock_guard lock(mu_);
  SEXTANT_RETURN_IF_ERROR(CheckItemsExist(project, *dashboard));
  auto id = NextId(project, kDashboard);
  if (!id.ok()) return id.status();
  dashboard->id = *id;
  dashboard->created_at_ms = dashboard->updated_at_ms = clock_->NowMs();
  state::KvStore::Batch batch;
  batch.Put(Key(kDashboard, project, *id), ToJson(*dashboard));
  std::string sequence;
  state::AppendBigEndian32(*id, &sequence);
  batch.Put(SequenceKey(kDashboard, project), sequence);
  SEXTANT_RETURN_IF_ERROR(Commit(&batch));
  return dashboard;
}

Result<Dashboard> CatalogStore::ReplaceDashboard(state::ProjectId project, DashboardId id,
                                                 std::string_view body) {
  auto dashboard = DashboardFromRequest(body);
  if (!dashboard.ok()) return dashboard.status();
  std::lock_guard lock(mu_);
  auto existing = GetDashboard(project, id);
  if (!existing.ok()) return existing.status();
  SEXTANT_RETURN_IF_ERROR(CheckItemsExist(project, *dashboard));
  dashboard->id = id;
  dashboard->created_at_ms = existing->created_at_ms;
  dashboard->updated_at_ms = clock_->NowMs();
  state::KvStore::Batch batch;
  batch.Put(Key(kDashboard, project, id), ToJson(*dashboard));
  SEXTANT_RETURN_IF_ERROR(Commit(&batch));
  return dashboard;
}

Result<Dashboard> CatalogStore::GetDashboard(state::ProjectId project, DashboardId id) const {
  return Load<Dashboard>(*kv_, kDashboard, project, id, &DashboardFromStored);
}

Result<std::vector<Dashboard>> CatalogStore::ListDashboards(state::ProjectId project) const {
  return LoadAll<Dashboard>(*kv_, Prefix(kDashboard, project), &DashboardFromStored);
}

Status CatalogStore::DeleteDashboard(state::ProjectId project, DashboardId id) {
  std::lock_guard lock(mu_);
  auto existing = GetDashboard(project, id);
  if (!existing.ok()) return existing.status();
  state::KvStore::Batch batch;
  batch.Delete(Key(kDashboard, project, id));
  return Commit(&batch);
}

}  // namespace sextant::catalog
