#include "import/import_command.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include <CLI/CLI.hpp>

#include "import/admin_request.h"
#include "import/importer.h"

namespace sextant::import {

namespace {

// `--tag`: each file is posted as it is to the tag's values endpoint (one snapshot per run; a
// second file merges into the first).
int ImportTagValues(const ImportOptions& options, const std::string& tag, bool merge,
                    const std::string& data_dir) {
  const std::string token = FindAdminToken(options.token, data_dir);
  if (token.empty()) {
    std::fprintf(stderr, "sextant import: no admin token: pass --token, set SEXTANT_ADMIN_TOKEN, "
                         "or point --data-dir at the server's data directory\n");
    return 2;
  }
  for (size_t i = 0; i < options.files.size(); ++i) {
    std::ifstream in(options.files[i], std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool keep = merge || i > 0;
    auto response = PostAdmin(options.server,
                              "/api/v1/projects/" + options.project + "/tags/" + tag + "/values" +
                                  (keep ? "?mode=merge" : ""),
                              token, "text/csv", std::move(body));
    if (!response.ok()) {
      std::fprintf(stderr, "sextant import: %s\n", response.status().message().c_str());
      return 1;
    }
    std::printf("%s: %s\n", options.files[i].c_str(), response->body.c_str());
    if (response->status != 200) return 1;
  }
  return 0;
}

}  // namespace

int RunImportCommand(int argc, char** argv) {
  CLI::App app{"Import CSV or JSON-lines files (events, customer profiles, items, or Sensors "
               "records) into a running sextant server. See docs/import.md."};
  app.name("sextant import");
  ImportOptions options;
  std::string kind = "events", data_dir = "./data", delimiter = ",", progress = "auto";
  app.add_option("--project", options.project, "target project")->required();
  app.add_option("--kind", kind, "what the rows are")
      ->check(CLI::IsMember({"events", "profiles", "items", "records"}))
      ->capture_default_str();
  app.add_option("--format", options.format, "input format (default: from the file extension)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  app.add_option("--mapping", options.mapping_file, "mapping file (JSON), see docs/import.md");
  app.add_option("--server", options.server, "server base URL")->capture_default_str();
  app.add_option("--token", options.token,
                 "admin token (default: $SEXTANT_ADMIN_TOKEN, else <data-dir>/admin_token)");
  app.add_option("--data-dir", data_dir, "where to find admin_token")->capture_default_str();
  app.add_option("--errors", options.errors_file,
                 "write one line per failed row: <file>:<line>: <code> <field>: <reason>");
  app.add_option("--batch", options.batch, "records per request")->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--connections", options.connections, "parallel keep-alive connections")
      ->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--delimiter", delimiter, "CSV field delimiter (one character, or \\t)")
      ->capture_default_str();
  app.add_option("--progress", progress, "progress on stderr")
      ->check(CLI::IsMember({"auto", "always", "never"}))->capture_default_str();
  app.add_flag("--dry-run", options.dry_run,
               "convert only: write the records as NDJSON to stdout instead of sending them");
  std::string tag;
  bool merge = false;
  app.add_option("--tag", tag,
                 "import the values of an imported tag (CSV rows distinct_id,value) instead of "
                 "records; see docs/segments.md");
  app.add_flag("--merge", merge, "with --tag: keep the values of people the files do not name");
  app.add_option("files", options.files, "input files")->required()->check(CLI::ExistingFile);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!tag.empty()) return ImportTagValues(options, tag, merge, data_dir);
  ParseImportKind(kind, &options.kind);
  if (delimiter == "\\t" || delimiter == "tab") delimiter = "\t";
  if (delimiter.size() != 1) {
    std::fprintf(stderr, "sextant import: --delimiter must be one character\n");
    return 2;
  }
  options.delimiter = delimiter[0];
  options.progress = progress == "auto" ? -1 : (progress == "always" ? 1 : 0);
  if (options.token.empty() && !options.dry_run) {
    if (const char* env = std::getenv("SEXTANT_ADMIN_TOKEN"); env != nullptr && *env) {
      options.token = env;
    } else {
      std::ifstream in(data_dir + "/admin_token");
      std::getline(in, options.token);
      while (!options.token.empty() && (options.token.back() == '\n' || options.token.back() == '\r' ||
                                        options.token.back() == ' '))
        options.token.pop_back();
    }
    if (options.token.empty()) {
      std::fprintf(stderr,
                   "sextant import: no admin token: pass --token, set SEXTANT_ADMIN_TOKEN, or "
                   "point --data-dir at the server's data directory\n");
      return 2;
    }
  }

  ImportReport report;
  Status st = RunImport(options, &report);
  if (!st.ok()) {
    std::fprintf(stderr, "sextant import: %s\n", st.ToString().c_str());
    return 2;
  }
  FILE* summary = options.dry_run ? stderr : stdout;
  std::fprintf(summary,
               "imported %llu rows from %zu file(s) in %.2f s (%.0f rows/s): %llu accepted, %llu "
               "duplicates, %llu failed%s%s\n",
               static_cast<unsigned long long>(report.rows), options.files.size(), report.seconds,
               report.seconds > 0 ? report.rows / report.seconds : 0.0,
               static_cast<unsigned long long>(report.accepted),
               static_cast<unsigned long long>(report.duplicates),
               static_cast<unsigned long long>(report.failed),
               options.errors_file.empty() || report.failed == 0 ? "" : ", see ",
               options.errors_file.empty() || report.failed == 0 ? "" : options.errors_file.c_str());
  if (!report.fatal.empty()) {
    std::fprintf(stderr, "sextant import: stopped: %s\n", report.fatal.c_str());
    return 1;
  }
  return report.failed == 0 ? 0 : 1;
}

}  // namespace sextant::import
