#include "common/status.h"

namespace sextant {

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(ErrorCodeName(code_));
  out += " (" + std::to_string(static_cast<int>(code_)) + ")";
  if (!field_.empty()) out += " at " + field_;
  out += ": " + message_;
  return out;
}

}  // namespace sextant
