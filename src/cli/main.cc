// sextant — one binary, subcommands: serve, generate, import, query, ledger.
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <csignal>
#include <filesystem>
#include <cstdlib>
#include <iostream>
#include <string>

#include "generate/generate_command.h"
#include "cli/query_command.h"
#include "import/import_command.h"
#include "access/audit_trail.h"
#include "journey/decision_ledger.h"
#include "server/application.h"

namespace {

int RunServe(int argc, char** argv) {
  sextant::server::ServeOptions options;
  CLI::App app{"sextant serve: ingest, API and console server", "sextant serve"};
  std::string listen = "127.0.0.1:8106";
  std::string durability = "strict";
  app.add_option("--data-dir", options.data_dir, "Data directory (created if missing)")
      ->capture_default_str();
  app.add_option("--listen", listen, "host:port to listen on; port 0 picks a free port")
      ->capture_default_str();
  app.add_option("--admin-token", options.admin_token,
                 "Admin API token (default: $SEXTANT_ADMIN_TOKEN, else DATA_DIR/admin_token)");
  app.add_option("--durability", durability,
                 "strict: ack after fsync; relaxed: fsync every 200 ms, ack before it")
      ->check(CLI::IsMember({"strict", "relaxed"}))
      ->capture_default_str();
  app.add_option("--io-threads", options.io_threads, "HTTP I/O threads")->capture_default_str();
  app.add_option("--max-body-bytes", options.max_body_bytes, "Largest request body")
      ->capture_default_str();
  app.add_option("--project", options.projects,
                 "Ensure a project exists at start: NAME or NAME:TOKEN (repeatable)");
  app.set_config("--config", "", "Config file (TOML or INI, keys = option names); flags override it");
  app.add_option("--retention-days", options.retention_days,
                 "Delete event days older than this (0 = keep)")
      ->capture_default_str();
  size_t query_cache_mb = options.query_cache_bytes >> 20;
  app.add_option("--query-cache-mb", query_cache_mb,
                 "Memory for cached day columns of the analysis engine")
      ->capture_default_str();
  app.add_option("--concurrent-queries", options.concurrent_queries,
                 "Analysis queries run at once")
      ->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--clock", options.clock,
                 "system, or simulated: time moves only through POST /api/v1/admin/clock")
      ->check(CLI::IsMember({"system", "simulated"}))
      ->capture_default_str();
  app.add_option("--clock-start-ms", options.simulated_start_ms,
                 "Simulated clock: start time in ms since the epoch (default: now)");
  app.add_option("--pii-key-file", options.pii_key_file,
                 "Keyring for encryption at rest of personal data in the state store (lines "
                 "'<id>:<base64 key>', the last one active; `sextant pii keygen`); default: the "
                 "SEXTANT_PII_KEYS environment variable, else no encryption");
  std::string console_dir;
  app.add_option("--console-dir", console_dir,
                 "Built web console to serve at / (default: the web/dist found upwards from the "
                 "binary's directory, then from the working directory; 'none' serves none)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (console_dir.empty()) {
    std::error_code error;
    std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) console_dir = sextant::server::ConsoleFiles::FindBuiltConsole(executable.parent_path());
    if (console_dir.empty())
      console_dir = sextant::server::ConsoleFiles::FindBuiltConsole(std::filesystem::current_path());
  } else if (console_dir == "none") {
    console_dir.clear();
  } else if (!std::filesystem::is_regular_file(std::filesystem::path(console_dir) / "index.html")) {
    std::cerr << "sextant: --console-dir " << console_dir << " has no index.html (build the console with scripts/build_console.sh)\n";
    return 2;
  }
  options.console_dir = console_dir;
  options.query_cache_bytes = query_cache_mb << 20;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "sextant: --listen must be host:port\n";
    return 2;
  }
  options.host = listen.substr(0, colon);
  try {
    options.port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
  } catch (...) {
    std::cerr << "sextant: bad port in --listen " << listen << "\n";
    return 2;
  }
  if (options.admin_token.empty()) {
    if (const char* env = std::getenv("SEXTANT_ADMIN_TOKEN")) options.admin_token = env;
  }
  options.strict_durability = durability == "strict";

  // Request bodies and batches are large (up to tens of MiB) and short-lived: keep them on the
  // heap and keep freed heap memory, instead of an mmap/munmap and fresh page faults per request.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sextant::server::Application application(options);
  sextant::Status started = application.Start();
  if (!started.ok()) {
    std::cerr << "sextant: cannot start: " << started.ToString() << "\n";
    return 1;
  }
  std::cout << "sextant: listening on http://" << options.host << ":" << application.port()
            << std::endl;
  std::cout << "sextant: console "
            << (options.console_dir.empty() ? std::string("not built (scripts/build_console.sh)")
                                            : options.console_dir)
            << std::endl;
  std::cout << "sextant: admin token " << application.admin_token() << std::endl;
  if (const std::string& refused = application.journeys().decision_priority_refused();
      !refused.empty()) {
    std::cout << "sextant: journey decisions run at normal CPU priority (" << refused
              << "); grant CAP_SYS_NICE for a lower decision latency under load" << std::endl;
  }
  int received = 0;
  sigwait(&signals, &received);
  std::cout << "sextant: stopping (signal " << received << ")" << std::endl;
  sextant::Status stopped = application.Stop();
  if (!stopped.ok()) {
    // Acknowledged data is in the WAL and is replayed at the next start; the exit code tells
    // the supervisor that the final flush failed (e.g. the disk is full).
    std::cerr << "sextant: stopped with an error: " << stopped.ToString() << std::endl;
    return 1;
  }
  std::cout << "sextant: stopped" << std::endl;
  return 0;
}

