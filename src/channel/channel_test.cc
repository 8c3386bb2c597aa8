// Tests of the channel adapters: signatures against published / independently computed values,
// config parsing, and every sender against in-process loopback servers (HTTP and SMTP) that
// record what arrived and answer with canned responses.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "channel/channel_sender.h"
#include "channel/crypto.h"
#include "channel/http_client.h"
#include "channel/http_connection_pool.h"
#include "channel/smtp_sender.h"
#include "channel/tc3_signer.h"
#include "channel/tencent_sms_sender.h"
#include "channel/url.h"
#include "channel/webhook_sender.h"

namespace sextant::channel {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr int64_t kNowMs = 1700000000123;  // 2023-11-14T22:13:20.123Z

// ---------------------------------------------------------------------------------------------
// Loopback servers

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Accepts one connection on 127.0.0.1:<ephemeral>, records one HTTP request and either answers
// it with (status, body) or, with `hang`, never answers (the client must time out).
class FakeHttpServer {
 public:
  FakeHttpServer(int status, std::string body, bool hang = false)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        status_(status),
        body_(std::move(body)),
        hang_(hang) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeHttpServer() {
    if (!accepted_.load()) {
      // Unblock accept() when the client under test never connected: connect and hang up at
      // once, so the server's read fails and its thread ends.
      beast::error_code ec;
      tcp::socket poke(ioc_);
      poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
      poke.close(ec);
    }
    thread_.join();
  }

  std::string Url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  uint16_t port() const { return port_; }

  // The recorded request; fails the test when none arrived within 5 s.
  RecordedRequest Request() {
    auto future = recorded_.get_future();
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ADD_FAILURE() << "no request arrived";
      return {};
    }
    return future.get();
  }
  bool accepted() const { return accepted_.load(); }

 private:
  void Serve() {
    beast::error_code ec;
    tcp::socket socket(ioc_);
    acceptor_.accept(socket, ec);
    accepted_ = true;
    if (ec) return;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request, ec);
    if (ec) return;  // the poke connection from the destructor, or a client that gave up
    RecordedRequest recorded;
    recorded.method = std::string(request.method_string());
    recorded.target = std::string(request.target());
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      recorded.headers[name] = std::string(field.value());
    }
    recorded.body = request.body();
    recorded_.set_value(std::move(recorded));
    if (hang_) {
      // Wait for the client to give up and close; read_some then fails with EOF.
      char byte;
      socket.read_some(asio::buffer(&byte, 1), ec);
      return;
    }
    http::response<http::string_body> response{static_cast<http::status>(status_), 11};
    response.set(http::field::content_type, "application/json");
    response.body() = body_;
    response.prepare_payload();
    http::write(socket, response, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  int status_;
  std::string body_;
  bool hang_;
  std::atomic<bool> accepted_{false};
  std::promise<RecordedRequest> recorded_;
  std::thread thread_;
};

// Serves any number of connections on 127.0.0.1:<ephemeral>, each on its own thread, answering
// every request 200 with {"id": "<request body without its quotes>"} and keeping the connection open — or, with
// `close_after` > 0, closing it without notice after that many answers (the keep-alive race a
// client must survive). Counts connections, requests, and the most requests in progress at once.
class KeepAliveHttpServer {
 public:
  explicit KeepAliveHttpServer(int close_after = 0)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        close_after_(close_after) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { Accept(); });
  }
  ~KeepAliveHttpServer() {
    stopping_ = true;
    beast::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    poke.close(ec);
    accept_thread_.join();
    std::lock_guard lock(mu_);
    for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ec);
    for (auto& thread : threads_) thread.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  int most_in_progress() const { return most_in_progress_.load(); }
  std::vector<std::string> idempotency_keys() const {
    std::lock_guard lock(mu_);
    return keys_;
  }

 private:
  void Accept() {
    while (true) {
      auto socket = std::make_shared<tcp::socket>(ioc_);
      beast::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) return;
      ++connections_;
      std::lock_guard lock(mu_);
      sockets_.push_back(socket);
      threads_.emplace_back([this, socket] { Serve(*socket); });
    }
  }
  void Serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    for (int answered = 0; close_after_ == 0 || answered < close_after_; ++answered) {
      beast::error_code ec;
      http::request<http::string_body> request;
      http::read(socket, buffer, request, ec);
      if (ec) return;
      ++requests_;
      const int now = ++in_progress_;
      for (int seen = most_in_progress_.load(); now > seen;)
        most_in_progress_.compare_exchange_weak(seen, now);
      {
        std::lock_guard lock(mu_);
        keys_.emplace_back(request["Idempotency-Key"]);
      }
      // Long enough for the other connections' requests to arrive meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      http::response<http::string_body> response{http::status::ok, 11};
      std::string id = request.body();
      std::erase(id, '"');
      response.body() = "{\"id\":\"" + id + "\"}";
      response.prepare_payload();
      --in_progress_;
      http::write(socket, response, ec);
      if (ec) return;
    }
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  const int close_after_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0}, requests_{0}, in_progress_{0}, most_in_progress_{0};
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
  std::vector<std::string> keys_;
  std::thread accept_thread_;
};

