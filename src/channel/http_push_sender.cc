#include "channel/http_push_sender.h"

#include "channel/http_client.h"
#include "channel/http_delivery.h"

namespace sextant::channel {

DeliveryResult HttpPushSender::Send(const OutboundMessage& message) {
  if (message.recipient.empty()) return internal::Rejected("recipient: empty");
  if (!message.payload_json.empty() && !internal::IsJsonObject(message.payload_json)) {
    return internal::Rejected("payload_json: not a JSON object");
  }
  std::string body = "{\"to\":" + internal::JsonString(message.recipient) +
                     ",\"title\":" + internal::JsonString(message.subject) +
                     ",\"body\":" + internal::JsonString(message.body) + ",\"data\":" +
                     (message.payload_json.empty() ? std::string("{}") : message.payload_json) +
                     "}";
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
