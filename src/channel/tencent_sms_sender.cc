#include "channel/tencent_sms_sender.h"

#include <simdjson.h>

#include "channel/http_client.h"
#include "channel/http_delivery.h"
#include "channel/tc3_signer.h"
#include "channel/url.h"

namespace sextant::channel {
namespace {

constexpr std::string_view kDefaultHost = "sms.tencentcloudapi.com";
constexpr std::string_view kDefaultUrl = "http://sms.tencentcloudapi.com/";
constexpr std::string_view kDefaultRegion = "ap-guangzhou";
constexpr std::string_view kContentType = "application/json; charset=utf-8";
constexpr char kParamSeparator = '\x1f';

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string PhoneNumber(std::string_view recipient) {
  bool mainland = recipient.size() == 11 && recipient.front() == '1' &&
                  recipient.find_first_not_of("0123456789") == std::string_view::npos;
  return mainland ? "+86" + std::string(recipient) : std::string(recipient);
}

// The TemplateParamSet JSON array, or a Status naming what is wrong with the message.
Result<std::string> TemplateParams(const OutboundMessage& message) {
  std::string out = "[";
  bool first = true;
  auto append = [&](std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += internal::JsonString(value);
  };
  std::string params_json;
  if (!message.payload_json.empty()) {
    if (!internal::IsJsonObject(message.payload_json)) {
      return Status(ErrorCode::kInvalidValue, "payload_json: not a JSON object", "payload_json");
    }
    params_json = internal::JsonMember(message.payload_json, "template_params");
  }
  if (!params_json.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::array array;
    if (parser.parse(params_json).get_array().get(array) != simdjson::SUCCESS) {
      return Status(ErrorCode::kInvalidValue, "payload_json.template_params: not an array",
                    "payload_json.template_params");
    }
    for (simdjson::dom::element element : array) {
      std::string_view text;
      if (element.get_string().get(text) == simdjson::SUCCESS) {
        append(text);
      } else if (element.is_number()) {
        append(simdjson::minify(element));
      } else {
        return Status(ErrorCode::kInvalidValue,
                      "payload_json.template_params: elements must be strings or numbers",
                      "payload_json.template_params");
      }
    }
  } else if (!message.body.empty()) {
    std::string_view rest = message.body;
    for (;;) {
      size_t separator = rest.find(kParamSeparator);
      append(rest.substr(0, separator));
      if (separator == std::string_view::npos) break;
      rest.remove_prefix(separator + 1);
    }
  }
  out += ']';
  return out;
}

bool RetryableTencentCode(std::string_view code) {
  return StartsWith(code, "InternalError") || StartsWith(code, "RequestLimitExceeded");
}

DeliveryResult ProviderFailure(int status, std::string_view code, std::string_view message) {
  DeliveryResult result;
  result.status = status;
  result.retryable = RetryableTencentCode(code);
  result.error = std::string(code) + ": " + std::string(message);
  return result;
}

DeliveryResult InterpretAnswer(const HttpResponse& response) {
  DeliveryResult unreadable;
  unreadable.status = response.status;
  unreadable.error = "unreadable SendSms answer: " + response.body.substr(0, 200);

  simdjson::dom::parser parser;
  simdjson::dom::object answer;
  if (parser.parse(response.body).get_object().get(answer) != simdjson::SUCCESS) {
    return unreadable;
  }
  simdjson::dom::object error;
  if (answer["Response"]["Error"].get_object().get(error) == simdjson::SUCCESS) {
    return ProviderFailure(response.status, internal::StringMember(error, "Code"),
                           internal::StringMember(error, "Message"));
  }
  simdjson::dom::array statuses;
  if (answer["Response"]["SendStatusSet"].get_array().get(statuses) != simdjson::SUCCESS) {
    return unreadable;
  }
  simdjson::dom::object first;
  if (statuses.at(0).get_object().get(first) != simdjson::SUCCESS) return unreadable;
  std::string_view code = internal::StringMember(first, "Code");
  std::string_view message = internal::StringMember(first, "Message");
  std::string_view serial = internal::StringMember(first, "SerialNo");
  if (code != "Ok") return ProviderFailure(response.status, code, message);
  DeliveryResult result;
  result.delivered = true;
  result.status = response.status;
  result.provider_id = std::string(serial);
  return result;
}

}  // namespace

std::string TencentSignedHost(std::string_view url_host) {
  if (url_host == "tencentcloudapi.com" || EndsWith(url_host, ".tencentcloudapi.com")) {
    return std::string(url_host);
  }
  return std::string(kDefaultHost);
}

TencentSmsSender::TencentSmsSender(ChannelConfig config) : config_(std::move(config)) {
  if (config_.url.empty()) config_.url = std::string(kDefaultUrl);
  if (config_.region.empty()) config_.region = std::string(kDefaultRegion);
  Result<ParsedUrl> url = ParseUrl(config_.url, "http", 80);
  host_ = TencentSignedHost(url.ok() ? url->host : std::string());
}

DeliveryResult TencentSmsSender::Send(const OutboundMessage& message) {
  if (message.recipient.empty()) return internal::Rejected("recipient: empty");
  if (message.subject.empty()) return internal::Rejected("subject: empty (the TemplateId)");
  Result<std::string> params = TemplateParams(message);
  if (!params.ok()) return internal::Rejected(params.status().message());

  std::string body = "{\"PhoneNumberSet\":[" +
                     internal::JsonString(PhoneNumber(message.recipient)) +
                     "],\"SmsSdkAppId\":" + internal::JsonString(config_.sender);
  if (!config_.sign_name.empty())
    body += ",\"SignName\":" + internal::JsonString(config_.sign_name);
  body += ",\"TemplateId\":" + internal::JsonString(message.subject);
  body += ",\"TemplateParamSet\":" + *params;
  if (!message.idempotency_key.empty()) {
    body += ",\"SessionContext\":" + internal::JsonString(message.idempotency_key);
  }
  body += "}";

  int64_t timestamp_s = internal::TimestampSeconds(message);
  HttpHeaders headers = {
      {"Host", host_},
      {"Content-Type", std::string(kContentType)},
      {"Authorization", Tc3Authorization(config_.key_id, config_.secret, "sms", host_, timestamp_s,
                                         body, kContentType)},
      {"X-TC-Action", "SendSms"},
      {"X-TC-Timestamp", std::to_string(timestamp_s)},
      {"X-TC-Version", "2021-01-11"},
      {"X-TC-Region", config_.region},
  };
  Result<HttpResponse> response = HttpPost(config_.url, headers, body, config_.timeout_ms);
  if (!response.ok()) return internal::FromTransportError(response.status());
  if (response->status < 200 || response->status >= 300) {
    return internal::FromHttpError(*response);
  }
  return InterpretAnswer(*response);
}

}  // namespace sextant::channel