// A scripted SMTP server for one session. Replies default to success; `replies` overrides the
// reply to a command verb ("GREETING", "EHLO", "HELO", "MAIL", "RCPT", "DATA", "MESSAGE",
// "QUIT"). A reply of "HANG" stops answering.
class FakeSmtpServer {
 public:
  explicit FakeSmtpServer(std::map<std::string, std::string> replies = {})
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        replies_(std::move(replies)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeSmtpServer() { thread_.join(); }

  std::string Url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

  // Waits for the session to end; returns the commands received (without CRLF).
  std::vector<std::string> Commands() {
    auto future = done_.get_future();
    EXPECT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    return commands_;
  }
  const std::string& data() const { return data_; }  // after Commands()

 private:
  std::string Reply(const std::string& verb, const std::string& fallback) {
    auto it = replies_.find(verb);
    return it == replies_.end() ? fallback : it->second;
  }

  // Writes `reply`; false when the session should stop (HANG, or a 4xx/5xx greeting).
  bool Answer(tcp::socket& socket, const std::string& reply) {
    if (reply == "HANG") {
      char byte;
      beast::error_code ec;
      socket.read_some(asio::buffer(&byte, 1), ec);  // until the client gives up
      return false;
    }
    beast::error_code ec;
    asio::write(socket, asio::buffer(reply + "\r\n"), ec);
    return !ec;
  }

  void Serve() {
    beast::error_code ec;
    tcp::socket socket(ioc_);
    acceptor_.accept(socket, ec);
    if (!ec) Session(socket);
    done_.set_value();
  }

  void Session(tcp::socket& socket) {
    std::string greeting = Reply("GREETING", "220 fake.test ESMTP ready");
    if (!Answer(socket, greeting) || greeting[0] != '2') return;
    std::string buffer;
    beast::error_code ec;
    for (;;) {
      size_t n = asio::read_until(socket, asio::dynamic_buffer(buffer), "\r\n", ec);
      if (ec) return;
      std::string line = buffer.substr(0, n - 2);
      buffer.erase(0, n);
      commands_.push_back(line);
      std::string verb = line.substr(0, line.find_first_of(" :"));
      std::string reply;
      if (verb == "EHLO") {
        reply = Reply("EHLO", "250-fake.test greets you\r\n250-8BITMIME\r\n250 SIZE 1000000");
      } else if (verb == "HELO") {
        reply = Reply("HELO", "250 fake.test");
      } else if (verb == "MAIL" || verb == "RCPT") {
        reply = Reply(verb, "250 OK");
      } else if (verb == "DATA") {
        reply = Reply("DATA", "354 End data with <CR><LF>.<CR><LF>");
        if (!Answer(socket, reply)) return;
        if (reply[0] != '3') continue;
        size_t end = asio::read_until(socket, asio::dynamic_buffer(buffer), "\r\n.\r\n", ec);
        if (ec) return;
        data_ = buffer.substr(0, end - 3);  // keep the final CRLF of the message
        buffer.erase(0, end);
        reply = Reply("MESSAGE", "250 OK queued as Q42");
      } else if (verb == "QUIT") {
        Answer(socket, Reply("QUIT", "221 bye"));
        return;
      } else {
        reply = "500 unknown command";
      }
      if (!Answer(socket, reply)) return;
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::map<std::string, std::string> replies_;
  std::vector<std::string> commands_;
  std::string data_;
  std::promise<void> done_;
  std::thread thread_;
};

// A TCP port on which nothing listens (bound, then closed).
uint16_t ClosedPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

ChannelConfig Config(const std::string& type, const std::string& url) {
  ChannelConfig config;
  config.name = type;
  config.type = type;
  config.url = url;
  config.timeout_ms = 2000;
  return config;
}

std::unique_ptr<ChannelSender> Make(const ChannelConfig& config) {
  Result<std::unique_ptr<ChannelSender>> sender = MakeSender(config);
  EXPECT_TRUE(sender.ok()) << sender.status().ToString();
  return sender.ok() ? std::move(sender).value() : nullptr;
}

OutboundMessage Message() {
  OutboundMessage message;
  message.idempotency_key = "j1:v2:n3:u42";
  message.recipient = "u42";
  message.subject = "Welcome";
  message.body = "Hello there";
  message.payload_json = R"({"journey":"welcome","node":3})";
  message.now_ms = kNowMs;
  return message;
}

std::string Header(const RecordedRequest& request, const std::string& name) {
  auto it = request.headers.find(name);
  return it == request.headers.end() ? "<absent>" : it->second;
}

// The minified value at a JSON pointer, or "<absent>".
std::string JsonAt(const std::string& json, const char* pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(json).at_pointer(pointer).get(element) != simdjson::SUCCESS) {
    return "<absent>";
  }
  return simdjson::minify(element);
}

// ---------------------------------------------------------------------------------------------
// Crypto

TEST(Crypto, KnownDigestsAndEncodings) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256("Jefe", "what do ya want for nothing?").size(), 32u);
  EXPECT_EQ(ToHex(std::string("\x00\xff\x10", 3)), "00ff10");
  // RFC 4648 section 10.
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Decode("Zm9v\r\nYmE="), std::optional<std::string>("fooba"));
  EXPECT_EQ(Base64Decode("Zg=="), std::optional<std::string>("f"));
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
  EXPECT_FALSE(Base64Decode("Zg==Zg").has_value());
}

// ---------------------------------------------------------------------------------------------
// Tencent Cloud TC3-HMAC-SHA256 against the published example.
//
// Source: Tencent Cloud API "Signature v3" documentation, the CVM DescribeInstances example
// (e.g. https://www.tencentcloud.com/document/product/382/40467, and the Chinese original in
// GitHub tencentyun/qcloud-documents, product/云资源管理/云API/操作指南/C++_API.md). Its
// inputs: SecretId AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE, SecretKey
// Gu5t9xGARNpq86cd98joQYCN3EXAMPLE, host cvm.tencentcloudapi.com, timestamp 1551113065,
// Content-Type "application/json; charset=utf-8" and the payload below. Published results:
// payload hash 35e9c5b0..., canonical request hash 5ffe6a04..., signature 72e494ea....

constexpr std::string_view kTencentPayload =
    R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})";
constexpr std::string_view kTencentContentType = "application/json; charset=utf-8";

