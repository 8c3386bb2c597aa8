// A seam for crash-recovery tests: CrashPoint("name") kills the process with SIGKILL — as a
// power cut or `kill -9` would, with nothing flushed or closed — when the environment variable
// SEXTANT_CRASH_POINT equals "name" at process start. Otherwise it does nothing (one cached
// getenv). The points are named where they are placed; tests/blackbox/erasure_crash.test.js
// shows the use. Never set in production.
#pragma once

#include <string_view>

namespace sextant {

void CrashPoint(std::string_view name);

}  // namespace sextant
