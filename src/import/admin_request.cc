#include "import/admin_request.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>

namespace sextant::import {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

Result<AdminResponse> PostAdmin(const std::string& server, const std::string& target,
                                const std::string& token, const std::string& content_type,
                                std::string body) {
  std::string rest = server;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  const std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> request(http::verb::post, target, 11);
    request.set(http::field::host, host);
    request.set(http::field::authorization, "Bearer " + token);
    request.set(http::field::content_type, content_type);
    request.body() = std::move(body);
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return AdminResponse{static_cast<int>(response.result_int()), std::move(response.body())};
  } catch (const std::exception& e) {
    return Status(ErrorCode::kIoError, server + ": " + e.what());
  }
}

std::string FindAdminToken(const std::string& token, const std::string& data_dir) {
  if (!token.empty()) return token;
  if (const char* env = std::getenv("SEXTANT_ADMIN_TOKEN"); env != nullptr && *env) return env;
  std::ifstream in(data_dir + "/admin_token");
  std::string line;
  std::getline(in, line);
  return Trim(line);
}

}  // namespace sextant::import
