#include "catalog/catalog_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

namespace sextant::catalog {
namespace {

constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01 00:00 UTC

constexpr std::string_view kEventsQuery =
    R"({"type": "events", "from": "2026-01-01", "to": "2026-01-07", "unit": "day",
        "measures": [{"event": "BuyFund", "aggregator": "uniq_users"}]})";

std::string MetricBody(std::string_view name, std::string_view query = kEventsQuery) {
  return R"({"name": ")" + std::string(name) + R"(", "description": "d", "unit": "users",
             "owner": "alice", "query": )" +
         std::string(query) + "}";
}

class CatalogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sextant_catalog_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
    project_.id = 1;
    project_.name = "bank";
    other_.id = 2;
    other_.name = "broker";
  }
  void TearDown() override {
    store_.reset();
    kv_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    kv_.reset();
    auto kv = state::KvStore::Open(dir_.string());
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    kv_ = std::move(kv.value());
    store_ = std::make_unique<CatalogStore>(kv_.get(), &clock_);
  }
  MetricId AddMetric(std::string_view name) {
    auto metric = store_->CreateMetric(project_, MetricBody(name));
    EXPECT_TRUE(metric.ok()) << metric.status().ToString();
    return metric.ok() ? metric->id : 0;
  }
  // The error of creating a metric with `body`, as "code field".
  std::string MetricError(std::string_view body) {
    auto metric = store_->CreateMetric(project_, body);
    if (metric.ok()) return "ok";
    return std::string(ErrorCodeName(metric.status().code())) + " " + metric.status().field();
  }
  std::string DashboardError(std::string_view body) {
    auto dashboard = store_->CreateDashboard(project_.id, body);
    if (dashboard.ok()) return "ok";
    return std::string(ErrorCodeName(dashboard.status().code())) + " " + dashboard.status().field();
  }

  std::filesystem::path dir_;
  SimulatedClock clock_{kStartMs};
  std::unique_ptr<state::KvStore> kv_;
  std::unique_ptr<CatalogStore> store_;
  state::ProjectInfo project_;
  state::ProjectInfo other_;
};

TEST_F(CatalogStoreTest, MetricsAreStoredWithSequentialIdsAndSurviveReopen) {
  auto first = store_->CreateMetric(project_, MetricBody("新开户次月留存"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->id, 1u);
  EXPECT_EQ(first->name, "新开户次月留存");
  EXPECT_EQ(first->unit, "users");
  EXPECT_EQ(first->owner, "alice");
  EXPECT_EQ(first->created_at_ms, kStartMs);
  EXPECT_EQ(first->updated_at_ms, kStartMs);
  // The query is kept as the client wrote it, minified.
  EXPECT_EQ(first->query, R"({"type":"events","from":"2026-01-01","to":"2026-01-07","unit":"day",)"
                          R"("measures":[{"event":"BuyFund","aggregator":"uniq_users"}]})");
  EXPECT_EQ(AddMetric("second"), 2u);

  Reopen();
  auto list = store_->ListMetrics(project_.id);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 1u);
  EXPECT_EQ((*list)[0].name, "新开户次月留存");
  EXPECT_EQ((*list)[0].query, first->query);
  EXPECT_EQ((*list)[1].name, "second");
  auto got = store_->GetMetric(project_.id, 1);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(ToJson(*got), ToJson(*first));
  EXPECT_EQ(AddMetric("third"), 3u);
}

TEST_F(CatalogStoreTest, ProjectsAreIsolated) {
  AddMetric("a");
  auto in_other = store_->CreateMetric(other_, MetricBody("b"));
  ASSERT_TRUE(in_other.ok());
  EXPECT_EQ(in_other->id, 1u);
  EXPECT_EQ(store_->ListMetrics(project_.id)->size(), 1u);
  EXPECT_EQ(store_->ListMetrics(other_.id)->front().name, "b");
  EXPECT_EQ(store_->ListMetrics(99)->size(), 0u);
  EXPECT_EQ(store_->GetMetric(99, 1).status().code(), ErrorCode::kNotFound);
}

