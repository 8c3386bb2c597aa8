#include "channel/http_push_sender.h"

#include "channel/http_delivery.h"

namespace sextant::channel {

namespace {

internal::JsonBodyOrResult PushBody(const OutboundMessage& message) {
  if (message.recipient.empty()) return internal::Rejected("recipient: empty");
  if (!message.payload_json.empty() && !internal::IsJsonObject(message.payload_json)) {
    return internal::Rejected("payload_json: not a JSON object");
  }
  return "{\"to\":" + internal::JsonString(message.recipient) +
         ",\"title\":" + internal::JsonString(message.subject) +
         ",\"body\":" + internal::JsonString(message.body) + ",\"data\":" +
         (message.payload_json.empty() ? std::string("{}") : message.payload_json) + "}";
}

}  // namespace

HttpPushSender::HttpPushSender(ChannelConfig config)
    : config_(std::move(config)), pool_(static_cast<size_t>(config_.connections)) {}

DeliveryResult HttpPushSender::Send(const OutboundMessage& message) {
  return SendAll(std::span(&message, 1)).front();
}

std::vector<DeliveryResult> HttpPushSender::SendAll(std::span<const OutboundMessage> messages) {
  return internal::PostSignedJson(pool_, config_, messages, PushBody);
}

}  // namespace sextant::channel
