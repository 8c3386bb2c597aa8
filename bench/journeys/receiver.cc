// Loopback webhook receiver for bench/journey_bench.sh (part 3, "send to a segment"): accepts
// POSTs on 127.0.0.1, answers 200 `{"id":"<n>"}` at once, and counts them. Sextant's channel
// client opens one connection per message (`Connection: close`, src/channel/http_client.h), so
// the receiver must be cheap per connection as well as per request; keep-alive is supported.
//
//   receiver serve [--port 0] [--threads 1]
//       Prints "receiver: listening on http://127.0.0.1:PORT" and serves until SIGTERM/SIGINT.
//       GET /stats → {"requests":N,"bytes":B,"first_ms":..,"last_ms":..,
//                     "per_second":[[unix_s,count],...]}   (wall-clock ms; per_second = last 3600 s)
//       Any other request (POST) is counted and answered 200.
//   receiver selftest [--seconds 5] [--clients 2] [--keepalive 0|1] [--threads 1]
//       Starts the server in-process and drives it from --clients threads, one connection per
//       request (like Sextant) or keep-alive; prints one JSON line with requests/s. Measures the
//       receiver alone so that part 3 knows it is not the bottleneck.
//
// Bounded: the self-test stops after --seconds; the server holds no per-request state beyond
// the counters.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "receiver: %s\n", message.c_str());
  std::exit(2);
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Request counters; a ring of per-second counts for the last hour.
class Stats {
 public:
  static constexpr int kSeconds = 3600;
  void Count(size_t bytes) {
    const int64_t now = WallMs();
    requests_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    int64_t first = 0;
    first_ms_.compare_exchange_strong(first, now);
    last_ms_.store(now, std::memory_order_relaxed);
    const int64_t second = now / 1000;
    Slot& slot = ring_[second % kSeconds];
    int64_t seen = slot.second.load(std::memory_order_relaxed);
    if (seen != second) {
      std::lock_guard lock(mu_);
      if (slot.second.load() != second) {
        slot.count.store(0);
        slot.second.store(second);
      }
    }
    slot.count.fetch_add(1, std::memory_order_relaxed);
  }
  std::string Json() {
    const int64_t now_s = WallMs() / 1000;
    std::string out = "{\"requests\":" + std::to_string(requests_.load()) +
                      ",\"bytes\":" + std::to_string(bytes_.load()) +
                      ",\"first_ms\":" + std::to_string(first_ms_.load()) +
                      ",\"last_ms\":" + std::to_string(last_ms_.load()) + ",\"per_second\":[";
    bool first = true;
    for (int64_t s = now_s - kSeconds + 1; s <= now_s; ++s) {
      Slot& slot = ring_[s % kSeconds];
      if (slot.second.load() != s || slot.count.load() == 0) continue;
      out += (first ? "[" : ",[") + std::to_string(s) + "," + std::to_string(slot.count.load()) + "]";
      first = false;
    }
    return out + "]}";
  }
  uint64_t requests() const { return requests_.load(); }

 private:
  struct Slot {
    std::atomic<int64_t> second{0};
    std::atomic<uint64_t> count{0};
  };
  std::atomic<uint64_t> requests_{0}, bytes_{0};
  std::atomic<int64_t> first_ms_{0}, last_ms_{0};
  Slot ring_[kSeconds];
  std::mutex mu_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Stats* stats) : stream_(std::move(socket)), stats_(stats) {}
  void Start() { Read(); }

 private:
  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }
  void OnRead(beast::error_code ec) {
    if (ec) return Close();
    response_ = {};
    response_.version(request_.version());
    response_.keep_alive(request_.keep_alive());
    response_.set(http::field::content_type, "application/json");
    if (request_.method() == http::verb::get && request_.target() == "/stats") {
      response_.result(http::status::ok);
      response_.body() = stats_->Json();
    } else {
      const uint64_t n = requests_seen_++;
      stats_->Count(request_.body().size());
      response_.result(http::status::ok);
      response_.body() = "{\"id\":\"r" + std::to_string(n) + "\"}";
    }
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec || !self->response_.keep_alive()) return self->Close();
                        self->Read();
                      });
  }
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  Stats* stats_;
  uint64_t requests_seen_ = 0;
};