TEST_F(CatalogStoreTest, IdsAreNeverReused) {
  AddMetric("a");
  MetricId second = AddMetric("b");
  ASSERT_TRUE(store_->DeleteMetric(project_.id, second).ok());
  EXPECT_EQ(AddMetric("c"), 3u);
  Reopen();
  ASSERT_TRUE(store_->DeleteMetric(project_.id, 3).ok());
  EXPECT_EQ(AddMetric("d"), 4u);
  EXPECT_EQ(store_->GetMetric(project_.id, 3).status().code(), ErrorCode::kNotFound);
}

TEST_F(CatalogStoreTest, MetricValidationNamesTheField) {
  EXPECT_EQ(MetricError("{"), "bad_json ");
  EXPECT_EQ(MetricError("[1]"), "bad_request ");
  EXPECT_EQ(MetricError(R"({"query": {"type": "events"}})"), "bad_request name");
  EXPECT_EQ(MetricError(MetricBody("   ")), "bad_request name");
  EXPECT_EQ(MetricError(R"({"name": 7, "query": {}})"), "bad_request name");
  EXPECT_EQ(MetricError(R"({"name": "x"})"), "bad_request query");
  EXPECT_EQ(MetricError(R"({"name": "x", "query": "events"})"), "invalid_query query");
  EXPECT_EQ(MetricError(R"({"name": "x", "query": {}})"), "invalid_query query.type");
  EXPECT_EQ(MetricError(R"({"name": "x", "query": {"type": "nonsense"}})"),
            "invalid_query query.type");
  EXPECT_EQ(MetricError(R"({"name": "x", "query": {"type": "funnel", "last": "7d",
                                                   "steps": [{"event": "A"}]}})"),
            "invalid_query query.steps");
  EXPECT_EQ(MetricError(R"({"name": "x", "query": {"type": "events", "last": "7d",
                            "measures": [{"event": "A", "aggregator": "sum"}]}})"),
            "invalid_query query.measures[0].property");
  EXPECT_EQ(MetricError(R"({"name": "x", "colour": "red", "query": {}})"), "bad_request colour");
  EXPECT_EQ(MetricError(R"({"name": "x", "name": "y", "query": {}})"), "bad_request name");
  EXPECT_EQ(MetricError(R"({"name": "x", "unit": 3, "query": {}})"), "bad_request unit");
  EXPECT_EQ(MetricError(R"({"name": "x", "owner": ["a"], "query": {}})"), "bad_request owner");
  EXPECT_EQ(MetricError(R"({"name": "x", "description": {}, "query": {}})"),
            "bad_request description");

  // Limits count characters, not bytes: 200 Chinese characters are fine, 201 are not.
  std::string name;
  for (int char_idx = 0; char_idx < 200; ++char_idx) name += "留";
  EXPECT_EQ(MetricError(MetricBody(name)), "ok");
  EXPECT_EQ(MetricError(MetricBody(name + "x")), "bad_request name");
  std::string long_description(kMaxDescriptionChars + 1, 'd');
  EXPECT_EQ(
      MetricError(R"({"name": "x", "description": ")" + long_description + R"(", "query": {}})"),
      "bad_request description");

  // The message carries the field too.
  auto bad = store_->CreateMetric(project_, R"({"name": "x", "query": {"type": "funnel",
                                             "last": "7d", "steps": []}})");
  EXPECT_EQ(bad.status().message().rfind("query.steps: ", 0), 0u) << bad.status().message();
  // Nothing was stored by the failures.
  EXPECT_EQ(store_->ListMetrics(project_.id)->size(), 1u);
}

