#include "server/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <optional>

#include "common/thread_name.h"

namespace sextant::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpResponse MakeResponse(const HttpRequest& request, http::status status,
                          std::string content_type, std::string body) {
  HttpResponse response{status, request.version()};
  response.set(http::field::server, "sextant");
  if (!content_type.empty()) response.set(http::field::content_type, content_type);
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

namespace {

std::string ErrorJson(int code, const char* name, const char* message) {
  return std::string("{\"error\":{\"code\":") + std::to_string(code) + ",\"name\":\"" + name +
         "\",\"message\":\"" + message + "\"}}";
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& options, const HttpHandler& handler,
          std::atomic<int>* in_flight)
      : stream_(std::move(socket)), options_(options), handler_(handler), in_flight_(in_flight) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) info_.peer_ip = endpoint.address().to_string();
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(options_.max_header_bytes);
    parser_->body_limit(options_.max_body_bytes);
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_seconds));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->OnHeader(ec);
                            });
  }

  // Header first, so that the body string is sized once from Content-Length (no regrowth
  // copies for multi-megabyte batches) and "Expect: 100-continue" clients (curl, some Java
  // HTTP clients) get their interim answer instead of waiting a second.
  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    auto length = parser_->content_length();
    auto expect = parser_->get().find(http::field::expect);
    bool wants_continue = expect != parser_->get().end() &&
                          beast::iequals(expect->value(), "100-continue") && !parser_->is_done() &&
                          (!length || *length <= options_.max_body_bytes);
    if (wants_continue) {
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *interim,
                        [self = shared_from_this(), interim](beast::error_code write_ec, std::size_t) {
                          if (write_ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  // A body with a Content-Length is read straight into the request's string: one allocation,
  // and reads as large as the socket has data — instead of Beast's 64 KiB steps through the
  // connection buffer. Other bodies (chunked) go through the parser.
  void ReadBody() {
    auto length = parser_->content_length();
    if (!length || *length == 0 || parser_->is_done() || parser_->chunked())
      return ReadBodyWithParser();
    if (*length > options_.max_body_bytes) return OnRead(http::error::body_limit);
    request_ = parser_->release();
    body_.clear();
    body_.resize(static_cast<size_t>(*length));
    size_t buffered = std::min(buffer_.size(), body_.size());
    net::buffer_copy(net::buffer(body_.data(), buffered), buffer_.data());
    buffer_.consume(buffered);
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_seconds));
    net::async_read(stream_, net::buffer(body_.data() + buffered, body_.size() - buffered),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      if (ec) return self->Close();
                      self->request_.body() = std::move(self->body_);
                      self->Dispatch();
                    });
  }

  void ReadBodyWithParser() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::eof) {
      return Close();
    }
    if (ec) {
      http::status status = http::status::bad_request;
      std::string body;
      if (ec == http::error::body_limit) {
        status = http::status::payload_too_large;
        body = ErrorJson(1007, "payload_too_large", "request body exceeds the server limit");
      } else if (ec == http::error::header_limit) {
        status = http::status::request_header_fields_too_large;
        body = ErrorJson(3001, "bad_request", "request line or headers exceed the server limit");
      } else {
        body = ErrorJson(3001, "bad_request", "malformed HTTP request");
      }
      HttpResponse response{status, 11};
      response.set(http::field::server, "sextant");
      response.set(http::field::content_type, "application/json");
      response.keep_alive(false);
      response.body() = std::move(body);
      response.prepare_payload();
      return Write(std::move(response));
    }
    request_ = parser_->release();
    Dispatch();
  }

  void Dispatch() {
    auto self = shared_from_this();
    in_flight_->fetch_add(1);
    handler_(request_, info_, [self](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->in_flight_->fetch_sub(1);
        self->Write(std::move(response));
      });
    });
  }

  void Write(HttpResponse response) {
    response_ = std::make_shared<HttpResponse>(std::move(response));
    bool close = !response_->keep_alive();
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                        if (ec || close) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  const HttpServerOptions& options_;
  const HttpHandler& handler_;
  std::atomic<int>* in_flight_;  // requests handed to the handler and not yet answered
  RequestInfo info_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  std::string body_;
  std::shared_ptr<HttpResponse> response_;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        acceptor_(net::make_strand(io_)),
        work_(io_.get_executor()) {}

  Result<uint16_t> Start() {
    beast::error_code ec;
    auto address = net::ip::make_address(options_.host, ec);
    if (ec) return Status(ErrorCode::kBadRequest, "bad listen address " + options_.host);
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return Status(ErrorCode::kIoError, "cannot listen on " + options_.host + ":" +
                                             std::to_string(options_.port) + ": " + ec.message());
    uint16_t port = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < std::max(1, options_.io_threads); ++i)
      threads_.emplace_back([this] {
        SetCurrentThreadName("http");
        io_.run();
      });
    return port;
  }

  uint64_t accept_errors() const { return accept_errors_.load(std::memory_order_relaxed); }

  void Stop() {
    if (stopped_.exchange(true)) return;
    // On the acceptor's strand, like its accept handler: an accept completing at this moment
    // re-arms the acceptor on another I/O thread, and closing it concurrently crashed the
    // server (the re-arm read the descriptor state that close() had just freed).
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_retry_.cancel();
    });
    // Let requests already handed to the handler be answered (an ingest answer waits for a
    // group commit), then stop the loop. Bounded, so a stuck client cannot block shutdown.
    // The work guard keeps the I/O threads running meanwhile: once the acceptor is closed,
    // a connection whose request is with the handler has no operation pending, so without it
    // the threads ran out of work and left, and the answers posted later were never written
    // (the client got an empty reply after the full 5 s).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the last writes flush
    work_.reset();
    io_.stop();
    for (auto& thread : threads_)
      if (thread.joinable()) thread.join();
  }

 private:
  // The accept handler runs on the acceptor's strand (its executor), as do the retry timer and
  // the close in Stop(): the acceptor is never used by two threads at once.
  void Accept() {
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (!ec) {
        accept_backoff_ms_ = 0;
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket), options_, handler_, &in_flight_)->Run();
      }
      if (!acceptor_.is_open()) return;  // closed by Stop()
      if (ec && ec != net::error::operation_aborted) {
        // Out of descriptors (EMFILE, ENFILE) or kernel memory: the connection stays in the
        // backlog, so accepting again at once fails again at once — a busy loop on an I/O
        // thread that starves the requests in progress, whose end is what frees descriptors.
        // Wait instead, 5 ms doubling up to 1 s, until an accept succeeds.
        accept_errors_.fetch_add(1, std::memory_order_relaxed);
        const bool first = accept_backoff_ms_ == 0;
        accept_backoff_ms_ = first ? kFirstAcceptBackoffMs
                                   : std::min(accept_backoff_ms_ * 2, kMaxAcceptBackoffMs);
        if (first) {
          std::fprintf(stderr, "sextant: http: accepting a connection failed: %s; retrying\n",
                       ec.message().c_str());
        }
        accept_retry_.expires_after(std::chrono::milliseconds(accept_backoff_ms_));
        accept_retry_.async_wait([this](beast::error_code wait_error) {
          if (wait_error || !acceptor_.is_open()) return;  // cancelled by Stop()
          Accept();
        });
        return;
      }
      Accept();
    });
  }

  static constexpr int kFirstAcceptBackoffMs = 5;
  static constexpr int kMaxAcceptBackoffMs = 1000;

  HttpServerOptions options_;
  HttpHandler handler_;
  net::io_context io_;
  tcp::acceptor acceptor_;  // on a strand of io_
  net::steady_timer accept_retry_{acceptor_.get_executor()};  // same strand
  int accept_backoff_ms_ = 0;                                  // 0 = the last accept succeeded
  net::executor_work_guard<net::io_context::executor_type> work_;  // released at the end of Stop
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<uint64_t> accept_errors_{0};
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}
HttpServer::~HttpServer() { Stop(); }
Result<uint16_t> HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
uint64_t HttpServer::accept_errors() const {
  return impl_->accept_errors();
}

}  // namespace sextant::server
