#include "channel/http_delivery.h"

#include <simdjson.h>

#include "channel/webhook_sender.h"
#include "common/clock.h"
#include "common/json_writer.h"

namespace sextant::channel::internal {

namespace {

constexpr size_t kErrorBodyPrefix = 200;

}  // namespace

DeliveryResult FromTransportError(const Status& status) {
  DeliveryResult result;
  result.retryable = status.code() != ErrorCode::kInvalidValue;
  result.error = status.message();
  return result;
}

DeliveryResult FromHttpError(const HttpResponse& response) {
  DeliveryResult result;
  result.status = response.status;
  result.retryable = IsRetryableHttpStatus(response.status);
  result.error = "HTTP " + std::to_string(response.status);
  if (!response.body.empty()) {
    result.error += ": " + response.body.substr(0, kErrorBodyPrefix);
  }
  return result;
}

DeliveryResult Rejected(std::string error) {
  DeliveryResult result;
  result.error = std::move(error);
  return result;
}

DeliveryResult FromJsonAnswer(const Result<HttpResponse>& response) {
  if (!response.ok()) return FromTransportError(response.status());
  if (response->status < 200 || response->status >= 300) return FromHttpError(*response);
  DeliveryResult result;
  result.delivered = true;
  result.status = response->status;
  result.provider_id = JsonScalarMember(response->body, "id");
  return result;
}

std::vector<DeliveryResult> PostSignedJson(
    HttpConnectionPool& pool, const ChannelConfig& config,
    std::span<const OutboundMessage> messages,
    const std::function<JsonBodyOrResult(const OutboundMessage&)>& make_body) {
  std::vector<DeliveryResult> results(messages.size());
  std::vector<HttpPostRequest> requests;
  std::vector<size_t> posted;  // requests[k] is messages[posted[k]]
  requests.reserve(messages.size());
  for (size_t idx = 0; idx < messages.size(); ++idx) {
    JsonBodyOrResult body = make_body(messages[idx]);
    if (auto* rejected = std::get_if<DeliveryResult>(&body)) {
      results[idx] = std::move(*rejected);
      continue;
    }
    std::string& text = std::get<std::string>(body);
    HttpHeaders headers = SignedJsonHeaders(config.secret, messages[idx], text);
    requests.push_back(HttpPostRequest{config.url, std::move(headers), std::move(text)});
    posted.push_back(idx);
  }
  std::vector<Result<HttpResponse>> answers = pool.PostAll(requests, config.timeout_ms);
  for (size_t k = 0; k < posted.size(); ++k) results[posted[k]] = FromJsonAnswer(answers[k]);
  return results;
}

int64_t TimestampSeconds(const OutboundMessage& message) {
  int64_t now_ms = message.now_ms != 0 ? message.now_ms : SystemClock::Instance().NowMs();
  return now_ms / 1000;
}

HttpHeaders SignedJsonHeaders(std::string_view secret, const OutboundMessage& message,
                              std::string_view body) {
  int64_t timestamp_s = TimestampSeconds(message);
  HttpHeaders headers = {
      {"Content-Type", "application/json"},
      {"X-Sextant-Timestamp", std::to_string(timestamp_s)},
  };
  if (!message.idempotency_key.empty()) {
    headers.emplace_back("Idempotency-Key", message.idempotency_key);
  }
  if (!secret.empty()) {
    headers.emplace_back("X-Sextant-Signature", SextantSignature(secret, timestamp_s, body));
  }
  return headers;
}

bool IsJsonObject(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return false;
  return root.type() == simdjson::dom::element_type::OBJECT;
}

std::string JsonMember(std::string_view json, std::string_view key) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return "";
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return "";
  simdjson::dom::element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS) return "";
  return simdjson::minify(value);
}

std::string JsonScalarMember(std::string_view json, std::string_view key) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return "";
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return "";
  simdjson::dom::element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS) return "";
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  int64_t number = 0;
  if (value.get_int64().get(number) == simdjson::SUCCESS) return std::to_string(number);
  uint64_t unsigned_number = 0;
  if (value.get_uint64().get(unsigned_number) == simdjson::SUCCESS) {
    return std::to_string(unsigned_number);
  }
  return "";
}

std::string_view StringMember(const simdjson::dom::object& object, std::string_view key) {
  std::string_view text;
  if (object[key].get_string().get(text) != simdjson::SUCCESS) return {};
  return text;
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  AppendJsonEscaped(text, &out);
  out += '"';
  return out;
}

}  // namespace sextant::channel::internal
