// Email through an SMTP relay: a minimal SMTP client (RFC 5321) on Boost.Asio.
//
// Limits (docs/channels.md "smtp"): plain TCP only — no STARTTLS, no AUTH — so the relay must
// be a local MTA or gateway that accepts mail from Sextant's address (typically on loopback);
// one recipient per message; no pipelining.
//
// Dialogue: 220 greeting, EHLO (HELO if EHLO is refused), MAIL FROM:<config.sender>,
// RCPT TO:<recipient>, DATA, the message, QUIT. Every reply code is checked: 4xx → retryable,
// 5xx or an unexpected code → not retryable, transport failures and timeouts → retryable. The
// message counts as delivered once the relay accepts the DATA (250), whatever QUIT does. If the
// connection breaks after the message was sent but before the 250, the result is retryable:
// delivery is at-least-once, and the Message-ID lets the recipient side drop duplicates.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "channel/channel_sender.h"
#include "channel/url.h"

namespace sextant::channel {

// A header value safe for any text: `text` unchanged when it is printable ASCII of at most 900
// bytes, else RFC 2047 "=?UTF-8?B?...?=" encoded-words of at most 39 source bytes each (never
// splitting a UTF-8 sequence), folded with CRLF + space.
std::string EncodeHeaderText(std::string_view text);

// The Message-ID for a touch: "<" + key + "@sextant>", where bytes of the key outside RFC 5322
// atext, and "=" itself, are written as =XX (so "j1:v2" becomes "<j1=3Av2@sextant>"); distinct keys
// keep distinct ids. The runtime can store it to match bounces and replies.
std::string SmtpMessageId(std::string_view idempotency_key);

// The complete message (headers, blank line, body) with CRLF line ends and without the SMTP
// terminator: From, To, Subject (EncodeHeaderText), Date (RFC 5322, UTC, from now_ms),
// Message-ID SmtpMessageId(idempotency_key) (omitted when the key is empty), MIME-Version,
// Content-Type text/plain; charset=UTF-8, Content-Transfer-Encoding base64; the body's line ends
// become CRLF (MIME canonical form) before it is base64-encoded in lines of 76 characters.
std::string BuildMimeMessage(std::string_view from, const OutboundMessage& message);

// True for a bare address "local@domain" with no spaces, controls, angle brackets or line
// breaks (the form SMTP commands and the From/To headers need).
bool IsPlainEmailAddress(std::string_view address);

// Not thread-safe.
class SmtpSender final : public ChannelSender {
 public:
  // REQUIRES: ValidateChannelConfig(config).ok().
  explicit SmtpSender(ChannelConfig config);
  DeliveryResult Send(const OutboundMessage& message) override;

 private:
  ChannelConfig config_;
  ParsedUrl url_;
};

}  // namespace sextant::channel
