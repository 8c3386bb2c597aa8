// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast, a fixed pool of I/O threads.
//
// Each connection reads one request at a time (no pipelining), hands it to the handler, and
// reads the next request only after the handler's response has been written — so a handler
// may answer asynchronously (e.g. after a durable group commit) from any thread.
// Requests that break the limits get their answer without reaching the handler:
// a header block (request line included) over `max_header_bytes` → 431, a body over
// `max_body_bytes` → 413, unparsable HTTP → 400; the connection is then closed.
//
// Thread-safety: Start/Stop from one thread; the handler is called concurrently from the
// I/O threads.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace sextant::server {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using Responder = std::function<void(HttpResponse)>;

struct RequestInfo {
  std::string peer_ip;
};

using HttpHandler = std::function<void(HttpRequest&, const RequestInfo&, Responder)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8106;  // 0 = any free port
  int io_threads = 2;
  uint32_t max_header_bytes = 64 * 1024;
  uint64_t max_body_bytes = 64ull << 20;
  int idle_timeout_seconds = 75;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();

  // Binds and starts the I/O threads. Returns the bound port.
  Result<uint16_t> Start();
  // Stops accepting, writes the answers of requests already with the handler (waiting up to
  // 5 s for them), closes connections, joins the threads. Idempotent.
  void Stop();
  // Accepts that failed (out of descriptors or kernel memory). After a failure the server
  // waits before accepting again: 5 ms, doubling up to 1 s, until an accept succeeds.
  uint64_t accept_errors() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Builds a response with the request's version and keep-alive.
HttpResponse MakeResponse(const HttpRequest& request, boost::beast::http::status status,
                          std::string content_type, std::string body);

}  // namespace sextant::server
