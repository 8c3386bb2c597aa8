// Webhook channel: POSTs the touch's payload JSON to the configured URL, signed with the
// channel secret so the receiver can check origin and freshness (docs/channels.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "channel/channel_sender.h"
#include "channel/http_connection_pool.h"

namespace sextant::channel {

// The X-Sextant-Signature value: "v1=" + lower-case hex HMAC-SHA256(secret,
// "<timestamp_s>.<body>"), where timestamp_s is the X-Sextant-Timestamp value (Unix seconds)
// and body the exact request body bytes.
std::string SextantSignature(std::string_view secret, int64_t timestamp_s, std::string_view body);

// Body: message.payload_json, or {"text": body} when it is empty. A 2xx answer is delivered;
// the answer's top-level "id" (string or integer), if any, becomes provider_id.
// Not thread-safe: it keeps its connections (HttpConnectionPool) between calls.
class WebhookSender final : public ChannelSender {
 public:
  // REQUIRES: ValidateChannelConfig(config).ok().
  explicit WebhookSender(ChannelConfig config);
  DeliveryResult Send(const OutboundMessage& message) override;
  std::vector<DeliveryResult> SendAll(std::span<const OutboundMessage> messages) override;

 private:
  ChannelConfig config_;
  HttpConnectionPool pool_;  // up to config_.connections kept-alive connections
};

}  // namespace sextant::channel