TEST(Tc3Signer, MatchesPublishedDescribeInstancesExample) {
  EXPECT_EQ(Sha256Hex(kTencentPayload),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  std::string canonical =
      Tc3CanonicalRequest(kTencentContentType, "cvm.tencentcloudapi.com", kTencentPayload);
  EXPECT_EQ(canonical,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
            "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  EXPECT_EQ(Sha256Hex(canonical),
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  std::string string_to_sign = Tc3StringToSign(1551113065, "cvm", canonical);
  EXPECT_EQ(string_to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  // The date is the UTC date (2019-02-26 00:44:25 in UTC+8 is still 2019-02-25).
  EXPECT_EQ(Tc3Date(1551113065), "2019-02-25");
  EXPECT_EQ(Tc3Signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "2019-02-25", "cvm", string_to_sign),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
  EXPECT_EQ(Tc3Authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                             "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", "cvm.tencentcloudapi.com",
                             1551113065, kTencentPayload, kTencentContentType),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
            "tc3_request, SignedHeaders=content-type;host, "
            "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
}

TEST(Tc3Signer, SignedHostFollowsUrlOnlyForTencentNames) {
  EXPECT_EQ(TencentSignedHost("sms.tencentcloudapi.com"), "sms.tencentcloudapi.com");
  EXPECT_EQ(TencentSignedHost("sms.ap-guangzhou.tencentcloudapi.com"),
            "sms.ap-guangzhou.tencentcloudapi.com");
  EXPECT_EQ(TencentSignedHost("127.0.0.1"), "sms.tencentcloudapi.com");
  EXPECT_EQ(TencentSignedHost("eviltencentcloudapi.com"), "sms.tencentcloudapi.com");
}

// ---------------------------------------------------------------------------------------------
// Webhook signature scheme

TEST(WebhookSignature, FormatAndValue) {
  // Expected value computed independently:
  //   printf '%s' '1700000000.{"journey":"welcome","node":3}' |
  //     openssl dgst -sha256 -hmac whsec_test
  EXPECT_EQ(SextantSignature("whsec_test", 1700000000, R"({"journey":"welcome","node":3})"),
            "v1=0e84dbc99023d1e729a51fbc04ddb9f988d9c256f4e11395ec304b14b43c8645");
  EXPECT_NE(SextantSignature("whsec_test", 1700000001, R"({"journey":"welcome","node":3})"),
            SextantSignature("whsec_test", 1700000000, R"({"journey":"welcome","node":3})"));
}

// ---------------------------------------------------------------------------------------------
// URLs and configs

TEST(ParseUrl, AcceptsHttpAndSmtpForms) {
  Result<ParsedUrl> url = ParseUrl("http://Example.COM:8080/a/b?x=1&y=2", "http", 80);
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/a/b?x=1&y=2");
  EXPECT_EQ(HostHeader(*url, 80), "example.com:8080");

  url = ParseUrl("http://gateway?q=1", "http", 80);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/?q=1");
  EXPECT_EQ(HostHeader(*url, 80), "gateway");

  url = ParseUrl("http://[::1]:9000/x", "http", 80);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(HostHeader(*url, 80), "[::1]:9000");

  url = ParseUrl("smtp://127.0.0.1", "smtp", 25);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 25);
  EXPECT_EQ(url->target, "/");
}

TEST(ParseUrl, RejectsWithReasons) {
  auto reason = [](std::string_view text) {
    Result<ParsedUrl> url = ParseUrl(text, "http", 80);
    EXPECT_FALSE(url.ok()) << text;
    EXPECT_EQ(url.status().code(), ErrorCode::kInvalidValue);
    EXPECT_EQ(url.status().field(), "url");
    return url.status().message();
  };
  EXPECT_NE(reason("https://api.example.com/x").find("TLS terminates at a local gateway"),
            std::string::npos);
  EXPECT_NE(reason("ftp://x/").find("scheme"), std::string::npos);
  EXPECT_NE(reason("example.com/x").find("expected"), std::string::npos);
  EXPECT_NE(reason("http://:80/x").find("empty host"), std::string::npos);
  EXPECT_NE(reason("http://h:0/").find("port"), std::string::npos);
  EXPECT_NE(reason("http://h:99999/").find("port"), std::string::npos);
  EXPECT_NE(reason("http://h:8a/").find("port"), std::string::npos);
  EXPECT_NE(reason("http://user@h/").find("user info"), std::string::npos);
  EXPECT_NE(reason("http://h/a b").find("spaces"), std::string::npos);
  EXPECT_NE(reason("http://h/a#frag").find("fragment"), std::string::npos);
}

TEST(ChannelConfig, ParsesEveryField) {
  Result<ChannelConfig> config = ParseChannelConfig(
      "sms", R"({"type":"tencent_sms","url":"http://127.0.0.1:9000/","secret":"sk","key_id":"id",
                 "sender":"1400006666","sign_name":"Sextant","region":"ap-beijing",
                 "timeout_ms":1500,"connections":3,"name":"ignored"})");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->name, "sms");
  EXPECT_EQ(config->type, "tencent_sms");
  EXPECT_EQ(config->url, "http://127.0.0.1:9000/");
  EXPECT_EQ(config->secret, "sk");
  EXPECT_EQ(config->key_id, "id");
  EXPECT_EQ(config->sender, "1400006666");
  EXPECT_EQ(config->sign_name, "Sextant");
  EXPECT_EQ(config->region, "ap-beijing");
  EXPECT_EQ(config->timeout_ms, 1500);
  EXPECT_EQ(config->connections, 3);

  Result<ChannelConfig> webhook =
      ParseChannelConfig("hook", R"({"type":"webhook","url":"http://h/x"})");
  ASSERT_TRUE(webhook.ok());
  EXPECT_EQ(webhook->timeout_ms, 5000);
  EXPECT_EQ(webhook->connections, 8);
}

TEST(ChannelConfig, ErrorsNameTheField) {
  auto error = [](std::string_view json) {
    Result<ChannelConfig> config = ParseChannelConfig("c", json);
    EXPECT_FALSE(config.ok()) << json;
    return config.ok() ? Status::Ok() : config.status();
  };
  EXPECT_EQ(error("{not json").code(), ErrorCode::kBadJson);
  EXPECT_EQ(error("[1]").code(), ErrorCode::kBadJson);

  Status status = error(R"({"url":"http://h/"})");
  EXPECT_EQ(status.code(), ErrorCode::kMissingField);
  EXPECT_EQ(status.field(), "type");

  status = error(R"({"type":"fax","url":"http://h/"})");
  EXPECT_EQ(status.code(), ErrorCode::kInvalidValue);
  EXPECT_EQ(status.field(), "type");

  status = error(R"({"type":"webhook"})");
  EXPECT_EQ(status.code(), ErrorCode::kMissingField);
  EXPECT_EQ(status.field(), "url");
  EXPECT_EQ(status.message(), "url: required for type webhook");

  status = error(R"({"type":"webhook","url":"https://h/"})");
  EXPECT_EQ(status.field(), "url");

  status = error(R"({"type":"webhook","url":"http://h/","colour":"red"})");
  EXPECT_EQ(status.code(), ErrorCode::kInvalidValue);
  EXPECT_EQ(status.field(), "colour");

  status = error(R"({"type":"webhook","url":"http://h/","timeout_ms":"5s"})");
  EXPECT_EQ(status.field(), "timeout_ms");
  status = error(R"({"type":"webhook","url":"http://h/","timeout_ms":0})");
  EXPECT_EQ(status.field(), "timeout_ms");
  status = error(R"({"type":"webhook","url":"http://h/","connections":65})");
  EXPECT_EQ(status.message(), "connections: must be in 1..64");
  status = error(R"({"type":"webhook","url":"http://h/","connections":"8"})");
  EXPECT_EQ(status.message(), "connections: must be an integer");
  status = error(R"({"type":"webhook","url":7})");
  EXPECT_EQ(status.message(), "url: must be a string");

  status = error(R"({"type":"tencent_sms","secret":"s","sender":"1400"})");
  EXPECT_EQ(status.field(), "key_id");
  status = error(R"({"type":"wechat_template","url":"http://h/send"})");
  EXPECT_EQ(status.field(), "sender");
  status = error(R"({"type":"smtp","url":"smtp://127.0.0.1:25","sender":"Sextant <a@b>"})");
  EXPECT_EQ(status.field(), "sender");
  status = error(R"({"type":"smtp","url":"http://127.0.0.1:25","sender":"a@b.test"})");
  EXPECT_EQ(status.field(), "url");

  ChannelConfig bad = Config("webhook", "");
  Result<std::unique_ptr<ChannelSender>> sender = MakeSender(bad);
  ASSERT_FALSE(sender.ok());
  EXPECT_EQ(sender.status().field(), "url");
}

TEST(ChannelConfig, RetryableHttpStatuses) {
  EXPECT_TRUE(IsRetryableHttpStatus(500));
  EXPECT_TRUE(IsRetryableHttpStatus(503));
  EXPECT_TRUE(IsRetryableHttpStatus(429));
  EXPECT_TRUE(IsRetryableHttpStatus(408));
  EXPECT_FALSE(IsRetryableHttpStatus(400));
  EXPECT_FALSE(IsRetryableHttpStatus(404));
  EXPECT_FALSE(IsRetryableHttpStatus(301));
}

// ---------------------------------------------------------------------------------------------
// HttpPost

TEST(HttpPost, SendsRequestAndReturnsAnswer) {
  FakeHttpServer server(201, R"({"ok":true})");
  Result<HttpResponse> response =
      HttpPost(server.Url("/in/bound?a=1"), {{"X-Custom", "v"}, {"Content-Type", "text/plain"}},
               "payload bytes", 2000);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"ok":true})");
  RecordedRequest request = server.Request();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/in/bound?a=1");
  EXPECT_EQ(request.body, "payload bytes");
  EXPECT_EQ(Header(request, "x-custom"), "v");
  EXPECT_EQ(Header(request, "content-type"), "text/plain");
  EXPECT_EQ(Header(request, "content-length"), "13");
  EXPECT_EQ(Header(request, "host"), "127.0.0.1:" + std::to_string(server.port()));
}

TEST(HttpPost, ServerErrorIsAnAnswerNotAFailure) {
  FakeHttpServer server(500, "boom");
  Result<HttpResponse> response = HttpPost(server.Url(), {}, "{}", 2000);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->body, "boom");
}

TEST(HttpPost, HostHeaderCanBeReplaced) {
  FakeHttpServer server(200, "");
  Result<HttpResponse> response = HttpPost(server.Url(), {{"Host", "api.example.com"}}, "", 2000);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(Header(server.Request(), "host"), "api.example.com");
}

TEST(HttpPost, TimesOutWithinTheDeadline) {
  FakeHttpServer server(200, "", /*hang=*/true);
  auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> response = HttpPost(server.Url(), {}, "{}", 300);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(response.status().message().find("timed out"), std::string::npos)
      << response.status().message();
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
}

TEST(HttpPost, RefusedConnectionAndBadInput) {
  Result<HttpResponse> refused =
      HttpPost("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/", {}, "", 1000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("connect"), std::string::npos);

  Result<HttpResponse> https = HttpPost("https://127.0.0.1/", {}, "", 1000);
  ASSERT_FALSE(https.ok());
  EXPECT_EQ(https.status().code(), ErrorCode::kInvalidValue);

  Result<HttpResponse> injected =
      HttpPost("http://127.0.0.1:1/", {{"X-Bad", "a\r\nX-Evil: 1"}}, "", 1000);
  ASSERT_FALSE(injected.ok());
  EXPECT_EQ(injected.status().code(), ErrorCode::kInvalidValue);
}

// ---------------------------------------------------------------------------------------------
// Webhook and push senders

TEST(WebhookSender, PostsSignedPayload) {
  FakeHttpServer server(200, R"({"id":"evt_7"})");
  ChannelConfig config = Config("webhook", server.Url("/hooks/sextant"));
  config.secret = "whsec_test";
  OutboundMessage message = Message();
  DeliveryResult result = Make(config)->Send(message);
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_FALSE(result.retryable);
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.provider_id, "evt_7");
  EXPECT_EQ(result.error, "");

  RecordedRequest request = server.Request();
  EXPECT_EQ(request.target, "/hooks/sextant");
  EXPECT_EQ(request.body, message.payload_json);
  EXPECT_EQ(Header(request, "content-type"), "application/json");
  EXPECT_EQ(Header(request, "idempotency-key"), "j1:v2:n3:u42");
  EXPECT_EQ(Header(request, "x-sextant-timestamp"), "1700000000");
  EXPECT_EQ(Header(request, "x-sextant-signature"),
            "v1=0e84dbc99023d1e729a51fbc04ddb9f988d9c256f4e11395ec304b14b43c8645");
}

TEST(WebhookSender, TextBodyWithoutPayloadAndNoSignatureWithoutSecret) {
  FakeHttpServer server(204, "");
  OutboundMessage message = Message();
  message.payload_json.clear();
  message.body = "Line \"one\"\n二";
  DeliveryResult result = Make(Config("webhook", server.Url()))->Send(message);
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.status, 204);
  RecordedRequest request = server.Request();
  EXPECT_EQ(JsonAt(request.body, "/text"), "\"Line \\\"one\\\"\\n二\"");
  EXPECT_EQ(Header(request, "x-sextant-signature"), "<absent>");
  EXPECT_EQ(Header(request, "x-sextant-timestamp"), "1700000000");
}

TEST(WebhookSender, ClassifiesFailures) {
  struct Case {
    int status;
    bool retryable;
  };
  for (Case c :
       {Case{500, true}, Case{503, true}, Case{429, true}, Case{400, false}, Case{404, false}}) {
    FakeHttpServer server(c.status, "nope");
    DeliveryResult result = Make(Config("webhook", server.Url()))->Send(Message());
    EXPECT_FALSE(result.delivered) << c.status;
    EXPECT_EQ(result.retryable, c.retryable) << c.status;
    EXPECT_EQ(result.status, c.status);
    EXPECT_EQ(result.error, "HTTP " + std::to_string(c.status) + ": nope");
  }
}

TEST(WebhookSender, TimeoutAndRefusalAreRetryable) {
  {
    FakeHttpServer server(200, "", /*hang=*/true);
    ChannelConfig config = Config("webhook", server.Url());
    config.timeout_ms = 300;
    DeliveryResult result = Make(config)->Send(Message());
    EXPECT_FALSE(result.delivered);
    EXPECT_TRUE(result.retryable);
    EXPECT_EQ(result.status, 0);
    EXPECT_NE(result.error.find("timed out"), std::string::npos) << result.error;
  }
  DeliveryResult refused =
      Make(Config("webhook", "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/"))
          ->Send(Message());
  EXPECT_FALSE(refused.delivered);
  EXPECT_TRUE(refused.retryable);
}

TEST(WebhookSender, InvalidPayloadIsRejectedWithoutARequest) {
  FakeHttpServer server(200, "");
  OutboundMessage message = Message();
  message.payload_json = "{broken";
  DeliveryResult result = Make(Config("webhook", server.Url()))->Send(message);
  EXPECT_FALSE(result.delivered);
  EXPECT_FALSE(result.retryable);
  EXPECT_EQ(result.error, "payload_json: not a JSON object");
  EXPECT_FALSE(server.accepted());
}

TEST(HttpConnectionPool, ManyRequestsOnFewKeptAliveConnections) {
  KeepAliveHttpServer server;
  HttpConnectionPool pool(4);
  std::vector<HttpPostRequest> requests;
  for (int idx = 0; idx < 40; ++idx)
    requests.push_back({server.Url(), {{"Idempotency-Key", "k" + std::to_string(idx)}},
                        "b" + std::to_string(idx)});
  std::vector<Result<HttpResponse>> answers = pool.PostAll(requests, 2000);
  ASSERT_EQ(answers.size(), 40u);
  for (int idx = 0; idx < 40; ++idx) {
    ASSERT_TRUE(answers[idx].ok()) << idx << ": " << answers[idx].status().ToString();
    EXPECT_EQ(answers[idx]->status, 200);
    EXPECT_EQ(answers[idx]->body, "{\"id\":\"b" + std::to_string(idx) + "\"}");
  }
  EXPECT_EQ(server.requests(), 40);
  EXPECT_EQ(server.connections(), 4);  // one per worker, each kept for ten requests
  EXPECT_GE(server.most_in_progress(), 2);
  EXPECT_LE(server.most_in_progress(), 4);
  // A second batch goes out on the same connections.
  std::vector<Result<HttpResponse>> again = pool.PostAll(std::span(requests).first(8), 2000);
  for (const auto& answer : again) EXPECT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(server.connections(), 4);
  EXPECT_EQ(pool.connections_opened(), 4u);
}

TEST(HttpConnectionPool, ResendsOnAConnectionTheServerClosedWhileIdle) {
  KeepAliveHttpServer server(/*close_after=*/1);  // every connection answers once, then closes
  HttpConnectionPool pool(1);
  for (int round = 0; round < 5; ++round) {
    std::vector<HttpPostRequest> requests = {{server.Url(), {}, "r" + std::to_string(round)}};
    // Give the server time to close the connection the previous round left open.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::vector<Result<HttpResponse>> answers = pool.PostAll(requests, 2000);
    ASSERT_TRUE(answers[0].ok()) << round << ": " << answers[0].status().ToString();
    EXPECT_EQ(answers[0]->body, "{\"id\":\"r" + std::to_string(round) + "\"}");
  }
  EXPECT_EQ(server.requests(), 5);  // each answered exactly once
  EXPECT_EQ(server.connections(), 5);
}

TEST(HttpConnectionPool, EachRequestGetsItsOwnAnswer) {
  KeepAliveHttpServer server;
  HttpConnectionPool pool(2);
  std::vector<HttpPostRequest> requests = {
      {server.Url(), {}, "good"},
      {"https://127.0.0.1/x", {}, "tls"},
      {server.Url(), {{"X-Bad", "two\nlines"}}, "header"},
      {"http://127.0.0.1:" + std::to_string(ClosedPort()) + "/", {}, "refused"},
  };
  std::vector<Result<HttpResponse>> answers = pool.PostAll(requests, 2000);
  ASSERT_TRUE(answers[0].ok()) << answers[0].status().ToString();
  EXPECT_EQ(answers[0]->body, "{\"id\":\"good\"}");
  EXPECT_EQ(answers[1].status().code(), ErrorCode::kInvalidValue);
  EXPECT_EQ(answers[1].status().field(), "url");
  EXPECT_EQ(answers[2].status().code(), ErrorCode::kInvalidValue);
  EXPECT_EQ(answers[2].status().field(), "headers");
  EXPECT_EQ(answers[3].status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(answers[3].status().message().find("connect"), std::string::npos)
      << answers[3].status().message();
  EXPECT_EQ(server.requests(), 1);
}

TEST(WebhookSender, SendAllDeliversEveryMessageOnKeptAliveConnections) {
  KeepAliveHttpServer server;
  ChannelConfig config = Config("webhook", server.Url());
  config.connections = 3;
  config.secret = "s";
  std::unique_ptr<ChannelSender> sender = Make(config);
  std::vector<OutboundMessage> messages(12, Message());
  for (size_t idx = 0; idx < messages.size(); ++idx) {
    messages[idx].idempotency_key = "touch-" + std::to_string(idx);
    messages[idx].payload_json = R"({"n":)" + std::to_string(idx) + "}";
  }
  messages[5].payload_json = "[1]";  // not an object: rejected without a request
  std::vector<DeliveryResult> results = sender->SendAll(messages);
  ASSERT_EQ(results.size(), 12u);
  for (size_t idx = 0; idx < results.size(); ++idx) {
    if (idx == 5) {
      EXPECT_FALSE(results[idx].delivered);
      EXPECT_FALSE(results[idx].retryable);
      EXPECT_EQ(results[idx].error, "payload_json: not a JSON object");
      continue;
    }
    EXPECT_TRUE(results[idx].delivered) << idx << ": " << results[idx].error;
    EXPECT_EQ(results[idx].provider_id, "{n:" + std::to_string(idx) + "}");
  }
  EXPECT_EQ(server.requests(), 11);
  EXPECT_EQ(server.connections(), 3);
  std::vector<std::string> keys = server.idempotency_keys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::unique(keys.begin(), keys.end()), keys.end());  // each message once
}

TEST(HttpPushSender, PostsSignedNotification) {
  FakeHttpServer server(200, R"({"id":12345})");
  ChannelConfig config = Config("http_push", server.Url("/push"));
  config.secret = "push-secret";
  OutboundMessage message = Message();
  message.recipient = "device-token-1";
  message.subject = "基金到期";
  DeliveryResult result = Make(config)->Send(message);
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.provider_id, "12345");

  RecordedRequest request = server.Request();
  EXPECT_EQ(JsonAt(request.body, "/to"), "\"device-token-1\"");
  EXPECT_EQ(JsonAt(request.body, "/title"), "\"基金到期\"");
  EXPECT_EQ(JsonAt(request.body, "/body"), "\"Hello there\"");
  EXPECT_EQ(JsonAt(request.body, "/data"), message.payload_json);
  EXPECT_EQ(Header(request, "x-sextant-signature"),
            "v1=" + HmacSha256Hex("push-secret", "1700000000." + request.body));
  EXPECT_EQ(Header(request, "idempotency-key"), "j1:v2:n3:u42");
}

TEST(HttpPushSender, ServerErrorIsRetryableClientErrorIsNot) {
  {
    FakeHttpServer server(502, "");
    DeliveryResult result = Make(Config("http_push", server.Url()))->Send(Message());
    EXPECT_FALSE(result.delivered);
    EXPECT_TRUE(result.retryable);
  }
  FakeHttpServer server(410, "gone");
  DeliveryResult result = Make(Config("http_push", server.Url()))->Send(Message());
  EXPECT_FALSE(result.delivered);
  EXPECT_FALSE(result.retryable);
  EXPECT_EQ(result.status, 410);
}

// ---------------------------------------------------------------------------------------------
// Tencent SMS

ChannelConfig TencentConfig(const std::string& url) {
  ChannelConfig config = Config("tencent_sms", url);
  config.key_id = "AKIDtest";
  config.secret = "tencent-secret-key";
  config.sender = "1400006666";
  config.sign_name = "腾讯云";
  return config;
}

TEST(TencentSmsSender, SendsSignedSendSms) {
  FakeHttpServer server(
      200,
      R"({"Response":{"SendStatusSet":[{"SerialNo":"5000:104571","PhoneNumber":"+8613800000000","Fee":1,"Code":"Ok","Message":"send success"}],"RequestId":"a0aabda6"}})");
  OutboundMessage message = Message();
  message.recipient = "13800000000";
  message.subject = "449739";
  message.body = std::string("1234") + '\x1f' + "5";
  message.payload_json.clear();
  DeliveryResult result = Make(TencentConfig(server.Url("/")))->Send(message);
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.provider_id, "5000:104571");

  RecordedRequest request = server.Request();
  EXPECT_EQ(request.target, "/");
  EXPECT_EQ(Header(request, "host"), "sms.tencentcloudapi.com");
  EXPECT_EQ(Header(request, "content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(Header(request, "x-tc-action"), "SendSms");
  EXPECT_EQ(Header(request, "x-tc-version"), "2021-01-11");
  EXPECT_EQ(Header(request, "x-tc-timestamp"), "1700000000");
  EXPECT_EQ(Header(request, "x-tc-region"), "ap-guangzhou");
  EXPECT_EQ(Header(request, "authorization"),
            Tc3Authorization("AKIDtest", "tencent-secret-key", "sms", "sms.tencentcloudapi.com",
                             1700000000, request.body, "application/json; charset=utf-8"));
  EXPECT_NE(
      Header(request, "authorization").find("Credential=AKIDtest/2023-11-14/sms/tc3_request, "),
      std::string::npos);
  EXPECT_EQ(JsonAt(request.body, "/PhoneNumberSet"), R"(["+8613800000000"])");
  EXPECT_EQ(JsonAt(request.body, "/SmsSdkAppId"), "\"1400006666\"");
  EXPECT_EQ(JsonAt(request.body, "/SignName"), "\"腾讯云\"");
  EXPECT_EQ(JsonAt(request.body, "/TemplateId"), "\"449739\"");
  EXPECT_EQ(JsonAt(request.body, "/TemplateParamSet"), R"(["1234","5"])");
  EXPECT_EQ(JsonAt(request.body, "/SessionContext"), "\"j1:v2:n3:u42\"");
}

TEST(TencentSmsSender, TemplateParamsFromPayload) {
  FakeHttpServer server(200, R"({"Response":{"SendStatusSet":[{"SerialNo":"s","Code":"Ok"}]}})");
  OutboundMessage message = Message();
  message.recipient = "+85291234567";
  message.subject = "1001";
  message.payload_json = R"({"journey":"j","template_params":["王先生", 30]})";
  DeliveryResult result = Make(TencentConfig(server.Url("/")))->Send(message);
  EXPECT_TRUE(result.delivered) << result.error;
  RecordedRequest request = server.Request();
  EXPECT_EQ(JsonAt(request.body, "/PhoneNumberSet"), R"(["+85291234567"])");
  EXPECT_EQ(JsonAt(request.body, "/TemplateParamSet"), R"(["王先生","30"])");
}

TEST(TencentSmsSender, ProviderErrorsInA200) {
  struct Case {
    const char* answer;
    bool retryable;
    const char* error_prefix;
  };
  const Case cases[] = {
      {R"({"Response":{"Error":{"Code":"InternalError.Timeout","Message":"t"},"RequestId":"r"}})",
       true, "InternalError.Timeout: t"},
      {R"({"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"slow down"}}})", true,
       "RequestLimitExceeded: slow down"},
      {R"({"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"}}})", false,
       "AuthFailure.SignatureFailure: bad"},
      {R"({"Response":{"SendStatusSet":[{"Code":"LimitExceeded.PhoneNumberDailyLimit","Message":"daily"}]}})",
       false, "LimitExceeded.PhoneNumberDailyLimit: daily"},
      {R"(not json)", false, "unreadable SendSms answer"},
  };
  for (const Case& c : cases) {
    FakeHttpServer server(200, c.answer);
    OutboundMessage message = Message();
    message.recipient = "13800000000";
    message.subject = "1";
    DeliveryResult result = Make(TencentConfig(server.Url("/")))->Send(message);
    EXPECT_FALSE(result.delivered) << c.answer;
    EXPECT_EQ(result.retryable, c.retryable) << c.answer;
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.error.rfind(c.error_prefix, 0), 0u) << result.error;
  }
}

TEST(TencentSmsSender, HttpErrorsAndMissingTemplate) {
  {
    FakeHttpServer server(503, "");
    OutboundMessage message = Message();
    DeliveryResult result = Make(TencentConfig(server.Url("/")))->Send(message);
    EXPECT_FALSE(result.delivered);
    EXPECT_TRUE(result.retryable);
    EXPECT_EQ(result.status, 503);
  }
  OutboundMessage message = Message();
  message.subject.clear();
  DeliveryResult result = Make(TencentConfig("http://127.0.0.1:1/"))->Send(message);
  EXPECT_FALSE(result.delivered);
  EXPECT_FALSE(result.retryable);
  EXPECT_EQ(result.error, "subject: empty (the TemplateId)");
}

// ---------------------------------------------------------------------------------------------
// WeChat template messages

TEST(WechatTemplateSender, PostsTemplateWithAccessToken) {
  FakeHttpServer server(200, R"({"errcode":0,"errmsg":"ok","msgid":200228332})");
  ChannelConfig config = Config("wechat_template", server.Url("/cgi-bin/message/template/send"));
  config.sender = "ACCESS+TOKEN/1";
  OutboundMessage message = Message();
  message.recipient = "oXYZ-openid";
  message.subject = "tmpl-123";
  message.payload_json =
      R"({"journey":"j","url":"https://m.example.com/fund","data":{"first":{"value":"您好"}}})";
  DeliveryResult result = Make(config)->Send(message);
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.provider_id, "200228332");

  RecordedRequest request = server.Request();
  EXPECT_EQ(request.target, "/cgi-bin/message/template/send?access_token=ACCESS%2BTOKEN%2F1");
  EXPECT_EQ(JsonAt(request.body, "/touser"), "\"oXYZ-openid\"");
  EXPECT_EQ(JsonAt(request.body, "/template_id"), "\"tmpl-123\"");
  EXPECT_EQ(JsonAt(request.body, "/url"), "\"https://m.example.com/fund\"");
  EXPECT_EQ(JsonAt(request.body, "/data"), R"({"first":{"value":"您好"}})");
}

TEST(WechatTemplateSender, DefaultDataAndErrcodes) {
  {
    FakeHttpServer server(200, R"({"errcode":0,"msgid":1})");
    ChannelConfig config = Config("wechat_template", server.Url("/send?x=1"));
    config.sender = "tok";
    OutboundMessage message = Message();
    message.payload_json.clear();
    DeliveryResult result = Make(config)->Send(message);
    EXPECT_TRUE(result.delivered) << result.error;
    RecordedRequest request = server.Request();
    EXPECT_EQ(request.target, "/send?x=1&access_token=tok");
    EXPECT_EQ(JsonAt(request.body, "/data"), R"({"content":{"value":"Hello there"}})");
  }
  struct Case {
    const char* answer;
    bool retryable;
  };
  for (Case c : {Case{R"({"errcode":40001,"errmsg":"invalid credential"})", false},
                 Case{R"({"errcode":-1,"errmsg":"system busy"})", true},
                 Case{R"({"errcode":45009,"errmsg":"reach max api daily quota limit"})", true}}) {
    FakeHttpServer server(200, c.answer);
    ChannelConfig config = Config("wechat_template", server.Url("/send"));
    config.sender = "tok";
    DeliveryResult result = Make(config)->Send(Message());
    EXPECT_FALSE(result.delivered) << c.answer;
    EXPECT_EQ(result.retryable, c.retryable) << c.answer;
    EXPECT_EQ(result.error.rfind("errcode ", 0), 0u) << result.error;
  }
}

// ---------------------------------------------------------------------------------------------
// SMTP

// Header name (lower case) → unfolded value, and the body, of a CRLF message.
struct ParsedMail {
  std::map<std::string, std::string> headers;
  std::string body;
};

ParsedMail ParseMail(const std::string& data) {
  ParsedMail mail;
  size_t split = data.find("\r\n\r\n");
  std::string head = data.substr(0, split);
  mail.body = split == std::string::npos ? "" : data.substr(split + 4);
  std::string unfolded;
  for (size_t idx = 0; idx < head.size(); ++idx) {
    if (head.compare(idx, 3, "\r\n ") == 0) {
      idx += 2;  // folding: CRLF + space continues the header
      continue;
    }
    unfolded += head[idx];
  }
  size_t pos = 0;
  while (pos <= unfolded.size()) {
    size_t end = unfolded.find("\r\n", pos);
    std::string line = unfolded.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      mail.headers[name] = line.substr(colon + 2);
    }
    if (end == std::string::npos) break;
    pos = end + 2;
  }
  return mail;
}

// Decodes a header made of "=?UTF-8?B?...?=" words (unfolded, so words are adjacent or space
// separated); plain text passes through.
std::string DecodeHeader(const std::string& value) {
  std::string out;
  size_t pos = 0;
  if (value.rfind("=?", 0) != 0) return value;
  while ((pos = value.find("=?UTF-8?B?", pos)) != std::string::npos) {
    size_t start = pos + 10;
    size_t end = value.find("?=", start);
    std::optional<std::string> decoded = Base64Decode(value.substr(start, end - start));
    EXPECT_TRUE(decoded.has_value());
    out += decoded.value_or("");
    pos = end + 2;
  }
  return out;
}

ChannelConfig SmtpConfig(const std::string& url) {
  ChannelConfig config = Config("smtp", url);
  config.sender = "noreply@sextant.test";
  return config;
}

OutboundMessage MailMessage() {
  OutboundMessage message = Message();
  message.recipient = "alice@example.com";
  message.subject = "您的基金已到期";
  message.body = "尊敬的客户：\n您的基金已到期，请登录查看。\n" + std::string(100, 'x');
  return message;
}

TEST(SmtpSender, DeliversMimeMessage) {
  FakeSmtpServer server;
  OutboundMessage message = MailMessage();
  DeliveryResult result = Make(SmtpConfig(server.Url()))->Send(message);
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_FALSE(result.retryable);
  EXPECT_EQ(result.status, 250);
  EXPECT_EQ(result.provider_id, "OK queued as Q42");

  std::vector<std::string> commands = server.Commands();
  ASSERT_EQ(commands.size(), 5u);
  EXPECT_EQ(commands[0], "EHLO [127.0.0.1]");
  EXPECT_EQ(commands[1], "MAIL FROM:<noreply@sextant.test>");
  EXPECT_EQ(commands[2], "RCPT TO:<alice@example.com>");
  EXPECT_EQ(commands[3], "DATA");
  EXPECT_EQ(commands[4], "QUIT");

  const std::string& data = server.data();
  ParsedMail mail = ParseMail(data);
  EXPECT_EQ(mail.headers["from"], "noreply@sextant.test");
  EXPECT_EQ(mail.headers["to"], "alice@example.com");
  EXPECT_EQ(mail.headers["subject"].rfind("=?UTF-8?B?", 0), 0u) << mail.headers["subject"];
  EXPECT_EQ(DecodeHeader(mail.headers["subject"]), "您的基金已到期");
  EXPECT_EQ(mail.headers["date"], "Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(mail.headers["message-id"], "<j1=3Av2=3An3=3Au42@sextant>");
  EXPECT_EQ(mail.headers["mime-version"], "1.0");
  EXPECT_EQ(mail.headers["content-type"], "text/plain; charset=UTF-8");
  EXPECT_EQ(mail.headers["content-transfer-encoding"], "base64");

  // Base64 lines of at most 76 characters that decode to the body with CRLF line ends.
  size_t pos = 0;
  while (pos < mail.body.size()) {
    size_t end = mail.body.find("\r\n", pos);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - pos, 76u);
    pos = end + 2;
  }
  std::optional<std::string> body = Base64Decode(mail.body);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body, "尊敬的客户：\r\n您的基金已到期，请登录查看。\r\n" + std::string(100, 'x'));
}

