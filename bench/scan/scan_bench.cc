// scan_bench: measures the event store's scan interface the way the analysis engine will use
// it, on the data directory of a stopped `sextant serve`:
//   1. a full streaming pass over (user, time, event) of every day, in (user, time) order,
//      counting rows and distinct users (a user change in the sorted stream: no hashing);
//   2. a two-step funnel (step 2 within --window-seconds after step 1, per user) computed in
//      the same single pass, with the event filter pushed into the scan.
// Prints one JSON line. Used by bench/scan_bench.sh, which runs the same queries on ClickHouse.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "state/kv_store.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"
#include "store/event_store.h"

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, project_name = "default", step1, step2;
  int64_t window_seconds = 3600;
  int repeat = 3;
  CLI::App app{"scan_bench: event store scan and a two-step funnel over a stopped data dir"};
  app.add_option("--data-dir", data_dir, "data directory of a stopped sextant serve")->required();
  app.add_option("--project", project_name)->capture_default_str();
  app.add_option("--step1", step1, "event name of funnel step 1")->required();
  app.add_option("--step2", step2, "event name of funnel step 2")->required();
  app.add_option("--window-seconds", window_seconds)->capture_default_str();
  app.add_option("--repeat", repeat, "runs of each query; the fastest is reported")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  namespace fs = std::filesystem;
  auto kv = sextant::state::KvStore::Open((fs::path(data_dir) / "state").string());
  if (!kv.ok()) {
    std::cerr << "scan_bench: " << kv.status().ToString() << "\n";
    return 1;
  }
  auto projects = sextant::state::ProjectRegistry::Open(kv->get());
  auto schemas = projects.ok() ? sextant::state::SchemaRegistry::Open(kv->get(), **projects)
                               : sextant::Result<std::unique_ptr<sextant::state::SchemaRegistry>>(projects.status());
  if (!schemas.ok()) {
    std::cerr << "scan_bench: " << schemas.status().ToString() << "\n";
    return 1;
  }
  auto project = (*projects)->Find(project_name);
  if (!project) {
    std::cerr << "scan_bench: no project " << project_name << "\n";
    return 1;
  }
  sextant::state::ProjectSchema* schema = (*schemas)->ForProject(*project);
  const uint32_t step1_id = schema->FindEvent(step1), step2_id = schema->FindEvent(step2);
  if (step1_id == 0 || step2_id == 0) {
    std::cerr << "scan_bench: unknown event " << (step1_id == 0 ? step1 : step2) << "\n";
    return 1;
  }

  sextant::store::EventStoreOptions options;
  options.dir = (fs::path(data_dir) / "events").string();
  options.background_maintenance = false;
  options.time_zone = project->time_zone;
  auto store = sextant::store::EventStore::Open(options);
  if (!store.ok()) {
    std::cerr << "scan_bench: " << store.status().ToString() << "\n";
    return 1;
  }
  auto range = (*store)->DayRange(project->id);
  if (!range) {
    std::cerr << "scan_bench: no events\n";
    return 1;
  }
  sextant::store::StoreStats stats = (*store)->Stats();

  // 1. Full pass.
  uint64_t rows = 0, users = 0;
  double full_seconds = 1e9;
  for (int run = 0; run < repeat; ++run) {
    sextant::store::ScanSpec spec;
    spec.first_day = range->first;
    spec.last_day = range->second;
    uint64_t run_rows = 0, run_users = 0;
    uint32_t last_user = 0;
    auto start = std::chrono::steady_clock::now();
    sextant::Status scan = (*store)->Scan(project->id, spec, [&](const sextant::store::EventBatch& batch) {
      for (size_t i = 0; i < batch.size; ++i) {
        run_users += batch.user_ids[i] != last_user;
        last_user = batch.user_ids[i];
      }
      run_rows += batch.size;
      return true;
    });
    full_seconds = std::min(full_seconds, SecondsSince(start));
    if (!scan.ok()) {
      std::cerr << "scan_bench: " << scan.ToString() << "\n";
      return 1;
    }
    rows = run_rows;
    users = run_users;
  }

  // 2. Two-step funnel: a user converts when a step-2 event follows a step-1 event within the
  //    window. The stream is in (user, time) order, so the state is two integers.
  uint64_t entered = 0, converted = 0, funnel_rows = 0;
  double funnel_seconds = 1e9;
  const int64_t window_ms = window_seconds * 1000;
  for (int run = 0; run < repeat; ++run) {
    sextant::store::ScanSpec spec;
    spec.first_day = range->first;
    spec.last_day = range->second;
    spec.event_ids = {step1_id, step2_id};
    uint64_t run_entered = 0, run_converted = 0, run_rows = 0;
    uint32_t user = 0;
    int64_t last_step1 = INT64_MIN;
    bool user_entered = false, user_converted = false;
    auto flush_user = [&] {
      run_entered += user_entered;
      run_converted += user_converted;
    };
    auto start = std::chrono::steady_clock::now();
    sextant::Status scan = (*store)->Scan(project->id, spec, [&](const sextant::store::EventBatch& batch) {
      for (size_t i = 0; i < batch.size; ++i) {
        if (batch.user_ids[i] != user) {
          flush_user();
          user = batch.user_ids[i];
          last_step1 = INT64_MIN;
          user_entered = user_converted = false;
        }
        const int64_t t = batch.times_ms[i];
        if (batch.event_ids[i] == step1_id) {
          last_step1 = t;
          user_entered = true;
        } else if (last_step1 != INT64_MIN && t - last_step1 <= window_ms) {
          user_converted = true;
        }
      }
      run_rows += batch.size;
      return true;
    });
    flush_user();
    funnel_seconds = std::min(funnel_seconds, SecondsSince(start));
    if (!scan.ok()) {
      std::cerr << "scan_bench: " << scan.ToString() << "\n";
      return 1;
    }
    entered = run_entered;
    converted = run_converted;
    funnel_rows = run_rows;
  }
  (void)(*store)->Close();

  std::printf(
      "{\"rows\":%llu,\"users\":%llu,\"days\":%d,\"parts\":%llu,\"full_seconds\":%.4f,"
      "\"full_rows_per_s\":%.0f,\"funnel_rows\":%llu,\"funnel_seconds\":%.4f,"
      "\"funnel_entered\":%llu,\"funnel_converted\":%llu}\n",
      static_cast<unsigned long long>(rows), static_cast<unsigned long long>(users),
      range->second - range->first + 1, static_cast<unsigned long long>(stats.parts), full_seconds,
      rows / std::max(full_seconds, 1e-9), static_cast<unsigned long long>(funnel_rows),
      funnel_seconds, static_cast<unsigned long long>(entered),
      static_cast<unsigned long long>(converted));
  return 0;
}
