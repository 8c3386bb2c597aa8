#include "channel/webhook_sender.h"

#include "channel/crypto.h"
#include "channel/http_client.h"
#include "channel/http_delivery.h"

namespace sextant::channel {

std::string SextantSignature(std::string_view secret, int64_t timestamp_s, std::string_view body) {
  std::string signed_text = std::to_string(timestamp_s);
  signed_text += '.';
  signed_text.append(body);
  return "v1=" + HmacSha256Hex(secret, signed_text);
}

DeliveryResult WebhookSender::Send(const OutboundMessage& message) {
  std::string body;
  if (message.payload_json.empty()) {
    body = "{\"text\":" + internal::JsonString(message.body) + "}";
  } else if (internal::IsJsonObject(message.payload_json)) {
    body = message.payload_json;
  } else {
    return internal::Rejected("payload_json: not a JSON object");
  }
  Result<HttpResponse> response =
      HttpPost(config_.url, internal::SignedJsonHeaders(config_.secret, message, body), body,
               config_.timeout_ms);
  if (!response.ok()) return internal::FromTransportError(response.status());
  if (response->status < 200 || response->status >= 300) {
    return internal::FromHttpError(*response);
  }
  DeliveryResult result;
  result.delivered = true;
  result.status = response->status;
  result.provider_id = internal::JsonScalarMember(response->body, "id");
  return result;
}

}  // namespace sextant::channel
