// ConsoleFiles: serves the web console's built files (web/dist: index.html + hashed assets)
// from a directory, for GET and HEAD of any path that no API or ingest endpoint claims.
//
// Contract:
// - "/" and every path that names no file and has no file extension in its last segment answer
//   index.html (client-side routing: /journeys/j1 is a console page, not a file).
// - Paths with ".." segments, NUL or backslashes are refused (404), so nothing outside the
//   directory is ever read.
// - Files under /assets/ carry a content hash in their name (Vite) and are sent with
//   `Cache-Control: public, max-age=31536000, immutable`; everything else, index.html above all,
//   with `no-cache` so a new build is picked up at the next page load.
// - Files are read from disk at each request: a rebuilt console needs no restart.
//
// Thread-safety: thread-safe (no mutable state).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/http_server.h"

namespace sextant::server {

class ConsoleFiles {
 public:
  // `directory` empty = no console: Serve answers an explanation page at "/" only.
  explicit ConsoleFiles(std::string directory) : directory_(std::move(directory)) {}

  bool enabled() const { return !directory_.empty(); }
  const std::string& directory() const { return directory_; }

  // The answer for `path` (already split from its query), or nullopt when the path is not the
  // console's (the caller then answers 404 as for any unknown endpoint).
  std::optional<HttpResponse> Serve(const HttpRequest& request, std::string_view path) const;

  // The first `web/dist` holding an index.html found from `start` upwards (at most 5 levels),
  // or "" — lets a binary in build/src/cli find the console of its source tree.
  static std::string FindBuiltConsole(const std::string& start);

 private:
  std::string directory_;
};

}  // namespace sextant::server
