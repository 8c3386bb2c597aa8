#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>

#include "query/day_columns.h"

#include "query/analyses.h"
#include "query/query_context.h"
#include "query/query_spec.h"

namespace sextant::query {
namespace {

TEST(ParseQueryTest, ParsesFunnel) {
  auto spec = ParseQuery(R"({"type":"funnel","from":"2026-01-01","to":"2026-01-31",
      "window_seconds":3600,"steps":[{"event":"A"},{"event":"B","filter":{"all":[
      {"property":"event.amount","op":">","value":10}]}}]})", 0);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->type, QueryType::kFunnel);
  EXPECT_EQ(spec->funnel.window_ms, 3'600'000);
  ASSERT_EQ(spec->funnel.steps.size(), 2u);
  ASSERT_TRUE(spec->funnel.steps[1].filter.has_value());
  EXPECT_EQ(spec->range.last_day - spec->range.first_day, 30);
}

TEST(ParseQueryTest, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  };
  const Case cases[] = {
      {R"({"type":"cube","from":"2026-01-01","to":"2026-01-02"})", "type"},
      {R"({"type":"events","from":"2026-13-01","to":"2026-01-02","measures":[{"event":"A"}]})", "from"},
      {R"({"type":"events","from":"2026-01-03","to":"2026-01-02","measures":[{"event":"A"}]})", "to"},
      {R"({"type":"events","last":"30x","measures":[{"event":"A"}]})", "last"},
      {R"({"type":"events","last":"3d","measures":[{"event":"A","aggregator":"sum"}]})", "measures[0].property"},
      {R"({"type":"events","last":"3d","measures":[{"event":"A"}],"filter":{"all":[{"property":"event.x","op":"~","value":1}]}})", "filter.all[0].op"},
      {R"({"type":"events","last":"3d","measures":[{"event":"A"}],"by":["x"]})", "by[0]"},
      {R"({"type":"funnel","last":"3d","steps":[{"event":"A"}]})", "steps"},
      {R"({"type":"retention","last":"3d","initial":{"event":"A"}})", "return"},
  };
  for (const Case& c : cases) {
    auto spec = ParseQuery(c.json, 20000);
    ASSERT_FALSE(spec.ok()) << c.json;
    EXPECT_EQ(spec.status().code(), ErrorCode::kInvalidQuery) << c.json;
    EXPECT_EQ(spec.status().field(), c.field) << c.json << " → " << spec.status().ToString();
  }
  EXPECT_EQ(ParseQuery("{nope", 0).status().code(), ErrorCode::kBadJson);
}

TEST(ParseQueryTest, RelativeRangeEndsToday) {
  auto spec = ParseQuery(R"({"type":"events","last":"2w","measures":[{"event":"A"}]})", 20000);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->range.last_day, 20000);
  EXPECT_EQ(spec->range.first_day, 20000 - 13);
}

TEST(ConditionTest, StartsWithMatchesPrefixesOfStringsAndListItems) {
  auto spec = ParseQuery(R"({"type":"events","last":"3d","measures":[{"event":"A"}],
      "filter":{"property":"user.org_unit","op":"starts_with","value":"/hq/sh/"}})", 20000);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto compiled = CompileLiterals(spec->filter->condition, ValueType::kString,
                                  TimeZone(), "filter");
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  const Value below = Value::String("/hq/sh/team-1"), other = Value::String("/hq/shx");
  const Value list = Value::List({"/hq/bj", "/hq/sh/t"});
  EXPECT_TRUE(EvaluateValue(*compiled, &below));
  EXPECT_FALSE(EvaluateValue(*compiled, &other));
  EXPECT_TRUE(EvaluateValue(*compiled, &list));
  EXPECT_FALSE(EvaluateValue(*compiled, nullptr));
  // A number literal, or a DATE property, is an error naming the field.
  auto number = ParseQuery(R"({"type":"events","last":"3d","measures":[{"event":"A"}],
      "filter":{"property":"user.x","op":"starts_with","value":3}})", 20000);
  ASSERT_FALSE(number.ok());
  EXPECT_EQ(number.status().field(), "filter.value");
  Condition on_date = spec->filter->condition;
  on_date.values[0].string = "2026-01-01";  // a valid DATE literal: the op is what is wrong
  auto compiled_on_date = CompileLiterals(on_date, ValueType::kDate, TimeZone(), "filter");
  ASSERT_FALSE(compiled_on_date.ok());
  EXPECT_EQ(compiled_on_date.status().field(), "filter.op");
}