TEST(SmtpSender, ReplyCodesDecideRetry) {
  struct Case {
    std::map<std::string, std::string> replies;
    bool retryable;
    int status;
    const char* step;
  };
  const Case cases[] = {
      {{{"RCPT", "550 5.1.1 no such user"}}, false, 550, "RCPT TO"},
      {{{"MAIL", "451 4.3.0 try later"}}, true, 451, "MAIL FROM"},
      {{{"MESSAGE", "552 too big"}}, false, 552, "message"},
      {{{"MESSAGE", "421 closing"}}, true, 421, "message"},
      {{{"DATA", "250 not what you expect"}}, false, 250, "DATA"},
      {{{"GREETING", "554 go away"}}, false, 554, "greeting"},
  };
  for (const Case& c : cases) {
    FakeSmtpServer server(c.replies);
    DeliveryResult result = Make(SmtpConfig(server.Url()))->Send(MailMessage());
    (void)server.Commands();
    EXPECT_FALSE(result.delivered) << c.step;
    EXPECT_EQ(result.retryable, c.retryable) << c.step;
    EXPECT_EQ(result.status, c.status) << c.step;
    EXPECT_EQ(result.error.rfind(std::string(c.step) + ": ", 0), 0u) << result.error;
  }
}

TEST(SmtpSender, FallsBackToHeloAndAcceptsMultilineReplies) {
  FakeSmtpServer server(
      {{"EHLO", "502 5.5.1 EHLO not implemented"}, {"MESSAGE", "250-queued\r\n250 as Q7"}});
  DeliveryResult result = Make(SmtpConfig(server.Url()))->Send(MailMessage());
  EXPECT_TRUE(result.delivered) << result.error;
  EXPECT_EQ(result.provider_id, "queued\nas Q7");
  std::vector<std::string> commands = server.Commands();
  ASSERT_GE(commands.size(), 2u);
  EXPECT_EQ(commands[0], "EHLO [127.0.0.1]");
  EXPECT_EQ(commands[1], "HELO [127.0.0.1]");
}

