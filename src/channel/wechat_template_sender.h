// WeChat Official Account template messages (cgi-bin/message/template/send).
//
// POSTs to <url>?access_token=<config.sender> the body {"touser": recipient, "template_id":
// subject, "data": ...} where data is payload_json's "data" object, or
// {"content": {"value": body}} without one; payload_json's "url" (a string) is passed through.
// The access token is obtained and refreshed outside Sextant (it lives two hours); the channel
// config holds the current one.
//
// WeChat answers 200 {"errcode": 0, "msgid": ...}; errcode != 0 is not delivered, retryable only
// for -1 (system busy) and 45009 (API rate limit). Not thread-safe.
#pragma once

#include <memory>

#include "channel/channel_sender.h"

namespace sextant::channel {

class WechatTemplateSender final : public ChannelSender {
 public:
  // REQUIRES: ValidateChannelConfig(config).ok().
  explicit WechatTemplateSender(ChannelConfig config);
  DeliveryResult Send(const OutboundMessage& message) override;

 private:
  ChannelConfig config_;
  std::string url_with_token_;
};

}  // namespace sextant::channel
