#include "channel/tc3_signer.h"

#include <cctype>
#include <ctime>

#include "channel/crypto.h"

namespace sextant::channel {
namespace {

constexpr std::string_view kAlgorithm = "TC3-HMAC-SHA256";
constexpr std::string_view kSignedHeaders = "content-type;host";

std::string LowerTrimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string Tc3Date(int64_t timestamp_s) {
  std::time_t time = static_cast<std::time_t>(timestamp_s);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char buffer[16];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", &utc);
  return buffer;
}

std::string Tc3CanonicalRequest(std::string_view content_type, std::string_view host,
                                std::string_view payload) {
  std::string out = "POST\n/\n\n";
  out += "content-type:" + LowerTrimmed(content_type) + "\n";
  out += "host:" + LowerTrimmed(host) + "\n";
  out += "\n";
  out += kSignedHeaders;
  out += "\n";
  out += Sha256Hex(payload);
  return out;
}

std::string Tc3StringToSign(int64_t timestamp_s, std::string_view service,
                            std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out += "\n" + std::to_string(timestamp_s) + "\n";
  out += Tc3Date(timestamp_s) + "/" + std::string(service) + "/tc3_request\n";
  out += Sha256Hex(canonical_request);
  return out;
}

std::string Tc3Signature(std::string_view secret_key, std::string_view date,
                         std::string_view service, std::string_view string_to_sign) {
  std::string secret_date = HmacSha256("TC3" + std::string(secret_key), date);
  std::string secret_service = HmacSha256(secret_date, service);
  std::string secret_signing = HmacSha256(secret_service, "tc3_request");
  return HmacSha256Hex(secret_signing, string_to_sign);
}

std::string Tc3Authorization(std::string_view secret_id, std::string_view secret_key,
                             std::string_view service, std::string_view host, int64_t timestamp_s,
                             std::string_view payload, std::string_view content_type) {
  std::string canonical = Tc3CanonicalRequest(content_type, host, payload);
  std::string string_to_sign = Tc3StringToSign(timestamp_s, service, canonical);
  std::string date = Tc3Date(timestamp_s);
  std::string out(kAlgorithm);
  out += " Credential=" + std::string(secret_id) + "/" + date + "/" + std::string(service) +
         "/tc3_request, SignedHeaders=" + std::string(kSignedHeaders) +
         ", Signature=" + Tc3Signature(secret_key, date, service, string_to_sign);
  return out;
}

}  // namespace sextant::channel
