// Ingest load generator for bench/ingest_bench.sh.
//
//   loadgen ddl --input events.jsonl --table bench.events [--limit N]
//       Prints the ClickHouse CREATE TABLE for the events of a `sextant generate` dataset.
//   loadgen run --target native|sa|clickhouse --url http://127.0.0.1:PORT/path --input F
//               [--token T] [--batch 1000] [--connections 8] [--limit N] [--max-seconds 120]
//       Pushes the event records of F (track, track_signup, track_id_bind lines) as batches:
//         native      NDJSON to POST /api/v1/projects/{p}/records (Bearer token)
//         sa          form body gzip=1&data_list=<urlenc b64(gzip(JSON array))> to /sa
//         clickhouse  JSONEachRow rows to POST /?query=INSERT INTO t FORMAT JSONEachRow
//       All request bodies are encoded before the clock starts; during the run each connection
//       thread only sends a body and waits for its answer (keep-alive, one request in flight per
//       connection). Prints one JSON line: events, seconds, events_per_s, p50/p99/max ms, errors.
//
// Bounded: every batch is sent at most once (plus retries after a broken connection, at most
// 3 per batch), and the run stops after --max-seconds. Only loopback addresses are accepted.
#include <simdjson.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct Args {
  std::string mode;
  std::string target = "native";
  std::string url;
  std::string input;
  std::string token;
  std::string table = "bench.events";
  size_t batch = 1000;
  int connections = 8;
  uint64_t limit = UINT64_MAX;
  double max_seconds = 120;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "loadgen: %s\n", message.c_str());
  std::exit(2);
}

Args ParseArgs(int argc, char** argv) {
  Args a;
  if (argc < 2) Die("usage: loadgen ddl|run [--flags]; see the header of bench/loadgen.cc");
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + flag);
      return argv[++i];
    };
    if (flag == "--target") a.target = value();
    else if (flag == "--url") a.url = value();
    else if (flag == "--input") a.input = value();
    else if (flag == "--token") a.token = value();
    else if (flag == "--table") a.table = value();
    else if (flag == "--batch") a.batch = std::stoul(value());
    else if (flag == "--connections") a.connections = std::stoi(value());
    else if (flag == "--limit") a.limit = std::stoull(value());
    else if (flag == "--max-seconds") a.max_seconds = std::stod(value());
    else Die("unknown flag " + flag);
  }
  if (a.input.empty()) Die("--input is required");
  if (a.batch == 0 || a.connections <= 0 || a.connections > 256) Die("bad --batch/--connections");
  return a;
}

// Event lines of a generated dataset (profiles and items are not part of the ingest benchmark).
std::vector<std::string> ReadEvents(const std::string& path, uint64_t limit) {
  std::ifstream in(path);
  if (!in) Die("cannot open " + path);
  std::vector<std::string> lines;
  std::string line;
  while (lines.size() < limit && std::getline(in, line)) {
    if (line.find("\"type\":\"track") == std::string::npos) continue;
    lines.push_back(std::move(line));
  }
  return lines;
}

// ---- encodings ------------------------------------------------------------------------------

std::string Gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    Die("deflateInit2");
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) Die("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string UrlEncodeBase64(std::string_view b64) {
  std::string out;
  out.reserve(b64.size() + b64.size() / 16);
  for (char c : b64) {
    if (c == '+') out += "%2B";
    else if (c == '/') out += "%2F";
    else if (c == '=') out += "%3D";
    else out.push_back(c);
  }
  return out;
}

// ---- ClickHouse row conversion ----------------------------------------------------------------

enum class ChType { kFloat, kBool, kString, kArray };

struct ChSchema {
  std::vector<std::pair<std::string, ChType>> columns;  // property columns in first-seen order
  std::unordered_map<std::string, ChType> types;
};

