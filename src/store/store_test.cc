#include "store/event_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

namespace sextant::store {
namespace {

constexpr int64_t kDay0Ms = 1'704'038'400'000;  // 2024-01-01 00:00 Asia/Shanghai
constexpr ProjectId kProject = 1;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/sextant_store_test_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::remove_all(dir_ + "_crash");
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    std::filesystem::remove_all(dir_ + "_crash");
  }

  EventStoreOptions Options(const std::string& dir) {
    EventStoreOptions options;
    options.dir = dir;
    options.background_maintenance = false;
    return options;
  }

  std::unique_ptr<EventStore> OpenStore(EventStoreOptions options,
                                        std::vector<EventRow>* recovered = nullptr) {
    auto store = EventStore::Open(std::move(options), [recovered](ProjectId, const EventRow& row) {
      if (recovered != nullptr) recovered->push_back(row);
    });
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store.value()) : nullptr;
  }

  // Appends and waits for the acknowledgement.
  static Status AppendSync(EventStore* store, std::vector<EventRow> rows,
                           ProjectId project = kProject) {
    std::promise<Status> promise;
    store->Append(project, std::move(rows), [&promise](Status st) { promise.set_value(st); });
    return promise.get_future().get();
  }

  // "Crash": a copy of the data directory as it is on disk right now.
  std::string CrashCopy() {
    const std::string copy = dir_ + "_crash";
    std::filesystem::remove_all(copy);
    std::filesystem::copy(dir_, copy, std::filesystem::copy_options::recursive);
    return copy;
  }

  std::string dir_;
};

