#include "channel/channel_sender.h"

#include <simdjson.h>

#include <array>

#include "channel/http_push_sender.h"
#include "channel/smtp_sender.h"
#include "channel/tencent_sms_sender.h"
#include "channel/url.h"
#include "channel/webhook_sender.h"
#include "channel/wechat_template_sender.h"

namespace sextant::channel {
namespace {

constexpr int kMaxTimeoutMs = 600000;
constexpr int kMaxConnections = 64;
constexpr std::array<std::string_view, 5> kTypes = {"webhook", "http_push", "tencent_sms",
                                                    "wechat_template", "smtp"};

Status Missing(const char* field, std::string_view type) {
  return Status(ErrorCode::kMissingField,
                std::string(field) + ": required for type " + std::string(type), field);
}

Status Invalid(std::string_view field, std::string reason) {
  return Status(ErrorCode::kInvalidValue, std::string(field) + ": " + std::move(reason),
                std::string(field));
}

}  // namespace

Status ValidateChannelConfig(const ChannelConfig& config) {
  if (config.name.empty()) return Invalid("name", "must not be empty");
  const std::string& type = config.type;
  if (type.empty()) return Status(ErrorCode::kMissingField, "type: required", "type");
  bool known = false;
  for (std::string_view candidate : kTypes) known = known || candidate == type;
  if (!known) {
    return Invalid("type", "unknown channel type \"" + type +
                               "\" (webhook, http_push, tencent_sms, wechat_template, smtp)");
  }
  if (config.timeout_ms < 1 || config.timeout_ms > kMaxTimeoutMs) {
    return Invalid("timeout_ms", "must be in 1..600000");
  }
  if (config.connections < 1 || config.connections > kMaxConnections) {
    return Invalid("connections", "must be in 1..64");
  }

  if (type == "smtp") {
    if (config.url.empty()) return Missing("url", type);
    Result<ParsedUrl> url = ParseUrl(config.url, "smtp", 25);
    if (!url.ok()) return url.status();
    if (url->target != "/") return Invalid("url", "an smtp:// address has no path");
    if (config.sender.empty()) return Missing("sender", type);
    if (!IsPlainEmailAddress(config.sender)) {
      return Invalid("sender", "must be a plain email address (local@domain)");
    }
    return Status::Ok();
  }

  // The HTTP types. tencent_sms may leave url empty (the public endpoint).
  if (config.url.empty() && type != "tencent_sms") return Missing("url", type);
  if (!config.url.empty()) {
    Result<ParsedUrl> url = ParseUrl(config.url, "http", 80);
    if (!url.ok()) return url.status();
  }
  if (type == "tencent_sms") {
    if (config.key_id.empty()) return Missing("key_id", type);
    if (config.secret.empty()) return Missing("secret", type);
    if (config.sender.empty()) return Missing("sender", type);
  } else if (type == "wechat_template") {
    if (config.sender.empty()) return Missing("sender", type);
  }
  return Status::Ok();
}

Result<ChannelConfig> ParseChannelConfig(std::string_view name, std::string_view json) {
  ChannelConfig config;
  config.name = std::string(name);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return Status(ErrorCode::kBadJson, "channel config is not valid JSON");
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return Status(ErrorCode::kBadJson, "channel config must be a JSON object");
  }
  for (auto [key, value] : object) {
    if (key == "timeout_ms") {
      int64_t timeout = 0;
      if (value.get_int64().get(timeout) != simdjson::SUCCESS) {
        return Invalid("timeout_ms", "must be an integer");
      }
      if (timeout < 1 || timeout > kMaxTimeoutMs) {
        return Invalid("timeout_ms", "must be in 1..600000");
      }
      config.timeout_ms = static_cast<int>(timeout);
      continue;
    }
    if (key == "connections") {
      int64_t connections = 0;
      if (value.get_int64().get(connections) != simdjson::SUCCESS) {
        return Invalid("connections", "must be an integer");
      }
      if (connections < 1 || connections > kMaxConnections) {
        return Invalid("connections", "must be in 1..64");
      }
      config.connections = static_cast<int>(connections);
      continue;
    }
    std::string* target = nullptr;
    if (key == "type") target = &config.type;
    if (key == "url") target = &config.url;
    if (key == "secret") target = &config.secret;
    if (key == "key_id") target = &config.key_id;
    if (key == "sender") target = &config.sender;
    if (key == "sign_name") target = &config.sign_name;
    if (key == "region") target = &config.region;
    std::string ignored_name;
    if (key == "name") target = &ignored_name;
    if (target == nullptr) return Invalid(key, "unknown field");
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) return Invalid(key, "must be a string");
    *target = std::string(text);
  }
  SEXTANT_RETURN_IF_ERROR(ValidateChannelConfig(config));
  return config;
}

std::vector<DeliveryResult> ChannelSender::SendAll(std::span<const OutboundMessage> messages) {
  std::vector<DeliveryResult> results;
  results.reserve(messages.size());
  for (const OutboundMessage& message : messages) results.push_back(Send(message));
  return results;
}

Result<std::unique_ptr<ChannelSender>> MakeSender(const ChannelConfig& config) {
  SEXTANT_RETURN_IF_ERROR(ValidateChannelConfig(config));
  std::unique_ptr<ChannelSender> sender;
  if (config.type == "webhook") sender = std::make_unique<WebhookSender>(config);
  if (config.type == "http_push") sender = std::make_unique<HttpPushSender>(config);
  if (config.type == "tencent_sms") sender = std::make_unique<TencentSmsSender>(config);
  if (config.type == "wechat_template") sender = std::make_unique<WechatTemplateSender>(config);
  if (config.type == "smtp") sender = std::make_unique<SmtpSender>(config);
  return sender;
}

bool IsRetryableHttpStatus(int status) { return status == 408 || status == 429 || status >= 500; }

}  // namespace sextant::channel
