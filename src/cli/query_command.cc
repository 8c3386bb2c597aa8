// `sextant query`: sends an analysis query (the JSON of POST /api/v1/projects/{p}/query) to a
// running server and prints the answer, so scripts use exactly what the API and console use.
#include "cli/query_command.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <CLI/CLI.hpp>

#include "import/admin_request.h"

namespace sextant::cli {

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
  token = import::FindAdminToken(token, data_dir);
  if (token.empty()) {
    std::fprintf(stderr, "sextant query: no admin token: pass --token, set SEXTANT_ADMIN_TOKEN, "
                         "or --data-dir of the server\n");
    return 2;
  }
  auto response = import::PostAdmin(server, "/api/v1/projects/" + project + "/query", token,
                                    "application/json", std::move(body));
  if (!response.ok()) {
    std::fprintf(stderr, "sextant query: %s\n", response.status().message().c_str());
    return 1;
  }
  std::fwrite(response->body.data(), 1, response->body.size(), stdout);
  std::fputc('\n', stdout);
  if (response->status != 200) {
    std::fprintf(stderr, "sextant query: HTTP %d\n", response->status);
    return 1;
  }
  return 0;
}

}  // namespace sextant::cli
