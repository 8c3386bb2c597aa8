#include "channel/smtp_sender.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <exception>
#include <optional>

#include "channel/crypto.h"
#include "channel/http_delivery.h"
#include "channel/tcp_deadline.h"

namespace sextant::channel {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr uint16_t kSmtpPort = 25;
constexpr size_t kMaxReplyBytes = 64 * 1024;
constexpr size_t kMaxPlainHeaderBytes = 900;
constexpr size_t kEncodedWordSourceBytes = 39;  // 52 base64 chars: a 64-char encoded-word
constexpr size_t kBase64LineChars = 76;

bool IsPrintableAscii(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Length of the UTF-8 sequence that starts with `lead` (1 for stray continuation bytes, so
// invalid input still makes progress and is carried through byte for byte).
size_t Utf8SequenceLength(unsigned char lead) {
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

bool IsAtext(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-/?^_`{|}~.").find(static_cast<char>(c)) !=
                                std::string_view::npos;
}

std::string MessageIdLocalPart(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (IsAtext(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('=');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

std::string RfcDate(int64_t now_ms) {
  std::time_t time = static_cast<std::time_t>(now_ms / 1000);
  std::tm utc{};
  gmtime_r(&time, &utc);
  // strftime's %a/%b follow the locale; RFC 5322 needs the English names.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday],
                utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                utc.tm_sec);
  return buffer;
}

// Bare LF and bare CR become CRLF.
std::string CanonicalLineEnds(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t idx = 0; idx < text.size(); ++idx) {
    char c = text[idx];
    if (c == '\r') {
      out += "\r\n";
      if (idx + 1 < text.size() && text[idx + 1] == '\n') ++idx;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct SmtpReply {
  int code = 0;
  std::string text;  // the lines' texts after the code, joined by "\n"
};

// One SMTP conversation over a connected stream; every step honours the same deadline.
class SmtpConversation {
 public:
  SmtpConversation(asio::io_context& ioc, beast::tcp_stream& stream, internal::Deadline deadline,
                   int timeout_ms)
      : ioc_(ioc), stream_(stream), deadline_(deadline), timeout_ms_(timeout_ms) {}

  // A transport failure or malformed reply, as the DeliveryResult error; nullopt on success.
  std::optional<std::string> Write(std::string_view data) {
    stream_.expires_at(deadline_);
    beast::error_code ec = internal::RunToCompletion(ioc_, [&](auto handler) {
                             asio::async_write(stream_, asio::buffer(data), std::move(handler));
                           }).ec;
    if (ec) return internal::DescribeError("smtp write", ec, timeout_ms_);
    return std::nullopt;
  }

  std::optional<std::string> ReadReply(SmtpReply* reply) {
    reply->code = 0;
    reply->text.clear();
    for (;;) {
      stream_.expires_at(deadline_);
      internal::IoResult io = internal::RunToCompletion(ioc_, [&](auto handler) {
        asio::async_read_until(stream_, asio::dynamic_buffer(buffer_, kMaxReplyBytes), "\n",
                               std::move(handler));
      });
      if (io.ec) return internal::DescribeError("smtp read", io.ec, timeout_ms_);
      std::string line = buffer_.substr(0, io.bytes - 1);
      buffer_.erase(0, io.bytes);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
          !std::isdigit(static_cast<unsigned char>(line[1])) ||
          !std::isdigit(static_cast<unsigned char>(line[2])) ||
          (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        return "smtp: malformed reply line: " + line.substr(0, 100);
      }
      int code = std::stoi(line.substr(0, 3));
      if (reply->code != 0 && code != reply->code) {
        return "smtp: multi-line reply changes code: " + line.substr(0, 100);
      }
      reply->code = code;
      if (!reply->text.empty()) reply->text += '\n';
      if (line.size() > 4) reply->text += line.substr(4);
      if (line.size() <= 3 || line[3] == ' ') return std::nullopt;
    }
  }

 private:
  asio::io_context& ioc_;
  beast::tcp_stream& stream_;
  internal::Deadline deadline_;
  int timeout_ms_;
  std::string buffer_;
};

DeliveryResult TransportFailure(std::string error) {
  DeliveryResult result;
  result.retryable = true;
  result.error = std::move(error);
  return result;
}

// A reply outside the expected class (2 = 2xx, 3 = 3xx).
DeliveryResult ReplyFailure(const char* step, const SmtpReply& reply) {
  DeliveryResult result;
  result.status = reply.code;
  result.retryable = reply.code / 100 == 4;
  result.error = std::string(step) + ": " + std::to_string(reply.code) + " " + reply.text;
  return result;
}

// "[127.0.0.1]" / "[IPv6:::1]": the EHLO argument when we have no FQDN (RFC 5321 4.1.3).
std::string AddressLiteral(const beast::tcp_stream& stream) {
  beast::error_code ec;
  asio::ip::tcp::endpoint local = stream.socket().local_endpoint(ec);
  if (ec) return "[127.0.0.1]";
  asio::ip::address address = local.address();
  if (address.is_v6()) return "[IPv6:" + address.to_string() + "]";
  return "[" + address.to_string() + "]";
}

// Dot-stuffing (RFC 5321 4.5.2) and the end-of-data terminator. Base64 bodies and our headers
// never start a line with '.', but stuffing keeps the framing right whatever the content.
std::string DataSection(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 8);
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = c == '\n';
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace

std::string EncodeHeaderText(std::string_view text) {
  if (IsPrintableAscii(text) && text.size() <= kMaxPlainHeaderBytes) return std::string(text);
  std::string out;
  size_t idx = 0;
  while (idx < text.size()) {
    size_t end = idx;
    while (end < text.size()) {
      size_t next = end + Utf8SequenceLength(static_cast<unsigned char>(text[end]));
      if (next > text.size()) next = text.size();
      if (next - idx > kEncodedWordSourceBytes && end > idx) break;
      end = next;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(text.substr(idx, end - idx)) + "?=";
    idx = end;
  }
  return out;
}

std::string BuildMimeMessage(std::string_view from, const OutboundMessage& message) {
  int64_t now_ms = internal::TimestampSeconds(message) * 1000;
  std::string out;
  out += "From: " + std::string(from) + "\r\n";
  out += "To: " + message.recipient + "\r\n";
  out += "Subject: " + EncodeHeaderText(message.subject) + "\r\n";
  out += "Date: " + RfcDate(now_ms) + "\r\n";
  if (!message.idempotency_key.empty()) {
    out += "Message-ID: " + SmtpMessageId(message.idempotency_key) + "\r\n";
  }
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: base64\r\n";
  out += "\r\n";
  std::string encoded = Base64Encode(CanonicalLineEnds(message.body));
  for (size_t pos = 0; pos < encoded.size(); pos += kBase64LineChars) {
    out.append(encoded, pos, kBase64LineChars);
    out += "\r\n";
  }
  return out;
}

std::string SmtpMessageId(std::string_view idempotency_key) {
  return "<" + MessageIdLocalPart(idempotency_key) + "@sextant>";
}

bool IsPlainEmailAddress(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return false;
  for (unsigned char c : address) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
        c == ';' || c == '"' || c == '\\') {
      return false;
    }
  }
  return true;
}

SmtpSender::SmtpSender(ChannelConfig config) : config_(std::move(config)) {
  Result<ParsedUrl> url = ParseUrl(config_.url, "smtp", kSmtpPort);
  if (url.ok()) url_ = *url;
}

DeliveryResult SmtpSender::Send(const OutboundMessage& message) {
  if (!IsPlainEmailAddress(message.recipient)) {
    return internal::Rejected("recipient: not a plain email address (local@domain)");
  }
  if (url_.host.empty()) return internal::Rejected("url: not a valid smtp:// address");
  std::string data = DataSection(BuildMimeMessage(config_.sender, message));

  // Boost signals allocation failures and some internal errors by throwing; never let one out.
  try {
    internal::Deadline deadline = internal::DeadlineAfterMs(config_.timeout_ms);
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::error_code ec = internal::ConnectBefore(ioc, stream, url_.host, url_.port, deadline);
    if (ec)
      return TransportFailure(internal::DescribeError("smtp connect", ec, config_.timeout_ms));
    SmtpConversation smtp(ioc, stream, deadline, config_.timeout_ms);
    SmtpReply reply;

    // Sends `command` (unless empty) and reads the reply; `expected_class` is 2 or 3.
    auto step = [&](const char* name, const std::string& command,
                    int expected_class) -> std::optional<DeliveryResult> {
      if (!command.empty()) {
        if (auto error = smtp.Write(command)) return TransportFailure(*error);
      }
      if (auto error = smtp.ReadReply(&reply)) return TransportFailure(*error);
      if (reply.code / 100 != expected_class) return ReplyFailure(name, reply);
      return std::nullopt;
    };

    if (auto failed = step("greeting", "", 2)) return *failed;
    std::string client = AddressLiteral(stream);
    if (auto failed = step("EHLO", "EHLO " + client + "\r\n", 2)) {
      // Servers without ESMTP answer 500/502; anything else is final.
      if (failed->status != 500 && failed->status != 502) return *failed;
      if (auto helo_failed = step("HELO", "HELO " + client + "\r\n", 2)) return *helo_failed;
    }
    if (auto failed = step("MAIL FROM", "MAIL FROM:<" + config_.sender + ">\r\n", 2)) {
      return *failed;
    }
    if (auto failed = step("RCPT TO", "RCPT TO:<" + message.recipient + ">\r\n", 2)) {
      return *failed;
    }
    if (auto failed = step("DATA", "DATA\r\n", 3)) return *failed;
    if (auto failed = step("message", data, 2)) return *failed;

    DeliveryResult result;
    result.delivered = true;
    result.status = reply.code;
    result.provider_id = reply.text;
    // The relay has the message; QUIT is courtesy and its outcome does not change that.
    SmtpReply quit_reply;
    if (!smtp.Write("QUIT\r\n")) (void)smtp.ReadReply(&quit_reply);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return result;
  } catch (const std::exception& e) {
    return TransportFailure(std::string("smtp: ") + e.what());
  }
}

}  // namespace sextant::channel
