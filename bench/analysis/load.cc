// Sextant loader for bench/analysis_bench.sh and bench/segment_bench.sh: streams a generator TSV
// (bench/analysis/gen.cc, bench/segments/gen.cc) into `POST /api/v1/projects/{p}/records` as
// NDJSON records, over N keep-alive connections with one request in flight each. Memory stays
// bounded (a small queue of encoded bodies).
//
//   load --url http://127.0.0.1:PORT/api/v1/projects/default/records --token T
//                --input events.tsv|profiles.tsv [--kind events|profiles] [--batch 2000]
//                [--connections 8]
//
// events:   {"type":"track","event":E,"distinct_id":"u<id>","time":<ms>,"time_free":true,
//            "properties":{"amount":A,"fund_type":F}}   (properties only when present)
//   No `_track_id`: such records are never deduplicated (docs/ingest.md), so every line is
//   stored. `time_free` because the data set may lie outside the real-time acceptance window.
// profiles: {"type":"profile_set","distinct_id":"u<id>","properties":{"aum":A,
//            "risk_level":"C3","city":"Hangzhou","age":41,"is_vip":false}}
// A failed request is not retried (a retry could store a batch twice); the loader stops instead.
// Prints one JSON line: lines, accepted, duplicates, rejected, seconds, events_per_s.
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "load: %s\n", message.c_str());
  std::exit(2);
}

struct Batch {
  std::string body;
  uint64_t lines = 0;
};

class Queue {  // bounded MPMC queue of encoded bodies
 public:
  explicit Queue(size_t cap) : cap_(cap) {}
  void Push(Batch b) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < cap_ || stop_; });
    q_.push_back(std::move(b));
    not_empty_.notify_one();
  }
  std::optional<Batch> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_ || stop_; });
    if (stop_ || q_.empty()) return std::nullopt;
    Batch b = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return b;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  bool Stopped() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> q_;
  size_t cap_;
  bool closed_ = false, stop_ = false;
};

struct Totals {
  std::atomic<uint64_t> sent_lines{0}, accepted{0}, duplicates{0}, rejected{0}, requests{0};
  std::mutex mu;
  std::string error;  // first fatal error
};

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

// Count "index" keys inside "rejected":[...] (one per refused record).
uint64_t CountRejected(const std::string& body, std::string* first) {
  size_t p = body.find("\"rejected\"");
  if (p == std::string::npos) return 0;
  uint64_t n = 0;
  size_t q = p;
  while ((q = body.find("\"index\"", q + 1)) != std::string::npos) ++n;
  if (n && first->empty()) first->assign(body.substr(p, 400));
  return n;
}

void Worker(const std::string& host, const std::string& port, const std::string& target,
            const std::string& token, Queue& queue, Totals& totals) {
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(host, port));
    stream.socket().set_option(tcp::no_delay(true));
    beast::flat_buffer buffer;
    const std::string auth = "Bearer " + token;
    while (auto batch = queue.Pop()) {
      http::request<http::span_body<const char>> req{http::verb::post, target, 11};
      req.set(http::field::host, host);
      req.set(http::field::content_type, "application/x-ndjson");
      req.set(http::field::authorization, auth);
      req.keep_alive(true);
      req.body() = http::span_body<const char>::value_type(batch->body.data(), batch->body.size());
      req.prepare_payload();
      http::write(stream, req);
      http::response<http::string_body> res;
      http::read(stream, buffer, res);
      totals.requests++;
      if (res.result_int() != 200) {
        throw std::runtime_error("HTTP " + std::to_string(res.result_int()) + ": " +
                                 res.body().substr(0, 400));
      }
      bool ok = true;
      uint64_t accepted = NumberAfter(res.body(), "\"accepted\"", &ok);
      uint64_t duplicates = NumberAfter(res.body(), "\"duplicates\"", &ok);
      if (!ok) throw std::runtime_error("unexpected answer: " + res.body().substr(0, 400));
      std::string first;
      uint64_t rejected = CountRejected(res.body(), &first);
      totals.accepted += accepted;
      totals.duplicates += duplicates;
      totals.rejected += rejected;
      totals.sent_lines += batch->lines;
      if (rejected) {
        std::lock_guard<std::mutex> lock(totals.mu);
        static bool printed = false;
        if (!printed) std::fprintf(stderr, "load: rejected records, e.g. %s\n", first.c_str());
        printed = true;
      }
      if (!res.keep_alive()) throw std::runtime_error("server closed the connection");
    }
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(totals.mu);
    if (totals.error.empty()) totals.error = e.what();
    queue.Stop();
  }
}

// Appends the record for one TSV line; false for a malformed line.
bool Encode(std::string_view line, std::string* out) {
  std::string_view f[5];
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= line.size() && n < 5; ++i) {
    if (i == line.size() || line[i] == '\t') {
      f[n++] = line.substr(start, i - start);
      start = i + 1;
    }
  }
  if (n != 5 || f[0].empty() || f[1].empty() || f[2].empty()) return false;
  out->append("{\"type\":\"track\",\"event\":\"").append(f[1]);
  out->append("\",\"distinct_id\":\"u").append(f[0]);
  out->append("\",\"time\":").append(f[2]).append("000,\"time_free\":true");
  bool amount = !(f[3].empty() || f[3] == "0");
  if (amount || !f[4].empty()) {
    out->append(",\"properties\":{");
    if (amount) out->append("\"amount\":").append(f[3]);
    if (!f[4].empty()) out->append(amount ? ",\"fund_type\":\"" : "\"fund_type\":\"").append(f[4]).append("\"");
    out->push_back('}');
  }
  out->append("}\n");
  return true;
}

