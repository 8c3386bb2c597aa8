// Internal to the channel module: pieces shared by the HTTP senders — turning transport
// failures and HTTP answers into DeliveryResults, the Sextant signature headers, and small
// JSON helpers. Pure functions, thread-safe.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "channel/channel_sender.h"
#include "channel/http_client.h"
#include "channel/http_connection_pool.h"
#include "common/status.h"

namespace sextant::channel::internal {

// HttpPost failed before an answer arrived: retryable, except for kInvalidValue (a request
// that can never be sent, e.g. a header with a line break).
DeliveryResult FromTransportError(const Status& status);
// A non-2xx answer: its status, IsRetryableHttpStatus, and "HTTP <status>: <body prefix>".
DeliveryResult FromHttpError(const HttpResponse& response);
// The message cannot be sent as given (empty recipient, invalid payload_json): not retryable.
DeliveryResult Rejected(std::string error);

// A JSON provider's answer: 2xx is delivered with the answer's top-level "id" as provider_id;
// other statuses as FromHttpError, transport failures as FromTransportError.
DeliveryResult FromJsonAnswer(const Result<HttpResponse>& response);

// The body to POST for a message, or the result when it cannot be sent (Rejected).
using JsonBodyOrResult = std::variant<std::string, DeliveryResult>;

// The senders that POST one signed JSON body per message (webhook, http_push): builds each
// body with `make_body`, signs it (SignedJsonHeaders with config.secret), posts the batch on
// `pool` within config.timeout_ms each, and maps the answers with FromJsonAnswer.
std::vector<DeliveryResult> PostSignedJson(
    HttpConnectionPool& pool, const ChannelConfig& config,
    std::span<const OutboundMessage> messages,
    const std::function<JsonBodyOrResult(const OutboundMessage&)>& make_body);

// Unix seconds for signatures: message.now_ms / 1000, or the system clock when now_ms is 0.
int64_t TimestampSeconds(const OutboundMessage& message);

// Content-Type, Idempotency-Key, X-Sextant-Timestamp and (when `secret` is non-empty)
// X-Sextant-Signature for `body` (docs/channels.md "Signatures").
HttpHeaders SignedJsonHeaders(std::string_view secret, const OutboundMessage& message,
                              std::string_view body);

// True when `json` parses as a JSON object.
bool IsJsonObject(std::string_view json);
// The minified value of `key` in the JSON object `json`, or "" when absent / not an object.
std::string JsonMember(std::string_view json, std::string_view key);
// A top-level string or integer member of the JSON object `json` as text ("" when absent).
std::string JsonScalarMember(std::string_view json, std::string_view key);
// The string member `key` of `object`, or "" when absent or not a string.
std::string_view StringMember(const simdjson::dom::object& object, std::string_view key);
// `text` as a JSON string literal, with quotes.
std::string JsonString(std::string_view text);

}  // namespace sextant::channel::internal
