#include "channel/wechat_template_sender.h"

#include <simdjson.h>

#include <cctype>

#include "channel/http_client.h"
#include "channel/http_delivery.h"

namespace sextant::channel {
namespace {

constexpr int64_t kSystemBusy = -1;
constexpr int64_t kApiRateLimit = 45009;

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

}  // namespace

WechatTemplateSender::WechatTemplateSender(ChannelConfig config) : config_(std::move(config)) {
  url_with_token_ = config_.url;
  url_with_token_ += config_.url.find('?') == std::string::npos ? '?' : '&';
  url_with_token_ += "access_token=" + PercentEncode(config_.sender);
}

DeliveryResult WechatTemplateSender::Send(const OutboundMessage& message) {
  if (message.recipient.empty()) return internal::Rejected("recipient: empty (the openid)");
  if (message.subject.empty()) return internal::Rejected("subject: empty (the template id)");
  std::string data;
  std::string link;
  if (!message.payload_json.empty()) {
    if (!internal::IsJsonObject(message.payload_json)) {
      return internal::Rejected("payload_json: not a JSON object");
    }
    data = internal::JsonMember(message.payload_json, "data");
    if (!data.empty() && data.front() != '{') {
      return internal::Rejected("payload_json.data: not a JSON object");
    }
    std::string url_member = internal::JsonMember(message.payload_json, "url");
    if (!url_member.empty() && url_member.front() == '"') link = url_member;
  }
  if (data.empty()) data = "{\"content\":{\"value\":" + internal::JsonString(message.body) + "}}";

  std::string body = "{\"touser\":" + internal::JsonString(message.recipient) +
                     ",\"template_id\":" + internal::JsonString(message.subject);
  if (!link.empty()) body += ",\"url\":" + link;
  body += ",\"data\":" + data + "}";

  HttpHeaders headers = {{"Content-Type", "application/json; charset=utf-8"}};
  if (!message.idempotency_key.empty()) {
    headers.emplace_back("Idempotency-Key", message.idempotency_key);
  }
  Result<HttpResponse> response = HttpPost(url_with_token_, headers, body, config_.timeout_ms);
  if (!response.ok()) return internal::FromTransportError(response.status());
  if (response->status < 200 || response->status >= 300) {
    return internal::FromHttpError(*response);
  }

  DeliveryResult result;
  result.status = response->status;
  simdjson::dom::parser parser;
  simdjson::dom::object answer;
  int64_t errcode = 0;
  if (parser.parse(response->body).get_object().get(answer) != simdjson::SUCCESS ||
      answer["errcode"].get_int64().get(errcode) != simdjson::SUCCESS) {
    // Without an errcode we cannot tell whether WeChat accepted the message; not retrying
    // avoids a duplicate.
    result.error = "unreadable WeChat answer: " + response->body.substr(0, 200);
    return result;
  }
  if (errcode != 0) {
    std::string_view errmsg = internal::StringMember(answer, "errmsg");
    result.retryable = errcode == kSystemBusy || errcode == kApiRateLimit;
    result.error = "errcode " + std::to_string(errcode) + ": " + std::string(errmsg);
    return result;
  }
  result.delivered = true;
  result.provider_id = internal::JsonScalarMember(response->body, "msgid");
  return result;
}

}  // namespace sextant::channel