TEST_F(CatalogStoreTest, ServerFieldsInABodyAreIgnoredAndNullTextIsEmpty) {
  auto metric = store_->CreateMetric(
      project_, R"({"id": 77, "created_at": 5, "updated_at": "whenever", "name": "x",
                    "description": null, "query": {"type": "retention", "last": "4w",
                    "initial": {"event": "OpenAccount"}, "return": {"event": "BuyFund"}}})");
  ASSERT_TRUE(metric.ok()) << metric.status().ToString();
  EXPECT_EQ(metric->id, 1u);
  EXPECT_EQ(metric->created_at_ms, kStartMs);
  EXPECT_EQ(metric->description, "");
  // A GET answer can be PUT back unchanged.
  clock_.AdvanceMs(1000);
  auto replaced = store_->ReplaceMetric(project_, 1, ToJson(*metric));
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->query, metric->query);
}

TEST_F(CatalogStoreTest, ReplaceKeepsIdAndCreatedAt) {
  MetricId id = AddMetric("before");
  clock_.AdvanceMs(60'000);
  auto replaced = store_->ReplaceMetric(project_, id, MetricBody("after"));
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->id, id);
  EXPECT_EQ(replaced->created_at_ms, kStartMs);
  EXPECT_EQ(replaced->updated_at_ms, kStartMs + 60'000);
  auto got = store_->GetMetric(project_.id, id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "after");
  EXPECT_EQ(store_->ReplaceMetric(project_, 42, MetricBody("x")).status().code(),
            ErrorCode::kNotFound);
  // A bad body is refused before the id is looked at, and changes nothing.
  EXPECT_EQ(store_->ReplaceMetric(project_, id, "{}").status().field(), "name");
  EXPECT_EQ(store_->GetMetric(project_.id, id)->name, "after");
  EXPECT_EQ(store_->DeleteMetric(project_.id, 42).code(), ErrorCode::kNotFound);
}

TEST_F(CatalogStoreTest, DashboardsReferenceExistingMetrics) {
  MetricId first = AddMetric("a");
  MetricId second = AddMetric("b");
  auto dashboard = store_->CreateDashboard(
      project_.id, R"({"name": "经营概览", "owner": "bob", "items": [{"metric_id": )" +
                       std::to_string(second) + R"(, "width": 2}, {"metric_id": )" +
                       std::to_string(first) + "}]}");
  ASSERT_TRUE(dashboard.ok()) << dashboard.status().ToString();
  EXPECT_EQ(dashboard->id, 1u);
  ASSERT_EQ(dashboard->items.size(), 2u);
  EXPECT_EQ(dashboard->items[0].metric_id, second);
  EXPECT_EQ(dashboard->items[0].width, 2);
  EXPECT_EQ(dashboard->items[1].width, 1);
  EXPECT_EQ(ToJson(*dashboard),
            R"({"id":1,"name":"经营概览","description":"","owner":"bob","items":[)"
            R"({"metric_id":2,"width":2},{"metric_id":1,"width":1}],)"
            R"("created_at":1767225600000,"updated_at":1767225600000})");

  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"metric_id": 1}, {"metric_id": 9}]})"),
            "bad_request items[1].metric_id");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"metric_id": 99999999999999}]})"),
            "bad_request items[0].metric_id");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"metric_id": 18446744073709551615}]})"),
            "bad_request items[0].metric_id");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"metric_id": 0}]})"),
            "bad_request items[0].metric_id");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"metric_id": 1.5}]})"),
            "bad_request items[0].metric_id");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"metric_id": "1"}]})"),
            "bad_request items[0].metric_id");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"width": 1}]})"),
            "bad_request items[0].metric_id");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"metric_id": 1, "width": 3}]})"),
            "bad_request items[0].width");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [{"metric_id": 1, "size": 3}]})"),
            "bad_request items[0].size");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": [1]})"), "bad_request items[0]");
  EXPECT_EQ(DashboardError(R"({"name": "d", "items": {}})"), "bad_request items");
  EXPECT_EQ(DashboardError(R"({"name": "d", "metrics": []})"), "bad_request metrics");
  EXPECT_EQ(DashboardError(R"({"items": []})"), "bad_request name");
  EXPECT_EQ(DashboardError(R"({"name": "empty"})"), "ok");

  // A metric on a dashboard cannot be deleted; the conflict names the dashboard.
  Status refused = store_->DeleteMetric(project_.id, first);
  EXPECT_EQ(refused.code(), ErrorCode::kConflict);
  EXPECT_NE(refused.message().find("经营概览"), std::string::npos) << refused.message();
  // Once the dashboard no longer shows it, it can.
  auto replaced = store_->ReplaceDashboard(project_.id, dashboard->id,
                                           R"({"name": "经营概览", "items": [{"metric_id": 2}]})");
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->created_at_ms, dashboard->created_at_ms);
  EXPECT_TRUE(store_->DeleteMetric(project_.id, first).ok());
  EXPECT_EQ(store_
                ->ReplaceDashboard(project_.id, dashboard->id,
                                   R"({"name": "x", "items": [{"metric_id": 1}]})")
                .status()
                .field(),
            "items[0].metric_id");
  EXPECT_EQ(store_->DeleteMetric(project_.id, second).code(), ErrorCode::kConflict);
  ASSERT_TRUE(store_->DeleteDashboard(project_.id, dashboard->id).ok());
  EXPECT_TRUE(store_->DeleteMetric(project_.id, second).ok());
  EXPECT_EQ(store_->DeleteDashboard(project_.id, dashboard->id).code(), ErrorCode::kNotFound);

  auto list = store_->ListDashboards(project_.id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().name, "empty");
  EXPECT_EQ(list->front().id, 2u);
}