class Listener {
 public:
  Listener(net::io_context& ioc, uint16_t port, Stats* stats)
      : acceptor_(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), port)), stats_(stats) {
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.listen(4096);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true));
        std::make_shared<Session>(std::move(socket), stats_)->Start();
      }
      Accept();
    });
  }

 private:
  tcp::acceptor acceptor_;
  Stats* stats_;
};

struct Flags {
  std::string mode;
  uint16_t port = 0;
  int threads = 1;
  double seconds = 5;
  int clients = 2;
  bool keepalive = false;
};

Flags Parse(int argc, char** argv) {
  Flags f;
  if (argc < 2) Die("usage: receiver serve|selftest [flags]; see bench/journeys/receiver.cc");
  f.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + flag);
      return argv[++i];
    };
    if (flag == "--port") f.port = static_cast<uint16_t>(std::stoi(value()));
    else if (flag == "--threads") f.threads = std::stoi(value());
    else if (flag == "--seconds") f.seconds = std::stod(value());
    else if (flag == "--clients") f.clients = std::stoi(value());
    else if (flag == "--keepalive") f.keepalive = value() == "1";
    else Die("unknown flag " + flag);
  }
  if (f.threads < 1 || f.threads > 16 || f.clients < 1 || f.clients > 64 || f.seconds <= 0 ||
      f.seconds > 600)
    Die("bad --threads/--clients/--seconds");
  return f;
}

// One client thread of the self-test: POSTs a webhook-sized body until the deadline.
void Client(uint16_t port, bool keepalive, std::chrono::steady_clock::time_point deadline,
            std::atomic<uint64_t>* done, std::atomic<uint64_t>* errors) {
  net::io_context ioc;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  const std::string body(420, 'x');  // about a webhook payload
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (!stream) {
        stream = std::make_unique<beast::tcp_stream>(ioc);
        stream->connect(endpoint);
        stream->socket().set_option(tcp::no_delay(true));
      }
      http::request<http::string_body> req{http::verb::post, "/hook", 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::content_type, "application/json");
      req.set(http::field::connection, keepalive ? "keep-alive" : "close");
      req.body() = body;
      req.prepare_payload();
      http::write(*stream, req);
      http::response<http::string_body> res;
      http::read(*stream, buffer, res);
      if (res.result_int() != 200) errors->fetch_add(1);
      done->fetch_add(1);
      if (!keepalive) {
        beast::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.reset();
        buffer.clear();
      }
    } catch (const std::exception&) {
      errors->fetch_add(1);
      stream.reset();
      buffer.clear();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = Parse(argc, argv);
  if (flags.mode != "serve" && flags.mode != "selftest") Die("mode is serve or selftest");
  Stats stats;
  net::io_context ioc(flags.threads);
  Listener listener(ioc, flags.mode == "serve" ? flags.port : 0, &stats);
  listener.Accept();
  std::vector<std::thread> threads;
  if (flags.mode == "serve") {
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
    std::printf("receiver: listening on http://127.0.0.1:%u\n", listener.port());
    std::fflush(stdout);
    for (int t = 1; t < flags.threads; ++t) threads.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : threads) t.join();
    std::printf("receiver: stopped after %llu requests\n",
                static_cast<unsigned long long>(stats.requests()));
    return 0;
  }
  for (int t = 0; t < flags.threads; ++t) threads.emplace_back([&] { ioc.run(); });
  std::atomic<uint64_t> done{0}, errors{0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(flags.seconds));
  std::vector<std::thread> clients;
  for (int c = 0; c < flags.clients; ++c)
    clients.emplace_back(Client, listener.port(), flags.keepalive, deadline, &done, &errors);
  for (auto& c : clients) c.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ioc.stop();
  for (auto& t : threads) t.join();
  std::printf("{\"mode\":\"%s\",\"clients\":%d,\"threads\":%d,\"requests\":%llu,\"errors\":%llu,"
              "\"seconds\":%.3f,\"requests_per_s\":%.0f,\"received\":%llu}\n",
              flags.keepalive ? "keepalive" : "connection_per_request", flags.clients,
              flags.threads, static_cast<unsigned long long>(done.load()),
              static_cast<unsigned long long>(errors.load()), seconds, done.load() / seconds,
              static_cast<unsigned long long>(stats.requests()));
  return errors.load() ? 1 : 0;
}
