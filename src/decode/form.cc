#include "decode/form.h"

namespace sextant::decode {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string UrlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);  // includes a stray '%'
    }
  }
  return out;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status ParseUrlEncoded(std::string_view text,
                       std::vector<std::pair<std::string, std::string>>* out) {
  size_t count = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view segment = text.substr(pos, amp - pos);
    pos = amp + 1;
    if (segment.empty()) continue;
    if (++count > kMaxFormParams) {
      return Status(ErrorCode::kBadForm,
                    "more than " + std::to_string(kMaxFormParams) + " form parameters");
    }
    size_t eq = segment.find('=');
    if (eq == std::string_view::npos) {
      out->emplace_back(UrlDecode(segment), std::string());
    } else {
      out->emplace_back(UrlDecode(segment.substr(0, eq)), UrlDecode(segment.substr(eq + 1)));
    }
  }
  return Status::Ok();
}

const std::string* FindParam(const std::vector<std::pair<std::string, std::string>>& params,
                             std::string_view key) {
  for (const auto& [name, value] : params)
    if (name == key) return &value;
  return nullptr;
}

}  // namespace sextant::decode
