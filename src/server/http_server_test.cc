// HttpServer: stopping while requests are in flight and while clients connect.
#include "server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace sextant::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpServerOptions AnyPort() {
  HttpServerOptions options;
  options.port = 0;
  return options;
}

// One GET on a fresh connection, waiting at most 10 s (a server that never
// answers fails the test instead of hanging it): the answer's status and body,
// or the error.
struct ClientResult {
  int status = 0;
  std::string body;
  std::string error;
};
ClientResult Get(uint16_t port, const std::string &target) {
  ClientResult result;
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "127.0.0.1");
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code error;
  stream.expires_after(
      std::chrono::seconds(10)); // bounds the async operations below
  stream.async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
      [&](beast::error_code ec) {
        if (ec) {
          error = ec;
          return;
        }
        http::async_write(stream, request,
                          [&](beast::error_code ec, std::size_t) {
                            if (ec) {
                              error = ec;
                              return;
                            }
                            http::async_read(stream, buffer, response,
                                             [&](beast::error_code ec,
                                                 std::size_t) { error = ec; });
                          });
      });
  io.run();
  if (error) {
    result.error = error.message();
  } else {
    result.status = static_cast<int>(response.result_int());
    result.body = response.body();
  }
  return result;
}

TEST(HttpServer, AnAnswerGivenAfterStopBeganIsStillWritten) {
  // The handler answers later from a thread of its own, as an ingest answer
  // does after its group commit. Stop() must wait for it and write it: the I/O
  // threads used to run out of work once the acceptor was closed, and the
  // client got an empty reply.
  std::promise<void> handler_called;
  std::vector<std::thread> answerers;
  HttpServer server(AnyPort(), [&](HttpRequest &request, const RequestInfo &,
                                   Responder respond) {
    answerers.emplace_back([&request, respond = std::move(respond)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      respond(
          MakeResponse(request, http::status::ok, "text/plain", "late answer"));
    });
    handler_called.set_value();
  });
  auto port = server.Start();
  ASSERT_TRUE(port.ok());
  auto client =
      std::async(std::launch::async, [&] { return Get(*port, "/slow"); });
  handler_called.get_future().wait();
  server.Stop();
  const ClientResult result = client.get();
  for (std::thread &answerer : answerers)
    answerer.join();
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "late answer");
}

TEST(HttpServer, StopsWhileClientsKeepConnecting) {
  // Connections accepted at the moment of Stop() re-arm the acceptor on one I/O
  // thread while another closes it; that race crashed the server at SIGTERM.
  // Each round stops a server under a stream of connections; the test passes
  // when every round ends (ASan and the process's exit would report a crash).
  for (int round = 0; round < 20; ++round) {
    HttpServer server(AnyPort(), [](HttpRequest &request, const RequestInfo &,
                                    Responder respond) {
      respond(MakeResponse(request, http::status::ok, "text/plain", "ok"));
    });
    auto port = server.Start();
    ASSERT_TRUE(port.ok());
    std::atomic<bool> stop_clients{false};
    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    for (int client = 0; client < 2; ++client) {
      clients.emplace_back([&] {
        while (!stop_clients.load()) {
          if (Get(*port, "/healthz").status == 200)
            answered.fetch_add(1);
        }
      });
    }
    while (answered.load() < 5)
      std::this_thread::yield();
    server.Stop();
    stop_clients = true;
    for (std::thread &client : clients)
      client.join();
    EXPECT_GE(answered.load(), 5);
  }
}

TEST(HttpServer, WaitsInsteadOfSpinningWhenOutOfDescriptors) {
  // With the process out of descriptors, every accept fails at once while the
  // connection stays in the backlog: accepting again at once spun the I/O
  // threads. The server must back off, and accept again once descriptors free.
  HttpServer server(AnyPort(), [](HttpRequest &request, const RequestInfo &,
                                  Responder respond) {
    respond(MakeResponse(request, http::status::ok, "text/plain", "ok"));
  });
  auto port = server.Start();
  ASSERT_TRUE(port.ok());

  // The client socket exists before the limit drops; connecting needs no new
  // descriptor, accepting does.
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit lowered = saved;
  lowered.rlim_cur =
      static_cast<rlim_t>(lowest_free); // no free number below it
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(*port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int connected = ::connect(
      client, reinterpret_cast<const sockaddr *>(&address), sizeof address);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t errors = server.accept_errors();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ::close(client);

  EXPECT_EQ(connected, 0);
  // Backing off from 5 ms, doubling: about 7 attempts in 500 ms. Spinning made
  // hundreds of thousands.
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 30u);
  // Descriptors are back: the next connection is accepted and answered.
  const ClientResult result = Get(*port, "/after");
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.status, 200);
  server.Stop();
}

} // namespace
} // namespace sextant::server