ChSchema InferSchema(const std::vector<std::string>& lines) {
  ChSchema schema;
  simdjson::dom::parser parser;
  for (const std::string& line : lines) {
    simdjson::dom::element doc;
    if (parser.parse(line).get(doc)) continue;
    simdjson::dom::object props;
    if (doc["properties"].get_object().get(props)) continue;
    for (auto field : props) {
      std::string key(field.key);
      if (schema.types.count(key)) continue;
      ChType t;
      switch (field.value.type()) {
        case simdjson::dom::element_type::BOOL: t = ChType::kBool; break;
        case simdjson::dom::element_type::STRING: t = ChType::kString; break;
        case simdjson::dom::element_type::ARRAY: t = ChType::kArray; break;
        case simdjson::dom::element_type::INT64:
        case simdjson::dom::element_type::UINT64:
        case simdjson::dom::element_type::DOUBLE: t = ChType::kFloat; break;
        default: continue;
      }
      schema.types[key] = t;
      schema.columns.emplace_back(key, t);
    }
  }
  return schema;
}

std::string Ddl(const ChSchema& schema, const std::string& table) {
  std::string ddl = "CREATE TABLE " + table +
                    " (event String, time DateTime, ms UInt16, distinct_id String, user_id UInt64";
  for (const auto& [name, type] : schema.columns) {
    ddl += ", `" + name + "` ";
    switch (type) {
      case ChType::kFloat: ddl += "Float64"; break;
      case ChType::kBool: ddl += "UInt8"; break;
      case ChType::kString: ddl += "String"; break;
      case ChType::kArray: ddl += "Array(String)"; break;
    }
  }
  ddl += ") ENGINE = MergeTree() PARTITION BY toYYYYMM(time) ORDER BY (user_id, time)";
  return ddl;
}

void AppendEscaped(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// One JSONEachRow line per event. The loadgen resolves user ids itself (login id, else the
// distinct id) — work Sextant does on the server, handed to ClickHouse for free.
class ChConverter {
 public:
  explicit ChConverter(const ChSchema& schema) : schema_(schema) {}
  bool Convert(std::string_view line, std::string* out) {
    simdjson::dom::element doc;
    if (parser_.parse(line.data(), line.size()).get(doc)) return false;
    std::string_view event, distinct_id, login;
    int64_t time = 0;
    if (doc["event"].get_string().get(event) || doc["time"].get_int64().get(time)) return false;
    if (doc["distinct_id"].get_string().get(distinct_id)) distinct_id = {};
    if (doc["identities"]["$identity_login_id"].get_string().get(login)) login = distinct_id;
    auto [it, fresh] = user_ids_.try_emplace(std::string(login), user_ids_.size() + 1);
    out->append("{\"event\":");
    AppendEscaped(out, event);
    time_t secs = static_cast<time_t>(time / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof(buf), ",\"time\":\"%04d-%02d-%02d %02d:%02d:%02d\",\"ms\":%d",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(time % 1000));
    out->append(buf);
    out->append(",\"distinct_id\":");
    AppendEscaped(out, distinct_id);
    out->append(",\"user_id\":");
    out->append(std::to_string(it->second));
    simdjson::dom::object props;
    if (!doc["properties"].get_object().get(props)) {
      for (auto field : props) {
        auto t = schema_.types.find(std::string(field.key));
        if (t == schema_.types.end()) continue;
        std::string value;
        switch (t->second) {
          case ChType::kFloat: {
            double d;
            if (field.value.get_double().get(d)) continue;
            std::snprintf(buf, sizeof(buf), "%.17g", d);
            value = buf;
            break;
          }
          case ChType::kBool: {
            bool b;
            if (field.value.get_bool().get(b)) continue;
            value = b ? "1" : "0";
            break;
          }
          case ChType::kString: {
            std::string_view s;
            if (field.value.get_string().get(s)) continue;
            AppendEscaped(&value, s);
            break;
          }
          case ChType::kArray: {
            simdjson::dom::array arr;
            if (field.value.get_array().get(arr)) continue;
            value = "[";
            bool first = true;
            for (auto el : arr) {
              std::string_view s;
              if (el.get_string().get(s)) continue;
              if (!first) value.push_back(',');
              first = false;
              AppendEscaped(&value, s);
            }
            value.push_back(']');
            break;
          }
        }
        out->push_back(',');
        AppendEscaped(out, field.key);
        out->push_back(':');
        out->append(value);
      }
    }
    out->append("}\n");
    return true;
  }

 private:
  const ChSchema& schema_;
  simdjson::dom::parser parser_;
  std::unordered_map<std::string, uint64_t> user_ids_;
};

// ---- HTTP ------------------------------------------------------------------------------------

struct Url {
  std::string host, port, target;
};

Url ParseUrl(const std::string& url) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) Die("--url must start with http://");
  std::string rest = url.substr(prefix.size());
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = hostport.rfind(':');
  u.host = hostport.substr(0, colon);
  u.port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  if (u.host != "127.0.0.1" && u.host != "localhost" && u.host != "::1")
    Die("only loopback targets are allowed, got " + u.host);
  return u;
}

