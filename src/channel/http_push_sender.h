// App push through an HTTP provider adapter (a small service in front of APNs/FCM/vendor
// push that Sextant treats as a signed JSON endpoint).
#pragma once

#include <memory>

#include "channel/channel_sender.h"

namespace sextant::channel {

// POSTs {"to": recipient, "title": subject, "body": body, "data": <payload_json or {}>},
// signed exactly like a webhook (SextantSignature). A 2xx answer is delivered; its top-level
// "id" becomes provider_id. Not thread-safe.
class HttpPushSender final : public ChannelSender {
 public:
  // REQUIRES: ValidateChannelConfig(config).ok().
  explicit HttpPushSender(ChannelConfig config) : config_(std::move(config)) {}
  DeliveryResult Send(const OutboundMessage& message) override;

 private:
  ChannelConfig config_;
};

}  // namespace sextant::channel
