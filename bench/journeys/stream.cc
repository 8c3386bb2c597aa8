// Event stream for bench/journey_bench.sh (part 1, "trigger evaluation with 1,000 live
// journeys"): generates deterministic `track` events and pushes them as NDJSON batches to
// `POST /api/v1/projects/{p}/records` over N keep-alive connections (one request in flight each).
//
//   stream --url http://127.0.0.1:PORT/api/v1/projects/P/records --token T
//          [--events 2000000] [--users 1000000] [--journey-names 200] [--other-names 200]
//          [--journey-share 0.5] [--seed 42] [--batch 1000] [--connections 4]
//          [--max-seconds 120] [--rate 0]
//
// Event model (bench/journeys/run.py builds the journeys' `where` conditions on it):
//   event        with probability --journey-share one of ev000 .. ev<J-1> (the names journeys
//                enter on), otherwise one of ev<J> .. ev<J+O-1> (names no journey uses);
//                uniform within each group
//   distinct_id  "u<k>", k uniform in [1, users]
//   properties   amount  integer, uniform in [0, 100000)
//                fund_type "F0" .. "F7", uniform
//                channel   "app" | "web" | "sms" | "wechat", uniform
//   No `time` (the server's now) and no `_track_id` (nothing is deduplicated, docs/ingest.md).
//
// All request bodies are encoded before the clock starts; during the run a connection thread
// only sends a body and reads the answer. Bounded: each batch is sent at most once and the run
// stops after --max-seconds. A failed request stops the run (no retry: it could store a batch
// twice). Prints one JSON line: events, accepted, seconds, events_per_s, ack p50/p99/max ms.
//
// --rate R (events/s, 0 = as fast as the server answers): batch i is not sent before
// start + i × batch / R, so the server sees a steady offered load instead of a saturating one
// (latency at a given throughput, as wrk2 measures it). A batch that is due while every
// connection is still waiting for an answer goes late; `late_batches` counts those more than
// 10 ms behind schedule, so a rate the server could not hold shows in the output.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "stream: %s\n", message.c_str());
  std::exit(2);
}

struct Flags {
  std::string url, token;
  uint64_t events = 2'000'000;
  uint64_t users = 1'000'000;
  int journey_names = 200;
  int other_names = 200;
  double journey_share = 0.5;
  uint64_t seed = 42;
  size_t batch = 1000;
  int connections = 4;
  double max_seconds = 120;
  double rate = 0;  // events/s; 0 = unpaced
};

Flags Parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + flag);
      return argv[++i];
    };
    if (flag == "--url") f.url = value();
    else if (flag == "--token") f.token = value();
    else if (flag == "--events") f.events = std::stoull(value());
    else if (flag == "--users") f.users = std::stoull(value());
    else if (flag == "--journey-names") f.journey_names = std::stoi(value());
    else if (flag == "--other-names") f.other_names = std::stoi(value());
    else if (flag == "--journey-share") f.journey_share = std::stod(value());
    else if (flag == "--seed") f.seed = std::stoull(value());
    else if (flag == "--batch") f.batch = std::stoul(value());
    else if (flag == "--connections") f.connections = std::stoi(value());
    else if (flag == "--max-seconds") f.max_seconds = std::stod(value());
    else if (flag == "--rate") f.rate = std::stod(value());
    else Die("unknown flag " + flag);
  }
  if (f.url.rfind("http://", 0) != 0) Die("--url http://127.0.0.1:PORT/api/v1/projects/P/records");
  if (f.batch == 0 || f.connections < 1 || f.connections > 256 || f.users == 0 ||
      f.journey_names < 0 || f.other_names < 0 || f.journey_names + f.other_names == 0 ||
      f.max_seconds <= 0 || f.events > 200'000'000 || f.rate < 0)
    Die("bad flags");
  return f;
}

// The name of event number `index` in the model: ev000 ... (three digits at least).
std::string EventName(int index) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "ev%03d", index);
  return buf;
}

