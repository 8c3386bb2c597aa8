// Tencent Cloud API 3.0 request signing, "TC3-HMAC-SHA256" (Signature v3), as pure functions so
// each step can be checked against the published example (channel_test.cc).
//
// Scope: POST requests to API 3.0, CanonicalURI "/", empty query, signed headers
// "content-type;host" — what SendSms needs. Header values are signed lower-cased and trimmed,
// as the documentation's canonical-headers rule says; the request must send the same
// Content-Type and Host.
// Source: Tencent Cloud "Signature v3" (e.g.
// https://www.tencentcloud.com/document/product/382/40467 for SMS; Chinese original in
// tencentyun/qcloud-documents, product/云资源管理/云API/操作指南/C++_API.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sextant::channel {

// "YYYY-MM-DD" of `timestamp_s` in UTC (the Date of the credential scope).
std::string Tc3Date(int64_t timestamp_s);

// "POST\n/\n\ncontent-type:<ct>\nhost:<host>\n\ncontent-type;host\n<hex sha256(payload)>".
std::string Tc3CanonicalRequest(std::string_view content_type, std::string_view host,
                                std::string_view payload);

// "TC3-HMAC-SHA256\n<timestamp>\n<date>/<service>/tc3_request\n<hex sha256(canonical)>".
std::string Tc3StringToSign(int64_t timestamp_s, std::string_view service,
                            std::string_view canonical_request);

// Lower-case hex HMAC-SHA256 of the string to sign under the key derived from `secret_key`:
// HMAC("TC3"+key, date) -> HMAC(., service) -> HMAC(., "tc3_request").
std::string Tc3Signature(std::string_view secret_key, std::string_view date,
                         std::string_view service, std::string_view string_to_sign);

// The Authorization header value:
// "TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
//  SignedHeaders=content-type;host, Signature=<hex>".
std::string Tc3Authorization(std::string_view secret_id, std::string_view secret_key,
                             std::string_view service, std::string_view host, int64_t timestamp_s,
                             std::string_view payload, std::string_view content_type);

}  // namespace sextant::channel
