// CPU priority of the calling thread, for threads whose work is latency-bound (a decision that
// must follow its event within milliseconds) on a machine whose cores other threads keep busy.
#pragma once

#include <string>

namespace sextant {

// Sets the calling thread's nice value to `nice` (Linux keeps one per thread; lower runs
// first). A value below the current one needs CAP_SYS_NICE or an RLIMIT_NICE that allows it
// (systemd: `LimitNICE=`). Returns "" when set, else why not (e.g. "setpriority(-10):
// Permission denied"); the thread then keeps its priority. Best effort: never fails the caller.
std::string SetCurrentThreadNice(int nice);

}  // namespace sextant
