// Names the calling thread (as `top -H`, `perf` and gdb show it), so that an operator can tell
// the server's threads apart. Linux keeps at most 15 characters; longer names are cut.
#pragma once

#include <string_view>

namespace sextant {

void SetCurrentThreadName(std::string_view name);

}  // namespace sextant
