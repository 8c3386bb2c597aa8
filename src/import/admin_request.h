// One request to a running server's admin API (Bearer token), for the CLI commands that are
// thin clients of it: `sextant query` and `sextant import --tag`.
// Thread-safety: reentrant.
#pragma once

#include <string>

#include "common/status.h"

namespace sextant::import {

struct AdminResponse {
  int status = 0;
  std::string body;
};

// POSTs `body` to `server` ("http://host:port") + `target` with the admin `token`. kIoError
// when the server cannot be reached; any HTTP answer is returned as is.
Result<AdminResponse> PostAdmin(const std::string& server, const std::string& target,
                                const std::string& token, const std::string& content_type,
                                std::string body);

// The admin token: `token` if given, else $SEXTANT_ADMIN_TOKEN, else <data_dir>/admin_token;
// "" when none is found.
std::string FindAdminToken(const std::string& token, const std::string& data_dir);

}  // namespace sextant::import
