// App push through an HTTP provider adapter (a small service in front of APNs/FCM/vendor
// push that Sextant treats as a signed JSON endpoint).
#pragma once

#include <memory>

#include "channel/channel_sender.h"
#include "channel/http_connection_pool.h"

namespace sextant::channel {

// POSTs {"to": recipient, "title": subject, "body": body, "data": <payload_json or {}>},
// signed exactly like a webhook (SextantSignature). A 2xx answer is delivered; its top-level
// "id" becomes provider_id. Not thread-safe (keeps its connections between calls).
class HttpPushSender final : public ChannelSender {
 public:
  // REQUIRES: ValidateChannelConfig(config).ok().
  explicit HttpPushSender(ChannelConfig config);
  DeliveryResult Send(const OutboundMessage& message) override;
  std::vector<DeliveryResult> SendAll(std::span<const OutboundMessage> messages) override;

 private:
  ChannelConfig config_;
  HttpConnectionPool pool_;  // up to config_.connections kept-alive connections
};

}  // namespace sextant::channel