struct Batch {
  std::string body;
  size_t events = 0;
};

struct Totals {
  std::atomic<uint64_t> events{0}, requests{0}, errors{0}, retries{0};
  std::atomic<uint64_t> accepted{0}, duplicates{0}, rejected{0};
  std::mutex mu;
  std::vector<double> latencies_ms;  // guarded by mu
  std::string first_error;           // guarded by mu
};

// Counts "accepted", "duplicates" and rejected entries of a native-API answer.
void CountNativeAnswer(simdjson::dom::parser& parser, const std::string& body, Totals& totals) {
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc)) return;
  int64_t n;
  if (!doc["accepted"].get_int64().get(n)) totals.accepted += n;
  if (!doc["duplicates"].get_int64().get(n)) totals.duplicates += n;
  simdjson::dom::array rejected;
  if (!doc["rejected"].get_array().get(rejected)) totals.rejected += rejected.size();
}

void Worker(const Args& args, const Url& url, const std::vector<Batch>& batches,
            std::atomic<size_t>& next, std::chrono::steady_clock::time_point deadline,
            Totals& totals) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(url.host, url.port);
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  simdjson::dom::parser parser;
  std::vector<double> latencies;
  auto connect = [&] {
    stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->connect(endpoints);
    stream->socket().set_option(tcp::no_delay(true));
    buffer.clear();
  };
  const std::string content_type =
      args.target == "sa" ? "application/x-www-form-urlencoded"
                          : (args.target == "native" ? "application/x-ndjson" : "text/plain");
  try {
    connect();
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(totals.mu);
    if (totals.first_error.empty()) totals.first_error = std::string("connect: ") + e.what();
    totals.errors++;
    return;
  }
  for (;;) {
    size_t idx = next.fetch_add(1);
    if (idx >= batches.size() || std::chrono::steady_clock::now() >= deadline) break;
    const Batch& batch = batches[idx];
    bool done = false;
    for (int attempt = 0; attempt < 4 && !done; ++attempt) {
      try {
        if (!stream) connect();
        http::request<http::span_body<const char>> req{http::verb::post, url.target, 11};
        req.set(http::field::host, url.host);
        req.set(http::field::content_type, content_type);
        if (!args.token.empty()) req.set(http::field::authorization, "Bearer " + args.token);
        req.keep_alive(true);
        req.body() = http::span_body<const char>::value_type(batch.body.data(), batch.body.size());
        req.prepare_payload();
        auto t0 = std::chrono::steady_clock::now();
        http::write(*stream, req);
        http::response<http::string_body> res;
        http::read(*stream, buffer, res);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
        totals.requests++;
        if (res.result_int() / 100 != 2) {
          totals.errors++;
          std::lock_guard<std::mutex> lock(totals.mu);
          if (totals.first_error.empty())
            totals.first_error = "HTTP " + std::to_string(res.result_int()) + ": " +
                                 res.body().substr(0, 300);
        } else {
          latencies.push_back(ms);
          totals.events += batch.events;
          if (args.target == "native") CountNativeAnswer(parser, res.body(), totals);
        }
        done = true;
        if (!res.keep_alive()) stream.reset();
      } catch (const std::exception& e) {
        stream.reset();
        totals.retries++;
        std::lock_guard<std::mutex> lock(totals.mu);
        if (totals.first_error.empty()) totals.first_error = e.what();
      }
    }
    if (!done) totals.errors++;
  }
  std::lock_guard<std::mutex> lock(totals.mu);
  totals.latencies_ms.insert(totals.latencies_ms.end(), latencies.begin(), latencies.end());
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