TEST(SmtpSender, TimeoutIsRetryable) {
  FakeSmtpServer server(std::map<std::string, std::string>{{"RCPT", "HANG"}});
  ChannelConfig config = SmtpConfig(server.Url());
  config.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  DeliveryResult result = Make(config)->Send(MailMessage());
  auto elapsed = std::chrono::steady_clock::now() - start;
  (void)server.Commands();
  EXPECT_FALSE(result.delivered);
  EXPECT_TRUE(result.retryable);
  EXPECT_NE(result.error.find("timed out"), std::string::npos) << result.error;
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
}

TEST(SmtpSender, RefusedConnectionIsRetryableBadRecipientIsNot) {
  DeliveryResult refused =
      Make(SmtpConfig("smtp://127.0.0.1:" + std::to_string(ClosedPort())))->Send(MailMessage());
  EXPECT_FALSE(refused.delivered);
  EXPECT_TRUE(refused.retryable);

  OutboundMessage message = MailMessage();
  message.recipient = "alice@example.com>\r\nRCPT TO:<mallory@example.com";
  DeliveryResult rejected = Make(SmtpConfig("smtp://127.0.0.1:1"))->Send(message);
  EXPECT_FALSE(rejected.delivered);
  EXPECT_FALSE(rejected.retryable);
  EXPECT_EQ(rejected.error.rfind("recipient: ", 0), 0u);
}