TEST_F(CatalogStoreTest, ConcurrentCreatesGetDistinctIds) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<MetricId>> ids(kThreads);
  for (int thread_idx = 0; thread_idx < kThreads; ++thread_idx) {
    threads.emplace_back([&, thread_idx] {
      for (int n = 0; n < kPerThread; ++n) {
        auto metric = store_->CreateMetric(project_, MetricBody("m"));
        if (metric.ok()) ids[thread_idx].push_back(metric->id);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<MetricId> distinct;
  for (const auto& list : ids) distinct.insert(list.begin(), list.end());
  EXPECT_EQ(distinct.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(*distinct.rbegin(), MetricId{kThreads * kPerThread});
}

TEST_F(CatalogStoreTest, QueryErrorsBecomeMetricErrors) {
  Status inner(ErrorCode::kInvalidQuery, "steps[1].event: required", "steps[1].event");
  Status outer = InMetricQuery(inner);
  EXPECT_EQ(outer.field(), "query.steps[1].event");
  EXPECT_EQ(outer.message(), "query.steps[1].event: required");
  Status other(ErrorCode::kQueryTooLarge, "too big");
  EXPECT_EQ(InMetricQuery(other).field(), "");
  EXPECT_EQ(InMetricQuery(other).code(), ErrorCode::kQueryTooLarge);
}

TEST_F(CatalogStoreTest, CorruptStoredValuesAreReportedNotTrusted) {
  std::string key = "met/1/";
  state::AppendBigEndian32(5, &key);
  ASSERT_TRUE(kv_->Put(key, "not json").ok());
  EXPECT_EQ(store_->GetMetric(project_.id, 5).status().code(), ErrorCode::kCorruption);
  EXPECT_EQ(store_->ListMetrics(project_.id).status().code(), ErrorCode::kCorruption);
  // The next id is past the highest key even without a sequence entry.
  ASSERT_TRUE(kv_->Delete(key).ok());
  std::string good = "met/1/";
  state::AppendBigEndian32(8, &good);
  Metric stored;
  stored.id = 8;
  stored.name = "by hand";
  stored.query = R"({"type":"events","last":"7d","measures":[{"event":"A"}]})";
  ASSERT_TRUE(kv_->Put(good, ToJson(stored)).ok());
  EXPECT_EQ(AddMetric("next"), 9u);
}

}  // namespace
}  // namespace sextant::catalog
