// The interface between the journey runtime and outbound delivery: a channel's configuration,
// one message to deliver, the outcome, and the sender that turns one into the other.
//
// Contract for every sender: Send() is synchronous (called from a channel worker thread),
// finishes within the configured timeout_ms (plus name resolution, see tcp_deadline.h), and
// never throws — every failure, including ones inside Boost, becomes a DeliveryResult whose
// `retryable` tells the runtime whether trying the same message again can help.
//
// Threading: a ChannelSender is not thread-safe unless its class comment says otherwise; give
// each worker thread its own (MakeSender is cheap: it validates the config and copies it, and
// opens no connection). Parse/Validate/MakeSender are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sextant::channel {

// Parsed from the JSON a project stores per channel (docs/channels.md lists the fields each
// type needs).
struct ChannelConfig {
  std::string name;       // the channel's name in the project: "sms", "push", "email", ...
  std::string type;       // "webhook" | "http_push" | "tencent_sms" | "wechat_template" | "smtp"
  std::string url;        // http://host[:port]/path; smtp://host[:port] for smtp
  std::string secret;     // HMAC secret (webhook, http_push) or the provider SecretKey
  std::string key_id;     // provider SecretId / app id
  std::string sender;     // SMS SdkAppId, email From address, WeChat access token
  std::string sign_name;  // tencent_sms: SignName (required by Tencent for mainland China SMS)
  std::string region;     // tencent_sms: e.g. "ap-guangzhou" (the default)
  int timeout_ms = 5000;  // per Send(), 1..600000
  int connections = 8;    // webhook, http_push: requests in flight at once in SendAll(), 1..64
};

// Parses {"type", "url", "secret", "key_id", "sender", "sign_name", "region", "timeout_ms",
// "connections"}
// (a "name" key is tolerated and ignored: the name argument wins) and validates it as
// ValidateChannelConfig does. Errors name the field: kBadJson (field ""), kMissingField,
// kInvalidValue (wrong JSON type, bad value, unknown key) with message "<field>: <reason>".
Result<ChannelConfig> ParseChannelConfig(std::string_view name, std::string_view json);

// Checks what `config.type` needs (URL scheme, required credentials, timeout range).
Status ValidateChannelConfig(const ChannelConfig& config);

struct OutboundMessage {
  std::string idempotency_key;  // stable per touch: Idempotency-Key header / Message-ID
  std::string recipient;        // phone, email address, WeChat openid, push device/distinct id
  std::string subject;          // email subject / push title / SMS or WeChat template id
  std::string body;             // rendered text
  std::string payload_json;     // JSON object: journey, version, node, distinct_id, variables...
  int64_t now_ms = 0;           // runtime clock (simulated in tests); signs timestamps. 0 means
                                // "not set": the system clock is used instead.
};

struct DeliveryResult {
  bool delivered = false;
  bool retryable = false;   // transport error, timeout, 408, 429, 5xx, provider throttling
  int status = 0;           // HTTP status or SMTP reply code of the deciding answer; 0 if none
  std::string provider_id;  // provider message id when the answer has one
  std::string error;        // empty when delivered
};

class ChannelSender {
 public:
  virtual ~ChannelSender() = default;
  virtual DeliveryResult Send(const OutboundMessage& message) = 0;
  // Delivers every message; result i is messages[i]'s. Senders whose provider takes one
  // request per message send several at once on kept-alive connections (webhook, http_push:
  // up to config.connections); the others send one after another. Each message finishes
  // within timeout_ms of its own start, so the whole call takes at most about
  // ceil(n / connections) × timeout_ms.
  virtual std::vector<DeliveryResult> SendAll(std::span<const OutboundMessage> messages);
};

// Validates `config` and builds the sender for its type. Errors as ValidateChannelConfig.
Result<std::unique_ptr<ChannelSender>> MakeSender(const ChannelConfig& config);

// The retry rule for HTTP answers shared by all HTTP senders: 408, 429 and 5xx are retryable,
// other statuses are not.
bool IsRetryableHttpStatus(int status);

}  // namespace sextant::channel