int Run(const Args& args) {
  Url url = ParseUrl(args.url);
  std::vector<std::string> lines = ReadEvents(args.input, args.limit);
  std::vector<Batch> batches;
  uint64_t payload_bytes = 0;
  if (args.target == "clickhouse") {
    ChSchema schema = InferSchema(lines);
    ChConverter converter(schema);
    for (size_t i = 0; i < lines.size(); i += args.batch) {
      Batch b;
      for (size_t j = i; j < std::min(lines.size(), i + args.batch); ++j)
        if (converter.Convert(lines[j], &b.body)) ++b.events;
      batches.push_back(std::move(b));
    }
  } else if (args.target == "native") {
    for (size_t i = 0; i < lines.size(); i += args.batch) {
      Batch b;
      for (size_t j = i; j < std::min(lines.size(), i + args.batch); ++j) {
        b.body.append(lines[j]).push_back('\n');
        ++b.events;
      }
      batches.push_back(std::move(b));
    }
  } else if (args.target == "sa") {
    for (size_t i = 0; i < lines.size(); i += args.batch) {
      std::string array = "[";
      Batch b;
      for (size_t j = i; j < std::min(lines.size(), i + args.batch); ++j) {
        if (j > i) array.push_back(',');
        array.append(lines[j]);
        ++b.events;
      }
      array.push_back(']');
      b.body = "gzip=1&data_list=" + UrlEncodeBase64(Base64(Gzip(array)));
      batches.push_back(std::move(b));
    }
  } else {
    Die("--target must be native, sa or clickhouse");
  }
  for (const Batch& b : batches) payload_bytes += b.body.size();
  lines.clear();
  lines.shrink_to_fit();

  Totals totals;
  std::atomic<size_t> next{0};
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::milliseconds(static_cast<int64_t>(args.max_seconds * 1000));
  std::vector<std::thread> threads;
  for (int c = 0; c < args.connections; ++c)
    threads.emplace_back(Worker, std::cref(args), std::cref(url), std::cref(batches),
                         std::ref(next), deadline, std::ref(totals));
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double>& lat = totals.latencies_ms;
  double p50 = Percentile(lat, 0.50), p99 = Percentile(lat, 0.99);
  double max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  std::printf(
      "{\"target\":\"%s\",\"events\":%llu,\"seconds\":%.3f,\"events_per_s\":%.0f,"
      "\"requests\":%llu,\"batch\":%zu,\"connections\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
      "\"max_ms\":%.2f,\"errors\":%llu,\"retries\":%llu,\"accepted\":%llu,\"duplicates\":%llu,"
      "\"rejected\":%llu,\"payload_bytes\":%llu,\"complete\":%s}\n",
      args.target.c_str(), static_cast<unsigned long long>(totals.events.load()), seconds,
      seconds > 0 ? totals.events.load() / seconds : 0.0,
      static_cast<unsigned long long>(totals.requests.load()), args.batch, args.connections, p50,
      p99, max, static_cast<unsigned long long>(totals.errors.load()),
      static_cast<unsigned long long>(totals.retries.load()),
      static_cast<unsigned long long>(totals.accepted.load()),
      static_cast<unsigned long long>(totals.duplicates.load()),
      static_cast<unsigned long long>(totals.rejected.load()),
      static_cast<unsigned long long>(payload_bytes),
      next.load() >= batches.size() ? "true" : "false");
  if (!totals.first_error.empty())
    std::fprintf(stderr, "loadgen: first error: %s\n", totals.first_error.c_str());
  return totals.errors.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  if (args.mode == "ddl") {
    std::vector<std::string> lines = ReadEvents(args.input, args.limit);
    std::printf("%s\n", Ddl(InferSchema(lines), args.table).c_str());
    return 0;
  }
  if (args.mode == "run") return Run(args);
  Die("unknown mode " + args.mode);
}
