// SMS through Tencent Cloud SMS, API SendSms version 2021-01-11, signed with TC3-HMAC-SHA256.
//
// Mapping (docs/channels.md "tencent_sms"): recipient → PhoneNumberSet[0] (an 11-digit
// mainland number without "+" gets "+86"), config.sender → SmsSdkAppId, config.sign_name →
// SignName, subject → TemplateId, template parameters from payload_json "template_params"
// (array of strings or numbers) or else `body` split at U+001F (unit separator),
// idempotency_key → SessionContext.
//
// Tencent answers 200 even on failure: a Response.Error or a SendStatusSet code other than "Ok"
// is not delivered; retryable only for InternalError* and RequestLimitExceeded* codes. A 200
// whose body cannot be read is not delivered and not retryable (the SMS may have gone out).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "channel/channel_sender.h"

namespace sextant::channel {

// The Host a Tencent request is signed for: the URL's host when it is a tencentcloudapi.com
// name, otherwise (a local TLS gateway) "sms.tencentcloudapi.com", which is also sent as the
// Host header so the gateway can forward the request unchanged.
std::string TencentSignedHost(std::string_view url_host);

// config.url defaults to http://sms.tencentcloudapi.com/ and config.region to ap-guangzhou.
// Not thread-safe.
class TencentSmsSender final : public ChannelSender {
 public:
  // REQUIRES: ValidateChannelConfig(config).ok().
  explicit TencentSmsSender(ChannelConfig config);
  DeliveryResult Send(const OutboundMessage& message) override;

 private:
  ChannelConfig config_;
  std::string host_;  // signed and sent Host
};

}  // namespace sextant::channel