// Profile line: user_id, aum, risk_level, city, age, is_vip (0/1).
bool EncodeProfile(std::string_view line, std::string* out) {
  std::string_view f[6];
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= line.size() && n < 6; ++i) {
    if (i == line.size() || line[i] == '\t') {
      f[n++] = line.substr(start, i - start);
      start = i + 1;
    }
  }
  if (n != 6) return false;
  for (auto& v : f)
    if (v.empty()) return false;
  out->append("{\"type\":\"profile_set\",\"distinct_id\":\"u").append(f[0]);
  out->append("\",\"properties\":{\"aum\":").append(f[1]);
  out->append(",\"risk_level\":\"").append(f[2]);
  out->append("\",\"city\":\"").append(f[3]);
  out->append("\",\"age\":").append(f[4]);
  out->append(",\"is_vip\":").append(f[5] == "1" ? "true" : "false");
  out->append("}}\n");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, token, input;
  size_t batch_size = 2000;
  int connections = 8;
  std::string kind = "events";
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + flag);
      return argv[++i];
    };
    if (flag == "--url") url = value();
    else if (flag == "--token") token = value();
    else if (flag == "--input") input = value();
    else if (flag == "--batch") batch_size = std::stoul(value());
    else if (flag == "--connections") connections = std::stoi(value());
    else if (flag == "--kind") kind = value();
    else Die("unknown flag " + flag);
  }
  if (url.rfind("http://", 0) != 0 || input.empty() || batch_size == 0 || connections <= 0 ||
      (kind != "events" && kind != "profiles"))
    Die("usage: load --url http://127.0.0.1:PORT/api/v1/projects/P/records --token T "
        "--input F [--kind events|profiles] [--batch 2000] [--connections 8]");
  std::string rest = url.substr(7);
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash), target = rest.substr(slash);
  size_t colon = hostport.rfind(':');
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host != "127.0.0.1" && host != "localhost") Die("only loopback targets");

  FILE* in = std::fopen(input.c_str(), "rb");
  if (!in) Die("cannot open " + input);
  Queue queue(static_cast<size_t>(connections) * 2);
  Totals totals;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int c = 0; c < connections; ++c)
    workers.emplace_back(Worker, host, port, target, token, std::ref(queue), std::ref(totals));

  std::atomic<bool> done{false};
  std::thread progress([&] {
    auto last = std::chrono::steady_clock::now();
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::seconds(15)) continue;
      last = now;
      double s = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "load: %llu stored after %.0f s (%.0f/s)\n",
                   static_cast<unsigned long long>(totals.accepted.load()), s,
                   totals.accepted.load() / s);
    }
  });

  const bool profiles = kind == "profiles";
  uint64_t lines = 0, bad = 0;
  std::vector<char> buf(1 << 24);
  std::string carry;
  Batch batch;
  batch.body.reserve(batch_size * 160);
  size_t got;
  auto take_line = [&](std::string_view line) {
    if (line.empty()) return;
    ++lines;
    if (!(profiles ? EncodeProfile(line, &batch.body) : Encode(line, &batch.body))) {
      ++bad;
      return;
    }
    if (++batch.lines == batch_size) {
      queue.Push(std::move(batch));
      batch = Batch();
      batch.body.reserve(batch_size * 160);
    }
  };
  while (!queue.Stopped() && (got = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
    std::string_view chunk(buf.data(), got);
    size_t pos = 0;
    if (!carry.empty()) {
      size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        carry.append(chunk);
        continue;
      }
      carry.append(chunk.substr(0, nl));
      take_line(carry);
      carry.clear();
      pos = nl + 1;
    }
    for (;;) {
      size_t nl = chunk.find('\n', pos);
      if (nl == std::string_view::npos) break;
      take_line(chunk.substr(pos, nl - pos));
      pos = nl + 1;
    }
    carry.assign(chunk.substr(pos));
  }
  if (!carry.empty()) take_line(carry);
  if (batch.lines) queue.Push(std::move(batch));
  std::fclose(in);
  queue.Close();
  for (auto& w : workers) w.join();
  done = true;
  progress.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"lines\":%llu,\"malformed\":%llu,\"sent\":%llu,\"accepted\":%llu,\"duplicates\":%llu,"
              "\"rejected\":%llu,\"requests\":%llu,\"seconds\":%.3f,\"events_per_s\":%.0f,"
              "\"batch\":%zu,\"connections\":%d}\n",
              static_cast<unsigned long long>(lines), static_cast<unsigned long long>(bad),
              static_cast<unsigned long long>(totals.sent_lines.load()),
              static_cast<unsigned long long>(totals.accepted.load()),
              static_cast<unsigned long long>(totals.duplicates.load()),
              static_cast<unsigned long long>(totals.rejected.load()),
              static_cast<unsigned long long>(totals.requests.load()), seconds,
              seconds > 0 ? totals.accepted.load() / seconds : 0.0, batch_size, connections);
  if (!totals.error.empty()) {
    std::fprintf(stderr, "load: stopped: %s\n", totals.error.c_str());
    return 1;
  }
  return (bad || totals.rejected || totals.accepted != lines) ? 1 : 0;
}
