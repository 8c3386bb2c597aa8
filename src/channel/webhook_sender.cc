#include "channel/webhook_sender.h"

#include "channel/crypto.h"
#include "channel/http_delivery.h"

namespace sextant::channel {

std::string SextantSignature(std::string_view secret, int64_t timestamp_s, std::string_view body) {
  std::string signed_text = std::to_string(timestamp_s);
  signed_text += '.';
  signed_text.append(body);
  return "v1=" + HmacSha256Hex(secret, signed_text);
}

namespace {

internal::JsonBodyOrResult WebhookBody(const OutboundMessage& message) {
  if (message.payload_json.empty()) return "{\"text\":" + internal::JsonString(message.body) + "}";
  if (!internal::IsJsonObject(message.payload_json))
    return internal::Rejected("payload_json: not a JSON object");
  return message.payload_json;
}

}  // namespace

WebhookSender::WebhookSender(ChannelConfig config)
    : config_(std::move(config)), pool_(static_cast<size_t>(config_.connections)) {}

DeliveryResult WebhookSender::Send(const OutboundMessage& message) {
  return SendAll(std::span(&message, 1)).front();
}

std::vector<DeliveryResult> WebhookSender::SendAll(std::span<const OutboundMessage> messages) {
  return internal::PostSignedJson(pool_, config_, messages, WebhookBody);
}

}  // namespace sextant::channel