// sextant ledger verify: recomputes the hash chain of the decision ledger of every project (or
// one) in a data directory that no server has open. Exit 0 when every chain is intact.
int RunLedger(int argc, char** argv) {
  CLI::App app{"sextant ledger verify: check the decision ledger's hash chain", "sextant ledger"};
  std::string data_dir = "./data";
  std::string project_name;
  app.require_subcommand(1);
  CLI::App* verify = app.add_subcommand("verify", "Recompute the hash chain");
  verify->add_option("--data-dir", data_dir, "Data directory of a stopped server")->capture_default_str();
  verify->add_option("--project", project_name, "Only this project");
  std::string key_file;
  verify->add_option("--pii-key-file", key_file,
                     "Keyring, when personal data is encrypted (default: SEXTANT_PII_KEYS)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto kv = sextant::state::KvStore::Open(data_dir + "/state");
  if (!kv.ok()) {
    std::cerr << "sextant ledger: cannot open " << data_dir << "/state: " << kv.status().ToString()
              << " (stop the server first, or use GET /api/v1/projects/{p}/ledger/verify)\n";
    return 1;
  }
  // Ledger entries are sealed when encryption at rest is on.
  auto cipher = sextant::state::StateCipher::Load(key_file);
  if (!cipher.ok()) {
    std::cerr << "sextant ledger: " << cipher.status().ToString() << "\n";
    return 1;
  }
  (*kv)->SetCipher(*cipher);
  auto projects = sextant::state::ProjectRegistry::Open(kv->get());
  if (!projects.ok()) {
    std::cerr << "sextant ledger: " << projects.status().ToString() << "\n";
    return 1;
  }
  sextant::journey::DecisionLedger ledger(kv->get());
  bool all_valid = true;
  bool found = false;
  for (const auto& project : (*projects)->List()) {
    if (!project_name.empty() && project->name != project_name) continue;
    found = true;
    auto verification = ledger.Verify(project->id);
    if (!verification.ok()) {
      std::cerr << "sextant ledger: " << project->name << ": " << verification.status().ToString() << "\n";
      return 1;
    }
    if (verification->valid) {
      std::cout << project->name << ": ok, " << verification->entries << " entries, head "
                << verification->head_hash << ", " << verification->redacted
                << " redacted by erasures\n";
    } else {
      all_valid = false;
      std::cout << project->name << ": BROKEN at entry " << verification->first_bad_sequence << ": "
                << verification->reason << " (" << verification->entries << " entries verified before it)\n";
    }
  }
  if (!found) {
    std::cerr << "sextant ledger: no project " << project_name << "\n";
    return 1;
  }
  return all_valid ? 0 : 3;
}

// sextant audit verify: recomputes the audit trail's hash chain in a data directory that no
// server has open. Exit 0 when intact, 3 when broken.
int RunAudit(int argc, char** argv) {
  CLI::App app{"sextant audit verify: check the audit trail's hash chain", "sextant audit"};
  std::string data_dir = "./data";
  app.require_subcommand(1);
  CLI::App* verify = app.add_subcommand("verify", "Recompute the hash chain");
  verify->add_option("--data-dir", data_dir, "Data directory of a stopped server")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto kv = sextant::state::KvStore::Open(data_dir + "/state");
  if (!kv.ok()) {
    std::cerr << "sextant audit: cannot open " << data_dir << "/state: " << kv.status().ToString()
              << " (stop the server first, or use GET /api/v1/audit/verify)\n";
    return 1;
  }
  sextant::access::AuditTrail trail(kv->get(), &sextant::SystemClock::Instance());
  auto verification = trail.Verify();
  if (!verification.ok()) {
    std::cerr << "sextant audit: " << verification.status().ToString() << "\n";
    return 1;
  }
  if (!verification->valid) {
    std::cout << "audit trail: BROKEN at entry " << verification->first_bad_sequence << ": "
              << verification->reason << " (" << verification->entries
              << " entries verified before it)\n";
    return 3;
  }
  std::cout << "audit trail: ok, " << verification->entries << " entries, head "
            << verification->head_hash << "\n";
  return 0;
}

// sextant pii keygen | rotate: keys for encryption at rest of personal data
// (docs/access.md "Encryption at rest").
int RunPii(int argc, char** argv) {
  CLI::App app{"sextant pii: keys for the encryption at rest of personal data", "sextant pii"};
  app.require_subcommand(1);
  int key_id = 1;
  CLI::App* keygen = app.add_subcommand("keygen", "Print a new keyring line '<id>:<base64 key>'");
  keygen->add_option("--id", key_id, "Key id, 1-255 (one more than the last line's)")
      ->capture_default_str();
  std::string data_dir = "./data", key_file;
  CLI::App* rotate = app.add_subcommand(
      "rotate", "Re-encrypt all personal data under the keyring's last (active) key, sealing "
                "what was stored before encryption was on; the server must be stopped");
  rotate->add_option("--data-dir", data_dir, "Data directory of a stopped server")->capture_default_str();
  rotate->add_option("--pii-key-file", key_file, "Keyring (default: SEXTANT_PII_KEYS)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (keygen->parsed()) {
    if (key_id < 1 || key_id > 255) {
      std::cerr << "sextant pii keygen: --id must be 1-255\n";
      return 2;
    }
    auto line = sextant::state::StateCipher::GenerateKeyLine(static_cast<uint8_t>(key_id));
    if (!line.ok()) {
      std::cerr << "sextant pii keygen: " << line.status().ToString() << "\n";
      return 1;
    }
    std::cout << *line << "\n";
    return 0;
  }
  auto cipher = sextant::state::StateCipher::Load(key_file);
  if (!cipher.ok() || *cipher == nullptr) {
    std::cerr << "sextant pii rotate: "
              << (cipher.ok() ? "no keyring (--pii-key-file or SEXTANT_PII_KEYS)" : cipher.status().ToString())
              << "\n";
    return 1;
  }
  auto kv = sextant::state::KvStore::Open(data_dir + "/state");
  if (!kv.ok()) {
    std::cerr << "sextant pii rotate: cannot open " << data_dir << "/state: " << kv.status().ToString()
              << " (stop the server first)\n";
    return 1;
  }
  (*kv)->SetCipher(*cipher);
  auto resealed = (*kv)->Reseal();
  if (!resealed.ok()) {
    std::cerr << "sextant pii rotate: " << resealed.status().ToString() << "\n";
    return 1;
  }
  std::cout << "sealed under key " << static_cast<int>((*cipher)->active_id()) << ": "
            << resealed->values << " values, " << resealed->keys
            << " identity index keys; older keys can now be removed from the keyring\n";
  return 0;
}

void Usage() {
  std::cerr << "usage: sextant <command> [options]\n"
               "commands:\n"
               "  serve     run the server (ingest, API, console)\n"
               "  generate  write a deterministic demo dataset (Sensors records, JSON lines)\n"
               "  import    load CSV / JSON lines files into a running server\n"
               "  query     run an analysis query (JSON) on a running server\n"
               "  ledger    verify the decision ledger's hash chain (ledger verify --data-dir DIR)\n"
               "  audit     verify the audit trail's hash chain (audit verify --data-dir DIR)\n"
               "  pii       keys for encryption at rest of personal data (pii keygen | rotate)\n"
               "run 'sextant <command> --help' for options\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage();
    return 2;
  }
  std::string command = argv[1];
  if (command == "serve") return RunServe(argc - 1, argv + 1);
  if (command == "ledger") return RunLedger(argc - 1, argv + 1);
  if (command == "audit") return RunAudit(argc - 1, argv + 1);
  if (command == "pii") return RunPii(argc - 1, argv + 1);
  if (command == "generate") return sextant::generate::RunGenerateCommand(argc - 1, argv + 1);
  if (command == "import") return sextant::import::RunImportCommand(argc - 1, argv + 1);
  if (command == "query") return sextant::cli::RunQueryCommand(argc - 1, argv + 1);
  if (command == "--help" || command == "-h" || command == "help") {
    Usage();
    return 0;
  }
  std::cerr << "sextant: unknown command " << command << "\n";
  Usage();
  return 2;
}
