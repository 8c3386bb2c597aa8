#include "server/console_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sextant::server {

namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

std::string_view ContentTypeFor(std::string_view name) {
  struct Mapping {
    std::string_view extension, type;
  };
  static constexpr Mapping kTypes[] = {
      {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},    {".json", "application/json"},
      {".svg", "image/svg+xml"},              {".png", "image/png"},
      {".ico", "image/x-icon"},               {".woff2", "font/woff2"},
      {".woff", "font/woff"},                 {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},  {".webp", "image/webp"},
  };
  for (const Mapping& mapping : kTypes) {
    if (name.size() >= mapping.extension.size() &&
        name.substr(name.size() - mapping.extension.size()) == mapping.extension)
      return mapping.type;
  }
  return "application/octet-stream";
}

bool ReadFile(const fs::path& path, std::string* contents) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *contents = buffer.str();
  return true;
}

// True when `path` is safe to join to the console directory: absolute, no "..", no NUL or
// backslash (which some file systems treat as separators).
bool IsSafePath(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos)
    return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

std::optional<HttpResponse> ConsoleFiles::Serve(const HttpRequest& request,
                                                std::string_view path) const {
  if (request.method() != http::verb::get && request.method() != http::verb::head)
    return std::nullopt;
  if (directory_.empty()) {
    if (path != "/" && path != "/index.html") return std::nullopt;
    return MakeResponse(
        request, http::status::ok, "text/html; charset=utf-8",
        "<!doctype html><meta charset=utf-8><title>Sextant</title>"
        "<h1>Sextant</h1><p>The server is running, but the web console is not built. Build it "
        "with <code>scripts/build_console.sh</code> (npm ci + vite build into web/dist) and "
        "start the server with <code>--console-dir web/dist</code>. API reference: "
        "docs/openapi.yaml. Health: <a href=/healthz>/healthz</a>, metrics: "
        "<a href=/metrics>/metrics</a>.</p>");
  }
  if (!IsSafePath(path)) return std::nullopt;
  std::string contents;
  std::string_view served_name = path;
  const fs::path root(directory_);
  bool found = path != "/" && ReadFile(root / std::string(path.substr(1)), &contents);
  if (!found) {
    std::string_view last = path.substr(path.rfind('/') + 1);
    // A missing asset is a 404, not the page: a stale index.html must not get HTML for a script.
    if (last.find('.') != std::string_view::npos && last != "index.html") return std::nullopt;
    if (!ReadFile(root / "index.html", &contents)) return std::nullopt;
    served_name = "index.html";
  }
  const bool hashed_asset = path.substr(0, 8) == "/assets/" && found;
  HttpResponse response = MakeResponse(request, http::status::ok,
                                       std::string(ContentTypeFor(served_name)),
                                       std::move(contents));
  response.set(http::field::cache_control,
               hashed_asset ? "public, max-age=31536000, immutable" : "no-cache");
  response.set("X-Content-Type-Options", "nosniff");
  if (served_name == "index.html") {
    // The console talks only to its own origin.
    response.set("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                 "frame-ancestors 'none'");
    response.set("X-Frame-Options", "DENY");
  }
  if (request.method() == http::verb::head) {
    const auto length = response.body().size();
    response.body().clear();
    response.content_length(length);
  }
  return response;
}

std::string ConsoleFiles::FindBuiltConsole(const std::string& start) {
  std::error_code error;
  fs::path directory = fs::weakly_canonical(fs::path(start), error);
  if (error) return "";
  for (int level = 0; level <= 5 && !directory.empty(); ++level) {
    fs::path candidate = directory / "web" / "dist";
    if (fs::is_regular_file(candidate / "index.html", error)) return candidate.string();
    if (directory == directory.parent_path()) break;
    directory = directory.parent_path();
  }
  return "";
}

}  // namespace sextant::server
