#include "common/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sextant {

std::string SetCurrentThreadNice(int nice) {
  // PRIO_PROCESS with a thread id names that one thread on Linux (not the whole process).
  const auto thread_id = static_cast<id_t>(syscall(SYS_gettid));
  if (setpriority(PRIO_PROCESS, thread_id, nice) == 0) return "";
  const int error = errno;
  return "setpriority(" + std::to_string(nice) + "): " + std::strerror(error);
}

}  // namespace sextant