std::vector<std::string> EncodeBatches(const Flags& f) {
  static const char* kFundTypes[] = {"F0", "F1", "F2", "F3", "F4", "F5", "F6", "F7"};
  static const char* kChannels[] = {"app", "web", "sms", "wechat"};
  std::mt19937_64 rng(f.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<std::string> names;
  for (int n = 0; n < f.journey_names + f.other_names; ++n) names.push_back(EventName(n));
  std::vector<std::string> batches;
  batches.reserve(f.events / f.batch + 1);
  std::string body;
  size_t in_batch = 0;
  for (uint64_t e = 0; e < f.events; ++e) {
    int name;
    if (f.other_names == 0 || (f.journey_names > 0 && unit(rng) < f.journey_share))
      name = static_cast<int>(rng() % f.journey_names);
    else
      name = f.journey_names + static_cast<int>(rng() % f.other_names);
    const uint64_t user = 1 + rng() % f.users;
    const uint64_t amount = rng() % 100000;
    const char* fund = kFundTypes[rng() % 8];
    const char* channel = kChannels[rng() % 4];
    body += "{\"type\":\"track\",\"event\":\"";
    body += names[name];
    body += "\",\"distinct_id\":\"u";
    body += std::to_string(user);
    body += "\",\"properties\":{\"amount\":";
    body += std::to_string(amount);
    body += ",\"fund_type\":\"";
    body += fund;
    body += "\",\"channel\":\"";
    body += channel;
    body += "\"}}\n";
    if (++in_batch == f.batch) {
      batches.push_back(std::move(body));
      body.clear();
      in_batch = 0;
    }
  }
  if (in_batch) batches.push_back(std::move(body));
  return batches;
}

uint64_t CountLines(const std::string& body) {
  return static_cast<uint64_t>(std::count(body.begin(), body.end(), '\n'));
}

uint64_t NumberAfter(const std::string& body, const char* key, bool* ok) {
  size_t p = body.find(key);
  if (p == std::string::npos) {
    *ok = false;
    return 0;
  }
  p += std::strlen(key);
  while (p < body.size() && (body[p] == ' ' || body[p] == ':')) ++p;
  return std::strtoull(body.c_str() + p, nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = Parse(argc, argv);
  const std::string rest = f.url.substr(7);
  const size_t slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash), target = rest.substr(slash);
  const size_t colon = hostport.rfind(':');
  const std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host != "127.0.0.1" && host != "localhost") Die("only loopback targets");

  const auto encode_start = std::chrono::steady_clock::now();
  const std::vector<std::string> batches = EncodeBatches(f);
  const double encode_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - encode_start).count();
  size_t body_bytes = 0;
  for (const auto& b : batches) body_bytes += b.size();

  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0}, accepted{0}, requests{0}, late_batches{0};
  std::mutex mu;
  std::string error;
  std::vector<std::vector<float>> latencies(f.connections);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(f.max_seconds));
  std::vector<std::thread> workers;
  for (int c = 0; c < f.connections; ++c) {
    workers.emplace_back([&, c] {
      try {
        net::io_context ioc;
        tcp::resolver resolver(ioc);
        beast::tcp_stream stream(ioc);
        stream.connect(resolver.resolve(host, port));
        stream.socket().set_option(tcp::no_delay(true));
        beast::flat_buffer buffer;
        const std::string auth = "Bearer " + f.token;
        while (!stop.load()) {
          const size_t index = next.fetch_add(1);
          if (index >= batches.size()) break;
          if (std::chrono::steady_clock::now() >= deadline) break;
          if (f.rate > 0) {
            const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                         std::chrono::duration<double>(
                                             static_cast<double>(index * f.batch) / f.rate));
            const auto now = std::chrono::steady_clock::now();
            if (now < due) std::this_thread::sleep_until(due);
            else if (now - due > std::chrono::milliseconds(10)) late_batches++;
          }
          const std::string& body = batches[index];
          http::request<http::span_body<const char>> req{http::verb::post, target, 11};
          req.set(http::field::host, host);
          req.set(http::field::content_type, "application/x-ndjson");
          req.set(http::field::authorization, auth);
          req.keep_alive(true);
          req.body() = http::span_body<const char>::value_type(body.data(), body.size());
          req.prepare_payload();
          const auto t0 = std::chrono::steady_clock::now();
          http::write(stream, req);
          http::response<http::string_body> res;
          http::read(stream, buffer, res);
          latencies[c].push_back(static_cast<float>(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()));
          requests++;
          if (res.result_int() != 200)
            throw std::runtime_error("HTTP " + std::to_string(res.result_int()) + ": " +
                                     res.body().substr(0, 300));
          bool ok = true;
          const uint64_t got = NumberAfter(res.body(), "\"accepted\"", &ok);
          if (!ok) throw std::runtime_error("unexpected answer: " + res.body().substr(0, 300));
          accepted += got;
          sent += CountLines(body);
          if (!res.keep_alive()) throw std::runtime_error("server closed the connection");
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        if (error.empty()) error = e.what();
        stop = true;
      }
    });
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<float> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) -> double {
    if (all.empty()) return 0;
    size_t k = static_cast<size_t>(std::ceil(p / 100.0 * all.size()));
    return all[std::min(all.size() - 1, k == 0 ? 0 : k - 1)];
  };
  std::printf("{\"events\":%llu,\"sent\":%llu,\"accepted\":%llu,\"requests\":%llu,\"seconds\":%.3f,"
              "\"events_per_s\":%.0f,\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,\"ack_max_ms\":%.3f,"
              "\"batch\":%zu,\"connections\":%d,\"body_bytes\":%zu,\"encode_seconds\":%.2f,"
              "\"rate\":%.0f,\"late_batches\":%llu,\"timed_out\":%s,\"error\":\"%s\"}\n",
              static_cast<unsigned long long>(f.events), static_cast<unsigned long long>(sent.load()),
              static_cast<unsigned long long>(accepted.load()),
              static_cast<unsigned long long>(requests.load()), seconds,
              seconds > 0 ? accepted.load() / seconds : 0.0, pct(50), pct(99),
              all.empty() ? 0.0 : all.back(), f.batch, f.connections, body_bytes, encode_seconds,
              f.rate, static_cast<unsigned long long>(late_batches.load()),
              sent.load() < f.events && error.empty() ? "true" : "false",
              error.empty() ? "" : "see stderr");
  if (!error.empty()) {
    std::fprintf(stderr, "stream: stopped: %s\n", error.c_str());
    return 1;
  }
  return 0;
}