TEST(TimeBucketsTest, WeeksStartOnMondayAndMonthsOnTheFirst) {
  const int32_t thursday = *ParseDate("2026-01-01");
  TimeBuckets weeks(TimeUnit::kWeek, {thursday, thursday + 13}, TimeZone());
  EXPECT_EQ(weeks.count(), 3u);
  EXPECT_EQ(weeks.Label(0), "2025-12-29");
  EXPECT_EQ(weeks.Label(1), "2026-01-05");
  TimeBuckets months(TimeUnit::kMonth, {thursday + 20, thursday + 40}, TimeZone());
  EXPECT_EQ(months.count(), 2u);
  EXPECT_EQ(months.Label(1), "2026-02-01");
  TimeBuckets hours(TimeUnit::kHour, {thursday, thursday}, TimeZone());
  // 2026-01-01 13:30 in Shanghai is 05:30 UTC.
  const int64_t instant = TimeZone().DayStartMs(thursday) + 13 * 3'600'000 + 1'800'000;
  EXPECT_EQ(hours.BucketOfMs(instant), 13);
  EXPECT_EQ(hours.Label(13), "2026-01-01 13:00");
}

// An event store in a fresh directory (no background maintenance), for the tests of the
// column layer over it: rows are appended through the store's own path and flushed into parts.
class DayStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sextant_query_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store::EventStoreOptions options;
    options.dir = dir_.string();
    options.background_maintenance = false;
    auto opened = store::EventStore::Open(std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened.value());
  }
  void TearDown() override {
    if (store_) {
      EXPECT_TRUE(store_->Close().ok());
    }
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Appends to project 1 and waits for the acknowledgement.
  void Append(std::vector<store::EventRow> rows) {
    std::promise<Status> done;
    store_->Append(1, std::move(rows), [&](Status status) { done.set_value(status); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  void Flush() { ASSERT_TRUE(store_->FlushHeads(true).ok()); }
  std::vector<store::DaySnapshot> Snapshots(int32_t first_day = -100000,
                                            int32_t last_day = 100000) {
    std::vector<store::DaySnapshot> snapshots;
    EXPECT_TRUE(store_->SnapshotDays(1, first_day, last_day, &snapshots).ok());
    return snapshots;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::EventStore> store_;
};

// A day made of two parts and a head reads as one (user, time)-sorted run, ties in arrival
// order, and its property columns follow the merged order.
TEST_F(DayStoreTest, MergesPartsAndHeadInUserTimeOrder) {
  const int64_t day_start = TimeZone().DayStartMs(*ParseDate("2026-01-01"));
  auto row = [&](UserId user, int64_t offset, EventId event, double amount) {
    store::EventRow r;
    r.user_id = user;
    r.time_ms = day_start + offset;
    r.event_id = event;
    r.receive_time_ms = r.time_ms;
    r.properties.push_back({7, Value::Number(amount)});
    return r;
  };
  Append({row(2, 500, 1, 1), row(1, 100, 1, 2)});
  Flush();
  Append({row(1, 100, 2, 3), row(2, 50, 1, 4)});
  Flush();
  Append({row(1, 90, 3, 5)});  // stays in the head

  std::vector<store::DaySnapshot> snapshots = Snapshots();
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_EQ(snapshots[0].parts.size(), 2u);
  EXPECT_EQ(snapshots[0].head_rows.size(), 1u);
  auto day = DayColumns::Build(std::move(snapshots[0]));
  ASSERT_TRUE(day.ok()) << day.status().ToString();
  const DayColumns& columns = **day;
  ASSERT_EQ(columns.rows(), 5u);
  EXPECT_EQ(columns.run_user(), (std::vector<UserId>{1, 2}));
  EXPECT_EQ(columns.run_begin(), (std::vector<uint32_t>{0, 3, 5}));
  EXPECT_EQ(columns.time_offset_ms(), (std::vector<uint32_t>{90, 100, 100, 50, 500}));
  // User 1 at 100: the first part's row (event 1) arrived before the second's (event 2).
  EXPECT_EQ(columns.event(), (std::vector<EventId>{3, 1, 2, 1, 1}));
  auto amount = columns.Property(7);
  ASSERT_TRUE(amount.ok());
  ASSERT_NE(*amount, nullptr);
  std::vector<double> amounts;
  for (size_t r = 0; r < 5; ++r) amounts.push_back((*amount)->numbers[(*amount)->slot[r]]);
  EXPECT_EQ(amounts, (std::vector<double>{5, 2, 3, 4, 1}));
  auto missing = columns.Property(8);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, nullptr);
}

// Cached days the store no longer holds (deleted by retention) are dropped, so they do not keep
// memory until the budget is reached; the days kept stay cached.
TEST_F(DayStoreTest, CacheDropsDaysBeforeTheFirstStoredDay) {
  const int32_t first = *ParseDate("2026-01-01");
  std::vector<store::EventRow> rows;
  for (int32_t day = first; day < first + 3; ++day) {
    store::EventRow row;
    row.user_id = 1;
    row.time_ms = TimeZone().DayStartMs(day) + 1000;
    row.event_id = 1;
    row.receive_time_ms = row.time_ms;
    rows.push_back(row);
  }
  Append(std::move(rows));
  Flush();
  DayColumnsCache cache(size_t{1} << 30);
  std::vector<store::DaySnapshot> snapshots = Snapshots(first, first + 2);
  ASSERT_EQ(snapshots.size(), 3u);
  for (const auto& snapshot : snapshots) ASSERT_TRUE(cache.Get(1, snapshot).ok());
  for (const auto& snapshot : snapshots) EXPECT_TRUE(cache.Contains(1, snapshot));
  cache.DropDaysBefore(1, first + 2);
  cache.DropDaysBefore(2, INT32_MAX);  // another project: nothing of project 1 goes
  EXPECT_FALSE(cache.Contains(1, snapshots[0]));
  EXPECT_FALSE(cache.Contains(1, snapshots[1]));
  EXPECT_TRUE(cache.Contains(1, snapshots[2]));
}

// A day of exactly one part (built lazily from the part's columns): same rows as the merge path.
TEST_F(DayStoreTest, SinglePartDayDecodesCompactColumns) {
  const int64_t day_start = TimeZone().DayStartMs(*ParseDate("2026-01-01"));
  std::vector<store::EventRow> rows;
  for (UserId user : {3u, 1u, 2u, 1u, 3u}) {
    store::EventRow row;
    row.user_id = user;
    row.time_ms = day_start + 86'399'999 - user * 1000 - static_cast<int64_t>(rows.size());
    row.event_id = 10 + static_cast<EventId>(rows.size());
    row.receive_time_ms = row.time_ms;
    rows.push_back(row);
  }
  Append(rows);
  Flush();
  std::vector<store::DaySnapshot> snapshots = Snapshots();
  ASSERT_EQ(snapshots.size(), 1u);
  ASSERT_EQ(snapshots[0].parts.size(), 1u);
  ASSERT_TRUE(snapshots[0].head_rows.empty());
  auto day = DayColumns::Build(std::move(snapshots[0]));
  ASSERT_TRUE(day.ok());
  EXPECT_EQ((*day)->run_user(), (std::vector<UserId>{1, 2, 3}));
  EXPECT_EQ((*day)->run_begin(), (std::vector<uint32_t>{0, 2, 3, 5}));
  // Within a user, ascending time: user 1's rows 3 (later index, earlier time) then 1.
  EXPECT_EQ((*day)->event(), (std::vector<EventId>{13, 11, 12, 14, 10}));
  EXPECT_EQ((*day)->time_offset_ms(),
            (std::vector<uint32_t>{86'399'999 - 1000 - 3, 86'399'999 - 1000 - 1,
                                   86'399'999 - 2000 - 2, 86'399'999 - 3000 - 4,
                                   86'399'999 - 3000 - 0}));
}

// Enough rows for ReadCompact's word-at-a-time paths (eight zero user deltas, eight one-byte
// events, time deltas of one to four bytes) and their fall-backs (events >= 128, large user
// gaps), checked against the rows sorted by (user, time); and RowsOfEvents against a filter of
// the day's columns.
TEST_F(DayStoreTest, CompactDecodingAndEventSetRowsMatchTheRows) {
  const int64_t day_start = TimeZone().DayStartMs(*ParseDate("2026-01-01"));
  std::vector<store::EventRow> rows;
  uint64_t seed = 12345;
  auto next = [&](uint64_t bound) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (seed >> 33) % bound;
  };
  for (int i = 0; i < 3000; ++i) {
    store::EventRow row;
    row.user_id = static_cast<UserId>(1 + next(40) * next(50'000));
    // Mostly small events, some of two varint bytes.
    row.event_id = static_cast<EventId>(next(10) == 0 ? 128 + next(1000) : 1 + next(60));
    row.time_ms = day_start + static_cast<int64_t>(next(4) == 0 ? next(86'400'000) : next(100'000));
    row.receive_time_ms = row.time_ms;
    rows.push_back(row);
  }
  Append(rows);
  Flush();
  std::vector<store::DaySnapshot> snapshots = Snapshots();
  ASSERT_EQ(snapshots.size(), 1u);
  ASSERT_EQ(snapshots[0].parts.size(), 1u);
  auto built = DayColumns::Build(std::move(snapshots[0]));
  ASSERT_TRUE(built.ok());
  const DayColumns& day = **built;

  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.user_id, a.time_ms) < std::make_pair(b.user_id, b.time_ms);
  });
  std::vector<UserId> run_user;
  std::vector<uint32_t> run_begin;
  std::vector<uint32_t> offsets;
  std::vector<EventId> events;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (run_user.empty() || run_user.back() != rows[i].user_id) {
      run_user.push_back(rows[i].user_id);
      run_begin.push_back(static_cast<uint32_t>(i));
    }
    offsets.push_back(static_cast<uint32_t>(rows[i].time_ms - day_start));
    events.push_back(rows[i].event_id);
  }
  run_begin.push_back(static_cast<uint32_t>(rows.size()));
  EXPECT_EQ(day.run_user(), run_user);
  EXPECT_EQ(day.run_begin(), run_begin);
  EXPECT_EQ(day.time_offset_ms(), offsets);
  // Rows with equal (user, time) may come in either order of arrival within the part; compare
  // events as a multiset per (user, time) by checking the sorted-by-key sequence only when
  // keys are distinct (true for all but a handful of rows).
  size_t checked = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const bool tie = (i > 0 && rows[i - 1].user_id == rows[i].user_id &&
                      rows[i - 1].time_ms == rows[i].time_ms) ||
                     (i + 1 < rows.size() && rows[i + 1].user_id == rows[i].user_id &&
                      rows[i + 1].time_ms == rows[i].time_ms);
    if (tie) continue;
    EXPECT_EQ(day.event()[i], events[i]) << "row " << i;
    ++checked;
  }
  EXPECT_GT(checked, rows.size() / 2);

  // A second build of the same part is lazy (format 2): its lists come from the part's
  // event blocks before any full column is decoded, and must equal the full columns' lists.
  auto lazy_built = DayColumns::Build(std::move(Snapshots()[0]));
  ASSERT_TRUE(lazy_built.ok());
  const DayColumns& lazy = **lazy_built;
  EXPECT_FALSE(lazy.HasFullColumns());
  EXPECT_EQ(lazy.rows(), rows.size());
  EXPECT_EQ(lazy.run_user(), run_user);
  const std::vector<EventId> set = {3, 7, 200};
  const DayColumns::EventSetRows& lazy_list = lazy.RowsOfEvents(set);
  const DayColumns::EventRows& lazy_rows_of_7 = lazy.RowsOf(7);
  const DayColumns::EventRows& lazy_rows_of_absent = lazy.RowsOf(5000);
  EXPECT_FALSE(lazy.HasFullColumns());
  EXPECT_TRUE(lazy_rows_of_absent.rows.empty());
  EXPECT_TRUE(lazy.LazyStatus().ok());

  const DayColumns::EventSetRows& list = day.RowsOfEvents(set);
  EXPECT_EQ(lazy_list.rows, list.rows);
  EXPECT_EQ(lazy_list.users, list.users);
  EXPECT_EQ(lazy_list.events, list.events);
  EXPECT_EQ(lazy_list.time_offset_ms, list.time_offset_ms);
  EXPECT_EQ(lazy_rows_of_7.rows, day.RowsOf(7).rows);
  EXPECT_EQ(lazy_rows_of_7.users, day.RowsOf(7).users);

  // Without times (an analysis that needs none on this day): the same rows, no time read;
  // asked later with times, a second list carries them and the first stays as it was.
  auto untimed_built = DayColumns::Build(std::move(Snapshots()[0]));
  ASSERT_TRUE(untimed_built.ok());
  const DayColumns& untimed_day = **untimed_built;
  const DayColumns::EventSetRows& untimed = untimed_day.RowsOfEvents(set, /*with_times=*/false);
  EXPECT_FALSE(untimed.has_times);
  EXPECT_TRUE(untimed.time_offset_ms.empty());
  EXPECT_EQ(untimed.rows, list.rows);
  EXPECT_EQ(untimed.users, list.users);
  EXPECT_EQ(untimed.events, list.events);
  EXPECT_TRUE(untimed_day.HasRowsOfEvents(set, /*with_times=*/false));
  EXPECT_FALSE(untimed_day.HasRowsOfEvents(set, /*with_times=*/true));
  const DayColumns::EventSetRows& timed = untimed_day.RowsOfEvents(set, /*with_times=*/true);
  EXPECT_TRUE(timed.has_times);
  EXPECT_EQ(timed.rows, list.rows);
  EXPECT_EQ(timed.time_offset_ms, list.time_offset_ms);
  EXPECT_FALSE(untimed.has_times);
  EXPECT_TRUE(untimed.time_offset_ms.empty());
  // Once a list with times exists, a caller without need of times gets it.
  EXPECT_EQ(&untimed_day.RowsOfEvents(set, /*with_times=*/false), &timed);
  EXPECT_FALSE(untimed_day.HasFullColumns());
  EXPECT_TRUE(untimed_day.LazyStatus().ok());

  // Asking for the full columns decodes them, equal to the eager build's.
  EXPECT_EQ(lazy.event(), day.event());
  EXPECT_TRUE(lazy.HasFullColumns());
  EXPECT_EQ(lazy.time_offset_ms(), day.time_offset_ms());
  size_t listed = 0;
  for (size_t run = 0; run < day.runs(); ++run) {
    for (uint32_t row = day.run_begin()[run]; row < day.run_begin()[run + 1]; ++row) {
      const EventId event = day.event()[row];
      if (event != 3 && event != 7 && event != 200) continue;
      ASSERT_LT(listed, list.rows.size());
      EXPECT_EQ(list.rows[listed], row);
      EXPECT_EQ(list.users[listed], day.run_user()[run]);
      EXPECT_EQ(list.events[listed], event);
      EXPECT_EQ(list.time_offset_ms[listed], day.time_offset_ms()[row]);
      ++listed;
    }
  }
  EXPECT_EQ(list.rows.size(), listed);
  EXPECT_GT(listed, 0u);

  // Per-user row counts of an event: from the part's event index on a fresh lazy build (no
  // column decoded), and from the decoded columns on the full day — both equal to the counts
  // of the rows themselves.
  auto counted_built = DayColumns::Build(std::move(Snapshots()[0]));
  ASSERT_TRUE(counted_built.ok());
  const DayColumns& counted_day = **counted_built;
  for (EventId event : {EventId{3}, EventId{7}, EventId{200}, EventId{5000}}) {
    std::map<UserId, uint32_t> expected;
    for (const store::EventRow& row : rows) {
      if (row.event_id == event) ++expected[row.user_id];
    }
    for (const DayColumns* source : {&counted_day, &day}) {
      const DayColumns::EventUserCounts& counts = source->UserCountsOf(event);
      ASSERT_EQ(counts.users.size(), expected.size()) << "event " << event;
      ASSERT_EQ(counts.row_counts.size(), expected.size()) << "event " << event;
      uint64_t total = 0;
      size_t i = 0;
      for (const auto& [user, count] : expected) {
        EXPECT_EQ(counts.users[i], user) << "event " << event << ", entry " << i;
        EXPECT_EQ(counts.row_counts[i], count) << "event " << event << ", entry " << i;
        total += count;
        ++i;
      }
      EXPECT_EQ(counts.rows, total);
    }
  }
  EXPECT_FALSE(counted_day.HasFullColumns());
  EXPECT_TRUE(counted_day.HasUserCountsOf(7));
  EXPECT_TRUE(counted_day.LazyStatus().ok());
  // Its runs, decoded on first use after the index answered, are the day's.
  EXPECT_EQ(counted_day.run_user(), run_user);
  EXPECT_EQ(counted_day.run_begin(), run_begin);
}

}  // namespace
}  // namespace sextant::query
