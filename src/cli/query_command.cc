// `sextant query`: sends an analysis query (the JSON of POST /api/v1/projects/{p}/query) to a
// running server and prints the answer, so scripts use exactly what the API and console use.
#include "cli/query_command.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sextant::cli {
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

int RunQueryCommand(int argc, char** argv) {
  CLI::App app{"Run an analysis query (docs/query.md) on a running sextant server and print the "
               "JSON answer."};
  app.name("sextant query");
  std::string project, server = "http://127.0.0.1:8106", token, data_dir = "./data", file;
  app.add_option("--project", project, "project to query")->required();
  app.add_option("--server", server, "server base URL")->capture_default_str();
  app.add_option("--token", token,
                 "admin token (default: $SEXTANT_ADMIN_TOKEN, else <data-dir>/admin_token)");
  app.add_option("--data-dir", data_dir, "where to find admin_token")->capture_default_str();
  app.add_option("file", file, "query JSON file, or - for standard input")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::string body;
  if (file == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "sextant query: cannot read %s\n", file.c_str());
      return 2;
    }
    body.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (token.empty()) {
    if (const char* env = std::getenv("SEXTANT_ADMIN_TOKEN")) token = env;
  }
  if (token.empty()) {
    std::ifstream in(data_dir + "/admin_token");
    std::getline(in, token);
    token = Trim(token);
  }
  if (token.empty()) {
    std::fprintf(stderr, "sextant query: no admin token: pass --token, set SEXTANT_ADMIN_TOKEN, "
                         "or --data-dir of the server\n");
    return 2;
  }
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
    http::request<http::string_body> request(http::verb::post,
                                             "/api/v1/projects/" + project + "/query", 11);
    request.set(http::field::host, host);
    request.set(http::field::authorization, "Bearer " + token);
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    std::fwrite(response.body().data(), 1, response.body().size(), stdout);
    std::fputc('\n', stdout);
    if (response.result_int() != 200) {
      std::fprintf(stderr, "sextant query: HTTP %d\n", response.result_int());
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sextant query: %s: %s\n", server.c_str(), e.what());
    return 1;
  }
  return 0;
}

}  // namespace sextant::cli