TEST(SmtpSender, HeaderEncodingAndDotStuffing) {
  EXPECT_EQ(EncodeHeaderText("Plain subject"), "Plain subject");
  // Control characters are encoded rather than written raw (no header injection).
  EXPECT_EQ(EncodeHeaderText("a\r\nBcc: x@y").rfind("=?UTF-8?B?", 0), 0u);
  // Long text splits into several words, none breaking a UTF-8 sequence.
  std::string long_text;
  for (int idx = 0; idx < 20; ++idx) long_text += "您的基金已到期";
  std::string encoded = EncodeHeaderText(long_text);
  EXPECT_NE(encoded.find("?=\r\n =?UTF-8?B?"), std::string::npos);
  size_t pos = 0;
  while ((pos = encoded.find("=?UTF-8?B?", pos)) != std::string::npos) {
    size_t end = encoded.find("?=", pos + 10);
    EXPECT_LE(end + 2 - pos, 75u);
    std::optional<std::string> word = Base64Decode(encoded.substr(pos + 10, end - pos - 10));
    ASSERT_TRUE(word.has_value());
    EXPECT_EQ(word->size() % 3, 0u);  // whole three-byte characters
    pos = end + 2;
  }
  std::string unfolded;
  for (size_t idx = 0; idx < encoded.size(); ++idx) {
    if (encoded.compare(idx, 3, "\r\n ") == 0) {
      idx += 2;
      continue;
    }
    unfolded += encoded[idx];
  }
  EXPECT_EQ(DecodeHeader(unfolded), long_text);

  EXPECT_EQ(SmtpMessageId("j1:v2"), "<j1=3Av2@sextant>");
  EXPECT_EQ(SmtpMessageId("a=3Ab"), "<a=3D3Ab@sextant>");  // no collision with "a:b"
  EXPECT_EQ(SmtpMessageId("touch-1.x_y"), "<touch-1.x_y@sextant>");

  EXPECT_TRUE(IsPlainEmailAddress("a.b+c@example.com"));
  EXPECT_FALSE(IsPlainEmailAddress("Alice <a@b>"));
  EXPECT_FALSE(IsPlainEmailAddress("a@"));
  EXPECT_FALSE(IsPlainEmailAddress("no-at-sign"));
}

}  // namespace
}  // namespace sextant::channel