EventRow MakeRow(UserId user, int64_t time_ms, EventId event, int64_t track) {
  EventRow row;
  row.user_id = user;
  row.time_ms = time_ms;
  row.event_id = event;
  row.track_id = track;
  row.receive_time_ms = time_ms + 1500;
  row.distinct_id = "d" + std::to_string(user);
  // Sparse properties, sorted by id; every value type appears.
  if (track % 2 == 0) row.properties.push_back({1, Value::Number(static_cast<double>(track) * 1.5)});
  if (track % 3 == 0) row.properties.push_back({2, Value::Bool(track % 2 == 0)});
  row.properties.push_back({3, Value::String(track % 4 == 0 ? "beijing" : "shanghai")});
  if (track % 5 == 0) row.properties.push_back({4, Value::List({"fund", "loan"})});
  if (track % 7 == 0) row.properties.push_back({5, Value::Datetime(time_ms - 86'400'000)});
  if (track % 11 == 0) row.properties.push_back({6, Value::Date(19'000 + static_cast<int32_t>(track))});
  if (track == 13) row.properties.push_back({7, Value::Number(0.1)});  // property in one row only
  return row;
}

const std::vector<PropertyId> kAllProps = {1, 2, 3, 4, 5, 6, 7};

// Scans everything in [first_day, last_day] back into EventRows.
std::vector<EventRow> ScanAll(const EventStore& store, ScanSpec spec = {}) {
  if (spec.first_day == 0 && spec.last_day == 0) {
    spec.first_day = 19'000;
    spec.last_day = 20'000;
  }
  spec.property_ids = kAllProps;
  spec.with_distinct_id = spec.with_track_id = spec.with_receive_time = true;
  std::vector<EventRow> out;
  Status st = store.Scan(kProject, spec, [&](const EventBatch& batch) {
    for (size_t i = 0; i < batch.size; ++i) {
      EventRow row;
      row.user_id = batch.user_ids[i];
      row.time_ms = batch.times_ms[i];
      row.event_id = batch.event_ids[i];
      row.track_id = batch.track_ids[i];
      row.receive_time_ms = batch.receive_times_ms[i];
      row.distinct_id = batch.distinct_ids[i];
      for (size_t k = 0; k < kAllProps.size(); ++k) {
        if (batch.property_values[k][i]) {
          row.properties.push_back({kAllProps[k], *batch.property_values[k][i]});
        }
      }
      out.push_back(std::move(row));
    }
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::vector<EventRow> SortedByUserTime(std::vector<EventRow> rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const EventRow& a, const EventRow& b) {
    return a.user_id != b.user_id ? a.user_id < b.user_id : a.time_ms < b.time_ms;
  });
  return rows;
}

// `count` rows over several users and two days, in a scrambled arrival order.
std::vector<EventRow> MakeRows(int count, int64_t first_track = 0) {
  std::vector<EventRow> rows;
  for (int i = 0; i < count; ++i) {
    int64_t track = first_track + i;
    auto user = static_cast<UserId>(1 + (track * 7919) % 37);
    int64_t time = kDay0Ms + (track * 7'654'321) % (2 * 86'400'000LL);
    rows.push_back(MakeRow(user, time, static_cast<EventId>(1 + track % 3), track));
  }
  return rows;
}

TEST_F(StoreTest, AppendThenScanReturnsRowsInUserTimeOrderFromHeadAndParts) {
  auto store = OpenStore(Options(dir_));
  std::vector<EventRow> rows = MakeRows(500);
  // Ties on (user, time) keep arrival order.
  rows.push_back(MakeRow(5, kDay0Ms + 10, 1, 1000));
  rows.push_back(MakeRow(5, kDay0Ms + 10, 2, 1001));
  ASSERT_TRUE(AppendSync(store.get(), rows).ok());
  const std::vector<EventRow> expected = SortedByUserTime(rows);
  EXPECT_EQ(ScanAll(*store), expected);  // from heads

  ASSERT_TRUE(store->FlushHeads(true).ok());
  EXPECT_EQ(store->Stats().head_rows, 0u);
  EXPECT_EQ(store->Stats().parts, 2u);  // two days
  EXPECT_EQ(ScanAll(*store), expected);  // from parts

  std::vector<EventRow> more = MakeRows(300, 2000);
  ASSERT_TRUE(AppendSync(store.get(), more).ok());
  std::vector<EventRow> all = rows;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(ScanAll(*store), SortedByUserTime(all));  // parts + heads merged
  EXPECT_EQ(store->Stats().rows_total, all.size());
  auto range = store->DayRange(kProject);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->first, 19'723);
  EXPECT_EQ(range->second, 19'724);
  EXPECT_FALSE(store->DayRange(99).has_value());
}

TEST_F(StoreTest, RowsAreVisibleWhenDoneRuns) {
  auto store = OpenStore(Options(dir_));
  for (int i = 0; i < 20; ++i) {
    std::promise<size_t> seen;
    store->Append(kProject, {MakeRow(3, kDay0Ms + i, 1, i)}, [&](Status st) {
      EXPECT_TRUE(st.ok());
      seen.set_value(ScanAll(*store).size());
    });
    EXPECT_EQ(seen.get_future().get(), static_cast<size_t>(i + 1));
  }
  // Empty appends are acknowledged after a group commit.
  EXPECT_TRUE(AppendSync(store.get(), {}).ok());
}

TEST_F(StoreTest, EventFilterAndColumnSelection) {
  auto store = OpenStore(Options(dir_));
  std::vector<EventRow> rows = MakeRows(400);
  ASSERT_TRUE(AppendSync(store.get(), std::vector<EventRow>(rows.begin(), rows.begin() + 200)).ok());
  ASSERT_TRUE(store->FlushHeads(true).ok());
  ASSERT_TRUE(AppendSync(store.get(), std::vector<EventRow>(rows.begin() + 200, rows.end())).ok());
  std::vector<EventRow> expected;
  for (const EventRow& row : SortedByUserTime(rows)) {
    if (row.event_id == 2) expected.push_back(row);
  }
  ScanSpec spec;
  spec.first_day = 19'000;
  spec.last_day = 20'000;
  spec.event_ids = {2};
  spec.property_ids = {3};
  size_t seen = 0;
  ASSERT_TRUE(store->Scan(kProject, spec, [&](const EventBatch& batch) {
    EXPECT_EQ(batch.track_ids, nullptr);
    EXPECT_EQ(batch.distinct_ids, nullptr);
    EXPECT_EQ(batch.property_values.size(), 1u);
    for (size_t i = 0; i < batch.size; ++i, ++seen) {
      EXPECT_EQ(batch.user_ids[i], expected[seen].user_id);
      EXPECT_EQ(batch.times_ms[i], expected[seen].time_ms);
      EXPECT_EQ(batch.event_ids[i], 2u);
      auto city = std::find_if(expected[seen].properties.begin(), expected[seen].properties.end(),
                               [](const PropertyCell& cell) { return cell.property_id == 3; });
      EXPECT_TRUE(city != expected[seen].properties.end() && batch.property_values[0][i] &&
                  *batch.property_values[0][i] == city->value);
    }
    return true;
  }).ok());
  EXPECT_EQ(seen, expected.size());
  // One day only.
  spec.event_ids.clear();
  spec.first_day = spec.last_day = 19'723;
  size_t day_rows = 0;
  ASSERT_TRUE(store->Scan(kProject, spec, [&](const EventBatch& batch) {
    for (size_t i = 0; i < batch.size; ++i) {
      EXPECT_LT(batch.times_ms[i], kDay0Ms + 86'400'000);
    }
    day_rows += batch.size;
    return true;
  }).ok());
  EXPECT_EQ(day_rows, static_cast<size_t>(std::count_if(rows.begin(), rows.end(), [](auto& r) {
              return r.time_ms < kDay0Ms + 86'400'000;
            })));
}

TEST_F(StoreTest, OnlyUserScansPartsAndHeads) {
  auto store = OpenStore(Options(dir_));
  std::vector<EventRow> rows = MakeRows(600);
  ASSERT_TRUE(AppendSync(store.get(), std::vector<EventRow>(rows.begin(), rows.begin() + 300)).ok());
  ASSERT_TRUE(store->FlushHeads(true).ok());
  ASSERT_TRUE(AppendSync(store.get(), std::vector<EventRow>(rows.begin() + 300, rows.end())).ok());
  for (UserId user : {UserId{1}, UserId{17}, UserId{37}, UserId{1000}}) {
    std::vector<EventRow> expected;
    for (const EventRow& row : SortedByUserTime(rows)) {
      if (row.user_id == user) expected.push_back(row);
    }
    ScanSpec spec;
    spec.only_user = user;
    EXPECT_EQ(ScanAll(*store, spec), expected) << "user " << user;
  }
}

TEST_F(StoreTest, VisitorCanStopEarly) {
  auto store = OpenStore(Options(dir_));
  ASSERT_TRUE(AppendSync(store.get(), MakeRows(10'000)).ok());
  int calls = 0;
  ScanSpec spec;
  spec.first_day = 19'000;
  spec.last_day = 20'000;
  ASSERT_TRUE(store->Scan(kProject, spec, [&](const EventBatch& batch) {
    EXPECT_EQ(batch.size, 4096u);
    ++calls;
    return false;
  }).ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(StoreTest, RecoveryWithoutFlushReturnsRowsExactlyOnce) {
  std::vector<EventRow> rows = MakeRows(300);
  auto store = OpenStore(Options(dir_));
  ASSERT_TRUE(AppendSync(store.get(), std::vector<EventRow>(rows.begin(), rows.begin() + 100)).ok());
  ASSERT_TRUE(AppendSync(store.get(), std::vector<EventRow>(rows.begin() + 100, rows.end())).ok());
  const std::string crashed = CrashCopy();
  std::vector<EventRow> recovered;
  auto reopened = OpenStore(Options(crashed), &recovered);
  EXPECT_EQ(recovered, rows);
  EXPECT_EQ(ScanAll(*reopened), SortedByUserTime(rows));
  // A clean close and reopen after recovery still has each row once.
  ASSERT_TRUE(reopened->Close().ok());
  reopened.reset();
  recovered.clear();
  auto again = OpenStore(Options(crashed), &recovered);
  EXPECT_TRUE(recovered.empty());  // Close flushed everything into parts
  EXPECT_EQ(ScanAll(*again), SortedByUserTime(rows));
}

TEST_F(StoreTest, RecoveryAfterFlushAndMoreAppends) {
  std::vector<EventRow> first = MakeRows(200);
  std::vector<EventRow> second = MakeRows(150, 5000);
  auto store = OpenStore(Options(dir_));
  ASSERT_TRUE(AppendSync(store.get(), first).ok());
  ASSERT_TRUE(store->FlushHeads(true).ok());
  ASSERT_TRUE(AppendSync(store.get(), second).ok());
  const std::string crashed = CrashCopy();
  std::vector<EventRow> recovered;
  auto reopened = OpenStore(Options(crashed), &recovered);
  EXPECT_EQ(recovered, second);
  std::vector<EventRow> all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(ScanAll(*reopened), SortedByUserTime(all));
  // Appends continue after recovery with fresh lsns.
  std::vector<EventRow> third = MakeRows(10, 9000);
  ASSERT_TRUE(AppendSync(reopened.get(), third).ok());
  all.insert(all.end(), third.begin(), third.end());
  reopened.reset();  // destructor closes
  auto again = OpenStore(Options(crashed));
  EXPECT_EQ(ScanAll(*again), SortedByUserTime(all));
}

TEST_F(StoreTest, PartialFlushDoesNotDuplicateOnRecovery) {
  // Two days; only the old day's head is flushed (by age), the other stays in the head.
  SimulatedClock clock(kDay0Ms);
  EventStoreOptions options = Options(dir_);
  options.clock = &clock;
  options.head_flush_age_ms = 1000;
  auto store = OpenStore(options);
  std::vector<EventRow> day0 = {MakeRow(1, kDay0Ms + 5, 1, 1), MakeRow(2, kDay0Ms + 6, 1, 2)};
  ASSERT_TRUE(AppendSync(store.get(), day0).ok());
  clock.AdvanceMs(2000);
  std::vector<EventRow> mixed = {MakeRow(1, kDay0Ms + 7, 1, 3),
                                 MakeRow(3, kDay0Ms + 86'400'000 + 1, 1, 4)};
  ASSERT_TRUE(AppendSync(store.get(), mixed).ok());
  ASSERT_TRUE(store->FlushHeads(false).ok());  // flushes day 0's head (old), not day 1's
  EXPECT_EQ(store->Stats().parts, 1u);
  EXPECT_EQ(store->Stats().head_rows, 1u);
  const std::string crashed = CrashCopy();
  options.dir = crashed;
  std::vector<EventRow> recovered;
  auto reopened = OpenStore(options, &recovered);
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_EQ(recovered[0], mixed[1]);
  std::vector<EventRow> all = day0;
  all.insert(all.end(), mixed.begin(), mixed.end());
  EXPECT_EQ(ScanAll(*reopened), SortedByUserTime(all));
}

TEST_F(StoreTest, PastDayHeadIsFlushedOnceIdleTodaysWaitsForItsAge) {
  // Back-filled history (an import into past days) becomes a part 5 s after its last rows;
  // today's head keeps the age rule.
  const int64_t today_ms = kDay0Ms + 2 * 86'400'000;
  SimulatedClock clock(today_ms);
  EventStoreOptions options = Options(dir_);
  options.clock = &clock;
  options.past_day_head_idle_ms = 5'000;
  auto store = OpenStore(options);
  ASSERT_TRUE(AppendSync(store.get(), {MakeRow(1, kDay0Ms + 5, 1, 1), MakeRow(2, today_ms + 5, 1, 2)}).ok());
  clock.AdvanceMs(4'000);
  ASSERT_TRUE(AppendSync(store.get(), {MakeRow(3, kDay0Ms + 6, 1, 3)}).ok());  // still arriving
  clock.AdvanceMs(4'000);
  ASSERT_TRUE(store->FlushHeads(false).ok());
  EXPECT_EQ(store->Stats().parts, 0u);  // 4 s since the last rows of day 0
  clock.AdvanceMs(1'000);
  ASSERT_TRUE(store->FlushHeads(false).ok());
  EXPECT_EQ(store->Stats().parts, 1u);      // day 0, idle for 5 s
  EXPECT_EQ(store->Stats().head_rows, 1u);  // today's row waits for head_flush_age_ms
  EXPECT_EQ(ScanAll(*store).size(), 3u);
}

TEST_F(StoreTest, SettledDayIsMergedIntoOnePartAfterTheQuietPeriod) {
  SimulatedClock clock(kDay0Ms);
  EventStoreOptions options = Options(dir_);
  options.clock = &clock;
  options.compaction_quiet_ms = 60'000;
  auto store = OpenStore(options);
  std::vector<EventRow> all;
  for (int64_t batch = 0; batch < 2; ++batch) {
    std::vector<EventRow> rows = {MakeRow(2, kDay0Ms + 10 - batch, 1, 10 + batch),
                                  MakeRow(1, kDay0Ms + 20 + batch, 2, 20 + batch)};
    all.insert(all.end(), rows.begin(), rows.end());
    ASSERT_TRUE(AppendSync(store.get(), rows).ok());
    ASSERT_TRUE(store->FlushHeads(true).ok());
  }
  EXPECT_EQ(store->Stats().parts, 2u);
  clock.AdvanceMs(59'000);
  ASSERT_TRUE(store->CompactOnce().ok());
  EXPECT_EQ(store->Stats().parts, 2u);  // a part was added less than the quiet period ago
  clock.AdvanceMs(1'000);
  ASSERT_TRUE(store->CompactOnce().ok());
  EXPECT_EQ(store->Stats().parts, 1u);
  EXPECT_EQ(ScanAll(*store), SortedByUserTime(all));
}

TEST_F(StoreTest, TornWalTailIsTruncatedOnOpen) {
  std::vector<EventRow> rows = MakeRows(50);
  auto store = OpenStore(Options(dir_));
  ASSERT_TRUE(AppendSync(store.get(), rows).ok());
  const std::string crashed = CrashCopy();
  // A half-written record after the acknowledged one.
  std::string last_segment;
  for (const auto& entry : std::filesystem::directory_iterator(crashed + "/wal")) {
    if (std::filesystem::file_size(entry.path()) > 0) last_segment = entry.path().string();
  }
  ASSERT_FALSE(last_segment.empty());
  const auto size = std::filesystem::file_size(last_segment);
  {
    std::ofstream out(last_segment, std::ios::app | std::ios::binary);
    out << std::string("\x40\x00\x00\x00\x12\x34\x56\x78partial", 15);
  }
  auto reopened = OpenStore(Options(crashed));
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(std::filesystem::file_size(last_segment), size);
  EXPECT_EQ(ScanAll(*reopened), SortedByUserTime(rows));
}

TEST_F(StoreTest, CorruptWalInTheMiddleFailsOpen) {
  auto store = OpenStore(Options(dir_));
  ASSERT_TRUE(AppendSync(store.get(), MakeRows(20)).ok());
  ASSERT_TRUE(AppendSync(store.get(), MakeRows(20, 100)).ok());
  const std::string crashed = CrashCopy();
  for (const auto& entry : std::filesystem::directory_iterator(crashed + "/wal")) {
    if (std::filesystem::file_size(entry.path()) == 0) continue;
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x7f');
  }
  auto reopened = EventStore::Open(Options(crashed));
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(reopened.status().message().find("offset 0"), std::string::npos)
      << reopened.status().message();
}

TEST_F(StoreTest, OrphanPartIsRemovedOnOpen) {
  std::vector<EventRow> rows = MakeRows(100);
  auto store = OpenStore(Options(dir_));
  ASSERT_TRUE(AppendSync(store.get(), rows).ok());
  ASSERT_TRUE(store->FlushHeads(true).ok());
  const std::string crashed = CrashCopy();
  // A part written by a flush that crashed before its manifest update.
  const std::string orphan = crashed + "/p1/d19723/999.part";
  std::filesystem::copy_file(
      std::filesystem::directory_iterator(crashed + "/p1/d19723")->path(), orphan);
  const std::string orphan_dir = crashed + "/p1/d19999";
  std::filesystem::create_directories(orphan_dir);
  std::ofstream(orphan_dir + "/5.part") << "garbage";
  auto reopened = OpenStore(Options(crashed));
  EXPECT_FALSE(std::filesystem::exists(orphan));
  EXPECT_FALSE(std::filesystem::exists(orphan_dir));
  EXPECT_EQ(ScanAll(*reopened), SortedByUserTime(rows));
}

// A day that keeps receiving rows is compacted size-tiered: each flush's rows are rewritten a
// logarithmic number of times and the day keeps a few parts. Merging every part whenever the
// trigger was passed rewrote the whole day each time (here 25 times per row on average).
TEST_F(StoreTest, CompactionOfABusyDayRewritesEachRowLogarithmicallyOften) {
  EventStoreOptions options = Options(dir_);
  options.compaction_quiet_ms = 0;  // only the trigger, as while the day receives rows
  auto store = OpenStore(options);
  std::vector<EventRow> all;
  constexpr int kFlushes = 200;
  constexpr int kRowsPerFlush = 20;
  size_t most_parts = 0;
  for (int flush = 0; flush < kFlushes; ++flush) {
    std::vector<EventRow> rows;
    for (int i = 0; i < kRowsPerFlush; ++i) {
      const int64_t track = int64_t{flush} * kRowsPerFlush + i;
      // Few distinct (user, time) pairs, so rows of different flushes tie: the scan must keep
      // them in arrival order however the parts were merged.
      rows.push_back(MakeRow(static_cast<UserId>(1 + i % 5), kDay0Ms + (track % 7) * 1000,
                             static_cast<EventId>(1 + track % 3), track));
    }
    all.insert(all.end(), rows.begin(), rows.end());
    ASSERT_TRUE(AppendSync(store.get(), rows).ok());
    ASSERT_TRUE(store->FlushHeads(true).ok());
    for (uint64_t before = UINT64_MAX; before != store->Stats().compactions;) {
      before = store->Stats().compactions;
      ASSERT_TRUE(store->CompactOnce().ok());
    }
    most_parts = std::max<size_t>(most_parts, store->Stats().parts);
  }
  const StoreStats stats = store->Stats();
  EXPECT_EQ(stats.rows_total, all.size());
  EXPECT_LE(most_parts, 16u);
  const double rewrites_per_row =
      static_cast<double>(stats.compacted_rows) / static_cast<double>(all.size());
  EXPECT_GT(rewrites_per_row, 1.0);  // it did compact
  EXPECT_LE(rewrites_per_row, 8.0) << stats.compacted_rows << " rows rewritten";
  EXPECT_EQ(ScanAll(*store), SortedByUserTime(all));
}

// A merge holds its inputs' columns in memory, so no compaction — not even of a settled day —
// makes a part of more than max_merged_part_rows rows.
TEST_F(StoreTest, CompactionNeverMakesAPartOverTheRowBound) {
  SimulatedClock clock(kDay0Ms + 3 * 86'400'000LL);
  EventStoreOptions options = Options(dir_);
  options.clock = &clock;
  options.compaction_quiet_ms = 60'000;
  options.max_merged_part_rows = 50;
  auto store = OpenStore(options);
  std::vector<EventRow> all;
  for (int flush = 0; flush < 10; ++flush) {
    std::vector<EventRow> rows;
    for (int i = 0; i < 20; ++i) {
      const int64_t track = int64_t{flush} * 20 + i;
      rows.push_back(MakeRow(static_cast<UserId>(1 + track % 9), kDay0Ms + track * 1000, 1, track));
    }
    all.insert(all.end(), rows.begin(), rows.end());
    ASSERT_TRUE(AppendSync(store.get(), rows).ok());
    ASSERT_TRUE(store->FlushHeads(true).ok());
  }
  clock.AdvanceMs(60'000);  // settled: merge all it may
  for (uint64_t before = UINT64_MAX; before != store->Stats().compactions;) {
    before = store->Stats().compactions;
    ASSERT_TRUE(store->CompactOnce().ok());
  }
  const StoreStats stats = store->Stats();
  EXPECT_GT(stats.compactions, 0u);
  // 200 rows of 20-row parts, merged into parts of at most 50 rows: 40 each.
  EXPECT_EQ(stats.parts, 5u);
  EXPECT_EQ(ScanAll(*store), SortedByUserTime(all));
}

// Backpressure: once the heads hold more than max_head_rows rows, the next group waits until a
// flush makes room (here the test's own FlushHeads, background maintenance being off), and the
// flush writes every head over half the bound whatever its size or age.
TEST_F(StoreTest, CommitsWaitWhileTheHeadsAreOverTheirBound) {
  EventStoreOptions options = Options(dir_);
  options.max_head_rows = 100;
  auto store = OpenStore(options);
  std::vector<EventRow> first = MakeRows(150);
  ASSERT_TRUE(AppendSync(store.get(), first).ok());  // the heads were empty: not held back
  std::promise<Status> second_done;
  std::vector<EventRow> second = MakeRows(10, 1000);
  store->Append(kProject, second, [&](Status st) { second_done.set_value(st); });
  std::future<Status> second_future = second_done.get_future();
  // Nothing flushes on its own, so the group stays held back (however slow the machine).
  EXPECT_EQ(second_future.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  EXPECT_EQ(store->Stats().parts, 0u);
  // 150 young rows, under head_flush_rows: written into parts only because of the bound.
  ASSERT_TRUE(store->FlushHeads(false).ok());
  ASSERT_EQ(second_future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(second_future.get().ok());
  const StoreStats stats = store->Stats();
  EXPECT_GT(stats.parts, 0u);
  EXPECT_GT(stats.throttled_us, 0u);
  std::vector<EventRow> all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(ScanAll(*store), SortedByUserTime(all));
}

// Close releases a group held back by the bound: nothing would ever make room.
TEST_F(StoreTest, CloseReleasesAGroupHeldBackByTheHeadBound) {
  EventStoreOptions options = Options(dir_);
  options.max_head_rows = 10;
  auto store = OpenStore(options);
  ASSERT_TRUE(AppendSync(store.get(), MakeRows(20)).ok());
  std::promise<Status> held;
  store->Append(kProject, MakeRows(5, 100), [&](Status st) { held.set_value(st); });
  ASSERT_TRUE(store->Close().ok());
  std::future<Status> held_future = held.get_future();
  ASSERT_EQ(held_future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(held_future.get().ok());
  auto reopened = OpenStore(Options(dir_));
  EXPECT_EQ(reopened->Stats().rows_total, 25u);
}

TEST_F(StoreTest, CompactionKeepsEveryRowAndOrder) {
  EventStoreOptions options = Options(dir_);
  options.compaction_trigger_parts = 2;
  auto store = OpenStore(options);
  std::vector<EventRow> all;
  for (int round = 0; round < 5; ++round) {
    std::vector<EventRow> rows = MakeRows(200, round * 1000);
    ASSERT_TRUE(AppendSync(store.get(), rows).ok());
    ASSERT_TRUE(store->FlushHeads(true).ok());
    all.insert(all.end(), rows.begin(), rows.end());
  }
  EXPECT_EQ(store->Stats().parts, 10u);
  // A scan started before compaction keeps reading the old parts.
  std::promise<void> scan_started;
  std::promise<void> compaction_done;
  std::vector<EventRow> during;
  std::thread scanner([&] {
    ScanSpec spec;
    spec.first_day = 19'000;
    spec.last_day = 20'000;
    bool first = true;
    (void)store->Scan(kProject, spec, [&](const EventBatch& batch) {
      if (first) {
        first = false;
        scan_started.set_value();
        compaction_done.get_future().wait();
      }
      for (size_t i = 0; i < batch.size; ++i) during.push_back(MakeRow(batch.user_ids[i], 0, 0, 0));
      return true;
    });
  });
  scan_started.get_future().wait();
  ASSERT_TRUE(store->CompactOnce().ok());
  ASSERT_TRUE(store->CompactOnce().ok());
  ASSERT_TRUE(store->CompactOnce().ok());  // nothing left to do
  compaction_done.set_value();
  scanner.join();
  EXPECT_EQ(during.size(), all.size());
  EXPECT_EQ(store->Stats().compactions, 2u);
  EXPECT_EQ(store->Stats().parts, 2u);
  EXPECT_EQ(ScanAll(*store), SortedByUserTime(all));
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ + "/p1")) {
    files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, 2u);  // replaced parts were deleted once the scan released them
  store.reset();
  auto reopened = OpenStore(Options(dir_));
  EXPECT_EQ(ScanAll(*reopened), SortedByUserTime(all));
}

TEST_F(StoreTest, RetentionDropsOldDays) {
  SimulatedClock clock(kDay0Ms + 10 * 86'400'000LL + 3'600'000);  // day 19733, 01:00
  EventStoreOptions options = Options(dir_);
  options.clock = &clock;
  options.retention_days = 3;
  auto store = OpenStore(options);
  std::vector<EventRow> old_rows = {MakeRow(1, kDay0Ms + 100, 1, 1)};                   // day 0
  std::vector<EventRow> edge_rows = {MakeRow(2, kDay0Ms + 7 * 86'400'000LL + 5, 1, 2)};  // day 7
  std::vector<EventRow> new_rows = {MakeRow(3, kDay0Ms + 9 * 86'400'000LL + 5, 1, 3)};   // day 9
  ASSERT_TRUE(AppendSync(store.get(), old_rows).ok());
  ASSERT_TRUE(store->FlushHeads(true).ok());
  ASSERT_TRUE(AppendSync(store.get(), edge_rows).ok());
  ASSERT_TRUE(AppendSync(store.get(), new_rows).ok());
  ASSERT_TRUE(store->ApplyRetention().ok());
  // Day 7 ends at the start of day 8 = exactly 2 days + 1 h before now: kept.
  auto range = store->DayRange(kProject);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->first, 19'723 + 7);
  EXPECT_EQ(range->second, 19'723 + 9);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/p1/d19723"));
  clock.AdvanceMs(86'400'000);
  ASSERT_TRUE(store->ApplyRetention().ok());
  EXPECT_EQ(store->DayRange(kProject)->first, 19'723 + 9);
  std::vector<EventRow> left = ScanAll(*store);
  EXPECT_EQ(left, new_rows);
  // Dropped head rows do not come back from the WAL.
  store.reset();
  auto reopened = OpenStore(options);
  EXPECT_EQ(ScanAll(*reopened), new_rows);
}

TEST_F(StoreTest, RetentionIsPerProject) {
  SimulatedClock clock(kDay0Ms + 10 * 86'400'000LL + 3'600'000);
  EventStoreOptions options = Options(dir_);
  options.clock = &clock;
  options.retention_days = 0;                    // default: keep forever
  options.retention_days_by_project[1] = 3;      // project 1 keeps three days
  auto store = OpenStore(options);
  const std::vector<EventRow> old_rows = {MakeRow(1, kDay0Ms + 100, 1, 1)};  // day 0
  for (ProjectId project : {1u, 2u, 3u}) {
    ASSERT_TRUE(AppendSync(store.get(), old_rows, project).ok());
  }
  store->SetRetentionDays(3, 5);  // project 3 from now on: five days
  ASSERT_TRUE(store->ApplyRetention().ok());
  EXPECT_FALSE(store->DayRange(1).has_value());
  EXPECT_TRUE(store->DayRange(2).has_value());
  EXPECT_FALSE(store->DayRange(3).has_value());
  // -1 keeps a project's events whatever the server default.
  store.reset();
  options.retention_days = 1;
  options.retention_days_by_project = {{2, -1}};
  auto reopened = OpenStore(options);
  ASSERT_TRUE(reopened->ApplyRetention().ok());
  EXPECT_TRUE(reopened->DayRange(2).has_value());
}

TEST_F(StoreTest, ConcurrentAppendsAreAllAcknowledgedAndPresent) {
  EventStoreOptions options = Options(dir_);
  options.background_maintenance = true;
  options.head_flush_rows = 1000;  // background flushes happen during the test
  options.compaction_trigger_parts = 3;
  auto store = OpenStore(options);
  constexpr int kThreads = 4;
  constexpr int kAppendsPerThread = 100;
  constexpr int kRowsPerAppend = 10;
  std::atomic<int> acked{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int a = 0; a < kAppendsPerThread; ++a) {
        std::vector<EventRow> rows;
        for (int r = 0; r < kRowsPerAppend; ++r) {
          int64_t track = (t * kAppendsPerThread + a) * kRowsPerAppend + r;
          rows.push_back(MakeRow(static_cast<UserId>(1 + track % 50), kDay0Ms + track, 1, track));
        }
        auto done = std::make_shared<std::promise<void>>();
        std::future<void> acknowledged = done->get_future();
        store->Append(kProject, std::move(rows), [&acked, &failed, done](Status st) {
          (st.ok() ? acked : failed).fetch_add(1);
          done->set_value();
        });
        if (a % 10 == 0) acknowledged.wait();  // mix blocking and pipelined appends
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(AppendSync(store.get(), {}).ok());  // everything before it is committed
  EXPECT_EQ(acked.load(), kThreads * kAppendsPerThread);
  EXPECT_EQ(failed.load(), 0);
  std::vector<EventRow> rows = ScanAll(*store);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kThreads * kAppendsPerThread * kRowsPerAppend));
  std::set<int64_t> tracks;
  for (size_t i = 0; i < rows.size(); ++i) {
    tracks.insert(rows[i].track_id);
    if (i > 0) {
      EXPECT_TRUE(rows[i - 1].user_id < rows[i].user_id ||
                  (rows[i - 1].user_id == rows[i].user_id && rows[i - 1].time_ms <= rows[i].time_ms));
    }
  }
  EXPECT_EQ(tracks.size(), rows.size());
  StoreStats stats = store->Stats();
  EXPECT_GT(stats.wal_syncs, 0u);
  uint64_t histogram_total = 0;
  for (uint64_t count : stats.fsync_bucket_counts) histogram_total += count;
  EXPECT_EQ(histogram_total, stats.wal_syncs);
  ASSERT_TRUE(store->Close().ok());
  ASSERT_TRUE(store->Close().ok());  // idempotent
  bool called = false;
  store->Append(kProject, {MakeRow(1, kDay0Ms, 1, 1)}, [&](Status st) {
    EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
    called = true;
  });
  EXPECT_TRUE(called);
}

TEST_F(StoreTest, FailingPreSyncHookFailsTheGroupAndLeavesNoTrace) {
  std::atomic<bool> fail{true};
  EventStoreOptions options = Options(dir_);
  options.pre_sync_hooks.push_back([&]() -> Status {
    return fail ? Status(ErrorCode::kIoError, "state log sync failed") : Status::Ok();
  });
  auto store = OpenStore(options);
  EXPECT_EQ(AppendSync(store.get(), MakeRows(5)).code(), ErrorCode::kIoError);
  fail = false;
  std::vector<EventRow> rows = MakeRows(5, 100);
  ASSERT_TRUE(AppendSync(store.get(), rows).ok());
  EXPECT_EQ(ScanAll(*store), SortedByUserTime(rows));
  const std::string crashed = CrashCopy();
  options.dir = crashed;
  options.pre_sync_hooks.clear();
  auto reopened = OpenStore(options);
  EXPECT_EQ(ScanAll(*reopened), SortedByUserTime(rows));
}

TEST_F(StoreTest, RelaxedDurabilityStillRecoversAfterClose) {
  EventStoreOptions options = Options(dir_);
  options.sync_wal = false;
  options.relaxed_sync_interval_ms = 5;
  auto store = OpenStore(options);
  std::vector<EventRow> rows = MakeRows(100);
  ASSERT_TRUE(AppendSync(store.get(), rows).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_GT(store->Stats().wal_syncs, 0u);
  const std::string crashed = CrashCopy();
  options.dir = crashed;
  auto reopened = OpenStore(options);
  EXPECT_EQ(ScanAll(*reopened), SortedByUserTime(rows));
}

// An empty directory for one part test's files (removed by the test at its end).
std::string FreshPartTestDir(const std::string& name) {
  const std::string dir = "/tmp/sextant_part_" + name + "_test_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Deterministic test values: next(bound) is below `bound` (a 64-bit LCG, high bits).
class TestRandom {
 public:
  explicit TestRandom(uint64_t seed) : seed_(seed) {}
  uint64_t operator()(uint64_t bound) {
    seed_ = seed_ * 6364136223846793005ull + 1442695040888963407ull;
    return (seed_ >> 33) % bound;
  }

 private:
  uint64_t seed_;
};

// Sorts `rows` by (user, time), as the store hands them to a writer, writes them as a part
// of day 0 at `path` and opens it.
Result<std::shared_ptr<Part>> WriteSortedPart(const std::string& path,
                                              std::vector<EventRow>* rows) {
  std::sort(rows->begin(), rows->end(), [](const EventRow& a, const EventRow& b) {
    return std::make_pair(a.user_id, a.time_ms) < std::make_pair(b.user_id, b.time_ms);
  });
  PartWriter writer(kDay0Ms, 3);
  for (const EventRow& row : *rows) writer.Add(row);
  auto written = writer.Finish(path);
  if (!written.ok()) return written.status();
  return Part::Open(path, kProject, 0, 1);
}

// String and list columns with many distinct values (a mass send's touch ids: one per row)
// and few (channel names) read back row for row, each dictionary holding every distinct string
// once, in first-seen order.
TEST(PartReadTest, StringDictionariesOfManyAndFewDistinctValuesRoundTrip) {
  const std::string dir = FreshPartTestDir("dict");
  constexpr PropertyId kTouchId = 3, kChannel = 4, kTags = 5;
  std::vector<EventRow> rows;
  TestRandom next(11);
  for (int i = 0; i < 70'000; ++i) {
    EventRow row;
    row.user_id = static_cast<UserId>(1 + next(5000));
    row.time_ms = kDay0Ms + static_cast<int64_t>(next(86'400'000));
    row.event_id = 1;
    row.receive_time_ms = row.time_ms;
    row.distinct_id = "customer-" + std::to_string(row.user_id);
    row.properties.push_back({kTouchId, Value::String("touch-" + std::to_string(i))});
    if (i % 3 != 0) {
      row.properties.push_back({kChannel, Value::String(i % 3 == 1 ? "sms" : "")});
    }
    row.properties.push_back(
        {kTags, Value::List({"kind-" + std::to_string(next(100)), "tag-" + std::to_string(i)})});
    rows.push_back(std::move(row));
  }
  auto part = WriteSortedPart(dir + "/1.part", &rows);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  ColumnRequest request;
  request.distinct = true;
  request.all_properties = true;
  PartColumns columns;
  ASSERT_TRUE((*part)->Read(request, &columns).ok());
  ASSERT_EQ(columns.rows, rows.size());
  std::set<std::string> distinct_ids(columns.distinct_dict.begin(), columns.distinct_dict.end());
  EXPECT_EQ(distinct_ids.size(), columns.distinct_dict.size()) << "a distinct id coded twice";
  EXPECT_EQ(columns.distinct_dict.front(), rows.front().distinct_id) << "first seen, first coded";
  auto column_of = [&](PropertyId property) -> const PropColumn* {
    for (size_t k = 0; k < columns.property_ids.size(); ++k) {
      if (columns.property_ids[k] == property && !columns.properties[k].empty()) {
        return &columns.properties[k][0];
      }
    }
    return nullptr;
  };
  const PropColumn* touch = column_of(kTouchId);
  const PropColumn* channel = column_of(kChannel);
  const PropColumn* tags = column_of(kTags);
  ASSERT_TRUE(touch != nullptr && channel != nullptr && tags != nullptr);
  EXPECT_EQ(touch->dict.size(), rows.size());
  EXPECT_EQ(channel->dict.size(), 2u);
  EXPECT_EQ(tags->dict.size(), 100 + rows.size());
  for (size_t row = 0; row < rows.size(); ++row) {
    ASSERT_EQ(columns.distinct_dict[columns.distinct_codes[row]], rows[row].distinct_id)
        << "row " << row;
    for (const PropertyCell& cell : rows[row].properties) {
      const PropColumn* column = cell.property_id == kTouchId  ? touch
                                 : cell.property_id == kChannel ? channel
                                                                : tags;
      ASSERT_GE(column->slot[row], 0) << "row " << row;
      ASSERT_EQ(column->Get(column->slot[row]), cell.value) << "row " << row;
    }
  }
  std::filesystem::remove_all(dir);
}

// The per-event user index lists, for every event of the part, exactly the users with rows of
// it (ascending) and their row counts, as counted from the rows themselves; an event without
// rows has empty lists; a flipped byte in an index block is reported as corruption naming the
// event, not decoded.
TEST(PartReadTest, EventUserIndexMatchesTheRows) {
  const std::string dir = FreshPartTestDir("index");
  std::vector<EventRow> rows;
  TestRandom next(7);
  for (int i = 0; i < 5000; ++i) {
    EventRow row;
    // Users up to 2^20 (three-byte deltas) and a few events much more frequent than others.
    row.user_id = static_cast<UserId>(1 + (next(4) == 0 ? next(1u << 20) : next(400)));
    row.time_ms = kDay0Ms + static_cast<int64_t>(next(86'400'000));
    row.event_id = static_cast<EventId>(1 + next(next(2) == 0 ? 3 : 40));
    row.receive_time_ms = row.time_ms;
    rows.push_back(row);
  }
  const std::string path = dir + "/1.part";
  auto part = WriteSortedPart(path, &rows);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  std::map<EventId, std::map<UserId, uint32_t>> expected;
  for (const EventRow& row : rows) ++expected[row.event_id][row.user_id];
  ASSERT_TRUE((*part)->has_event_index());
  std::vector<UserId> users;
  std::vector<uint32_t> counts;
  for (EventId event = 0; event <= 45; ++event) {
    ASSERT_TRUE((*part)->ReadEventUsers(event, &users, &counts).ok()) << event;
    const auto& want = expected[event];
    ASSERT_EQ(users.size(), want.size()) << "event " << event;
    ASSERT_EQ(counts.size(), want.size()) << "event " << event;
    size_t i = 0;
    for (const auto& [user, count] : want) {
      EXPECT_EQ(users[i], user) << "event " << event << ", entry " << i;
      EXPECT_EQ(counts[i], count) << "event " << event << ", entry " << i;
      ++i;
    }
  }
  ASSERT_GT(expected[2].size(), 100u);

  // Flip a byte at offsets all over the blocks: where it lands in event 2's index block, the
  // read fails and names the part (the block's CRC catches it); elsewhere event 2 reads intact.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto corrupt_part = [&](size_t offset) {
    std::string changed = bytes;
    changed[offset] = static_cast<char>(changed[offset] ^ 0x5a);
    const std::string corrupt_path = dir + "/2.part";
    std::ofstream(corrupt_path, std::ios::binary | std::ios::trunc) << changed;
    return Part::Open(corrupt_path, kProject, 0, 2);
  };
  size_t broken = 0;
  for (size_t offset = 12; offset < bytes.size() / 2; offset += 97) {
    auto damaged = corrupt_part(offset);
    if (!damaged.ok()) continue;
    std::vector<UserId> damaged_users;
    std::vector<uint32_t> damaged_counts;
    Status status = (*damaged)->ReadEventUsers(2, &damaged_users, &damaged_counts);
    if (!status.ok()) {
      ++broken;
      EXPECT_NE(status.ToString().find("2.part"), std::string::npos) << status.ToString();
    } else {
      // The damage hit another block: event 2's lists are intact.
      ASSERT_TRUE((*part)->ReadEventUsers(2, &users, &counts).ok());
      EXPECT_EQ(damaged_users, users) << "offset " << offset;
      EXPECT_EQ(damaged_counts, counts) << "offset " << offset;
    }
  }
  EXPECT_GT(broken, 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sextant::store

namespace sextant::store {
namespace {

class TrackIdHorizonTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_ = "/tmp/sextant_store_horizon_test_" + std::to_string(::getpid());
};

// Compaction carries each input part's dictionary codes over to the merged part: a string seen
// in several inputs is coded once, a property stored in two columns (string in some rows,
// number in others) keeps each row's own value, lists keep their elements, and every row reads
// back as appended, before and after a reopen.
TEST_F(StoreTest, CompactionMergesTheDictionariesOfItsInputs) {
  EventStoreOptions options = Options(dir_);
  options.compaction_trigger_parts = 2;
  options.compaction_quiet_ms = 1;  // the day settles at once: its parts merge into one
  options.track_id_horizon_ms = 7LL * 86'400'000;
  auto store = OpenStore(options);
  constexpr PropertyId kTouchId = 3, kMixed = 4, kTags = 5;
  std::vector<EventRow> all;
  TestRandom next(5);
  for (int round = 0; round < 4; ++round) {
    std::vector<EventRow> rows;
    for (int i = 0; i < 3000; ++i) {
      EventRow row;
      row.user_id = static_cast<UserId>(1 + next(700));
      row.time_ms = kDay0Ms + static_cast<int64_t>(next(86'400'000));
      row.event_id = 1;
      row.track_id = round * 10'000 + i + 1;
      // One row in eight arrived 30 days late: its track id is dropped when it is flushed.
      row.receive_time_ms = row.time_ms + (i % 8 == 0 ? 30LL * 86'400'000 : 1500);
      row.distinct_id = "customer-" + std::to_string(row.user_id);
      // A touch id is shared by two rows, in different rounds (sent, then delivered).
      row.properties.push_back({kTouchId, Value::String("touch-" + std::to_string(i + round / 2))});
      if (i % 5 != 1) {
        row.properties.push_back({kMixed, i % 5 == 0 ? Value::Number(static_cast<double>(i))
                                                     : Value::String(i % 2 == 0 ? "sms" : "push")});
      }
      std::vector<std::string> tags;
      for (int t = 0; t < i % 3; ++t) tags.push_back("tag-" + std::to_string((i + t + round) % 50));
      row.properties.push_back({kTags, Value::List(std::move(tags))});
      if (i % 8 == 0) row.track_id = 0;  // as the flush stores it (horizon)
      rows.push_back(std::move(row));
    }
    std::vector<EventRow> appended = rows;
    for (int i = 0; i < 3000; i += 8) appended[i].track_id = round * 10'000 + i + 1;
    ASSERT_TRUE(AppendSync(store.get(), appended).ok());
    ASSERT_TRUE(store->FlushHeads(true).ok());
    all.insert(all.end(), rows.begin(), rows.end());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  while (store->Stats().parts > 1) {
    const uint64_t before = store->Stats().compactions;
    ASSERT_TRUE(store->CompactOnce().ok());
    ASSERT_GT(store->Stats().compactions, before) << "compaction stopped above one part";
  }
  const std::vector<EventRow> expected = SortedByUserTime(all);
  EXPECT_EQ(ScanAll(*store), expected);
  // The merged part codes each distinct string once.
  std::string part_path;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ + "/p1")) {
    if (entry.is_regular_file() && entry.path().extension() == ".part") part_path = entry.path();
  }
  ASSERT_FALSE(part_path.empty());
  auto part = Part::Open(part_path, kProject, 0, 0);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  ColumnRequest request;
  request.distinct = request.all_properties = true;
  PartColumns columns;
  ASSERT_TRUE((*part)->Read(request, &columns).ok());
  std::set<std::string> distinct_ids, touch_ids, channels, tags;
  for (const EventRow& row : all) {
    distinct_ids.insert(row.distinct_id);
    for (const PropertyCell& cell : row.properties) {
      if (cell.property_id == kTouchId) touch_ids.insert(cell.value.str());
      if (cell.property_id == kMixed && cell.value.type() == ValueType::kString)
        channels.insert(cell.value.str());
      if (cell.property_id == kTags)
        tags.insert(cell.value.list().begin(), cell.value.list().end());
    }
  }
  EXPECT_EQ(columns.distinct_dict.size(), distinct_ids.size());
  for (size_t k = 0; k < columns.property_ids.size(); ++k) {
    for (const PropColumn& column : columns.properties[k]) {
      if (column.type != ValueType::kString && column.type != ValueType::kList) continue;
      const size_t expected_size = columns.property_ids[k] == kTouchId ? touch_ids.size()
                                   : columns.property_ids[k] == kMixed ? channels.size()
                                                                       : tags.size();
      EXPECT_EQ(column.dict.size(), expected_size) << "property " << columns.property_ids[k];
    }
  }
  store.reset();
  auto reopened = OpenStore(Options(dir_));
  EXPECT_EQ(ScanAll(*reopened), expected);
}

TEST_F(TrackIdHorizonTest, PartsKeepTrackIdsOnlyForRowsReceivedWithinTheHorizon) {
  std::filesystem::remove_all(dir_);
  EventStoreOptions options;
  options.dir = dir_;
  options.background_maintenance = false;
  options.track_id_horizon_ms = 7LL * 86'400'000;
  auto store = std::move(EventStore::Open(options).value());
  const int64_t now = 1'700'000'000'000;
  EventRow recent;
  recent.user_id = 1;
  recent.time_ms = now - 1000;
  recent.event_id = 1;
  recent.track_id = 111;
  recent.receive_time_ms = now + 17;
  recent.distinct_id = "a";
  EventRow history = recent;
  history.user_id = 2;
  history.time_ms = recent.time_ms;  // same day; received 30 days after it happened
  history.track_id = 222;
  history.receive_time_ms = now + 30LL * 86'400'000;
  std::promise<Status> appended;
  store->Append(1, {recent, history}, [&](Status st) { appended.set_value(st); });
  ASSERT_TRUE(appended.get_future().get().ok());
  ASSERT_TRUE(store->FlushHeads(/*force=*/true).ok());
  ScanSpec spec;
  spec.first_day = spec.last_day = TimeZone().DayOf(recent.time_ms);
  spec.with_track_id = spec.with_receive_time = true;
  std::vector<std::pair<int64_t, int64_t>> seen;  // (track id, receive time)
  ASSERT_TRUE(store->Scan(1, spec, [&](const EventBatch& batch) {
    for (size_t row = 0; row < batch.size; ++row)
      seen.emplace_back(batch.track_ids[row], batch.receive_times_ms[row]);
    return true;
  }).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(int64_t{111}, recent.receive_time_ms));
  EXPECT_EQ(seen[1], std::make_pair(int64_t{0}, history.receive_time_ms));  // receive time exact
  ASSERT_TRUE(store->Close().ok());
}

// Every byte of every regular file under `dir`, concatenated (to look for a marker string in
// the WAL and the parts' uncompressed columns).
std::string AllBytesUnder(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

TEST_F(StoreTest, EraseUsersRemovesTheirRowsFromHeadsPartsAndTheWal) {
  auto store = OpenStore(Options(dir_));
  ASSERT_NE(store, nullptr);
  // Users 1..6 over two days; user 3's rows are in a part (day 0) and in a head (day 1),
  // user 5's only in a part. Distinct ids are long and unique so the WAL holds them verbatim.
  auto row_of = [](UserId user, int64_t time_ms, int64_t track) {
    EventRow row = MakeRow(user, time_ms, 1, track);
    row.distinct_id = "erase-marker-user-" + std::to_string(user) + "-xyzzy";
    return row;
  };
  std::vector<EventRow> first;
  for (int64_t i = 0; i < 60; ++i) first.push_back(row_of(1 + i % 6, kDay0Ms + i * 1000, i + 1));
  ASSERT_TRUE(AppendSync(store.get(), first).ok());
  ASSERT_TRUE(store->FlushHeads(true).ok());
  std::vector<EventRow> second;
  for (int64_t i = 0; i < 30; ++i)
    second.push_back(row_of(i % 2 ? 3 : 2, kDay0Ms + 86'400'000 + i * 1000, 100 + i));
  ASSERT_TRUE(AppendSync(store.get(), second).ok());
  ASSERT_NE(AllBytesUnder(dir_ + "/wal").find("erase-marker-user-3-xyzzy"), std::string::npos);

  auto erased = store->EraseUsers(kProject, {3, 5});
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(erased->rows_removed, 10u + 10u + 15u);  // user 3: 10 + 15, user 5: 10
  EXPECT_EQ(erased->days_rewritten, 1u);             // day 1's head was flushed without them

  std::vector<EventRow> rows = ScanAll(*store);
  EXPECT_EQ(rows.size(), 90u - 35u);
  for (const EventRow& row : rows) EXPECT_TRUE(row.user_id != 3 && row.user_id != 5);
  // No live file (WAL segments, parts, manifest) names them any more.
  const std::string files = AllBytesUnder(dir_);
  EXPECT_EQ(files.find("erase-marker-user-3-xyzzy"), std::string::npos);
  EXPECT_EQ(files.find("erase-marker-user-5-xyzzy"), std::string::npos);

  // Rows of an erased user arriving later (resolved before the erasure) never become visible,
  // neither from the head nor after a flush.
  ASSERT_TRUE(AppendSync(store.get(), {row_of(3, kDay0Ms + 5000, 999), row_of(4, kDay0Ms + 6000, 998)}).ok());
  EXPECT_EQ(ScanAll(*store).size(), 90u - 35u + 1u);
  ASSERT_TRUE(store->Close().ok());

  // After a reopen with the erasure recorded, WAL replay skips them too.
  EventStoreOptions reopen = Options(dir_);
  reopen.erased_users[kProject] = {3, 5};
  store = OpenStore(reopen);
  ASSERT_NE(store, nullptr);
  rows = ScanAll(*store);
  EXPECT_EQ(rows.size(), 90u - 35u + 1u);
  for (const EventRow& row : rows) EXPECT_TRUE(row.user_id != 3 && row.user_id != 5);
  ASSERT_TRUE(store->Close().ok());
}

TEST_F(StoreTest, EraseUsersLeavesNoEmptyPartWhenADayHeldOnlyThem) {
  auto store = OpenStore(Options(dir_));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendSync(store.get(), {MakeRow(7, kDay0Ms, 1, 1), MakeRow(7, kDay0Ms + 1, 1, 2)}).ok());
  ASSERT_TRUE(store->FlushHeads(true).ok());
  ASSERT_EQ(store->Stats().parts, 1u);
  auto erased = store->EraseUsers(kProject, {7});
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(erased->rows_removed, 2u);
  EXPECT_EQ(store->Stats().parts, 0u);
  EXPECT_TRUE(ScanAll(*store).empty());
  ASSERT_TRUE(store->Close().ok());
  store = OpenStore(Options(dir_));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(ScanAll(*store).empty());
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace sextant::store

namespace sextant::store {
namespace {

// The pieces of ReadCompact (user runs, time offsets, events) read alone equal ReadCompact's
// columns, and ReadTimeOffsetsOfRows — which decodes a user run only up to its last listed row
// and skips the rest of the time column's varints a word at a time — gives the same times for
// sparse, dense and edge subsets of rows, with time deltas of one to four varint bytes.
TEST(PartReadTest, TimeOffsetsOfSomeRowsEqualTheFullColumn) {
  const std::string dir = FreshPartTestDir("read");
  std::vector<EventRow> rows;
  TestRandom next(99);
  for (int i = 0; i < 3000; ++i) {
    EventRow row;
    row.user_id = static_cast<UserId>(1 + next(300));
    // Mostly close together (one- and two-byte deltas), some anywhere in the day.
    row.time_ms = kDay0Ms + static_cast<int64_t>(next(3) == 0 ? next(86'400'000) : next(50'000));
    row.event_id = static_cast<EventId>(1 + next(20));
    row.receive_time_ms = row.time_ms;
    rows.push_back(row);
  }
  auto part = WriteSortedPart(dir + "/1.part", &rows);
  ASSERT_TRUE(part.ok()) << part.status().ToString();

  CompactColumns compact;
  ASSERT_TRUE((*part)->ReadCompact(&compact).ok());
  std::vector<UserId> run_user;
  std::vector<uint32_t> run_begin;
  ASSERT_TRUE((*part)->ReadUserRuns(&run_user, &run_begin).ok());
  EXPECT_EQ(run_user, compact.run_user);
  EXPECT_EQ(run_begin, compact.run_begin);
  std::vector<uint32_t> all_times;
  ASSERT_TRUE((*part)->ReadTimeOffsets(run_begin, &all_times).ok());
  EXPECT_EQ(all_times, compact.time_offset_ms);
  std::vector<EventId> events;
  ASSERT_TRUE((*part)->ReadEvents(&events).ok());
  EXPECT_EQ(events, compact.event);
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(all_times[i], static_cast<uint32_t>(rows[i].time_ms - kDay0Ms)) << "row " << i;
  }

  for (uint32_t stride : {1u, 2u, 7u, 50u, 2999u}) {
    std::vector<uint32_t> subset;
    for (uint32_t row = stride / 2; row < rows.size(); row += stride) subset.push_back(row);
    subset.push_back(static_cast<uint32_t>(rows.size() - 1));
    subset.erase(std::unique(subset.begin(), subset.end()), subset.end());
    std::vector<uint32_t> times(subset.size());
    ASSERT_TRUE((*part)->ReadTimeOffsetsOfRows(run_begin, subset, times.data()).ok());
    for (size_t i = 0; i < subset.size(); ++i) {
      ASSERT_EQ(times[i], all_times[subset[i]]) << "stride " << stride << ", row " << subset[i];
    }
  }
  // The first row of each run only (every run skipped after one varint).
  std::vector<uint32_t> firsts(run_begin.begin(), run_begin.end() - 1);
  std::vector<uint32_t> first_times(firsts.size());
  ASSERT_TRUE((*part)->ReadTimeOffsetsOfRows(run_begin, firsts, first_times.data()).ok());
  for (size_t i = 0; i < firsts.size(); ++i) ASSERT_EQ(first_times[i], all_times[firsts[i]]);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sextant::store
