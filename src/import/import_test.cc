#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "import/csv_reader.h"
#include "import/importer.h"
#include "import/row_mapper.h"
#include "import/time_format.h"

namespace sextant::import {
namespace {

std::vector<std::vector<std::string>> ReadAll(std::string_view data, std::vector<uint64_t>* lines = nullptr,
                                              Status* error = nullptr) {
  CsvReader reader(data);
  std::vector<std::string_view> fields;
  std::vector<std::vector<std::string>> rows;
  Status err;
  while (reader.Next(&fields, &err)) {
    rows.emplace_back(fields.begin(), fields.end());
    if (lines) lines->push_back(reader.record_line());
  }
  if (error) *error = err;
  return rows;
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvReaderTest, PlainQuotedAndEscaped) {
  Rows rows = ReadAll("a,b,c\n1,\"x,y\",\"say \"\"hi\"\"\"\n,,\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x,y", "say \"hi\""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"", "", ""}));
}

TEST(CsvReaderTest, EmbeddedNewlinesBomCrlfAndLineNumbers) {
  std::vector<uint64_t> lines;
  Rows rows = ReadAll("\xEF\xBB\xBFid,note\r\n1,\"two\r\nlines\"\r\n\r\n2,plain\r\n3,last", &lines);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0][0], "id");  // BOM stripped
  EXPECT_EQ(rows[1][1], "two\r\nlines");
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "plain"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"3", "last"}));
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2, 5, 6}));  // blank line 4 skipped
}

TEST(CsvReaderTest, UnterminatedQuoteIsAnError) {
  Status err;
  Rows rows = ReadAll("a,b\n1,\"open\n2,3\n", nullptr, &err);
  EXPECT_EQ(rows.size(), 1u);
  EXPECT_FALSE(err.ok());
  EXPECT_NE(err.message().find("line 2"), std::string::npos);
}

TEST(CsvReaderTest, TextAfterClosingQuoteKeptAndTrailingDelimiter) {
  Rows rows = ReadAll("\"ab\"c,d,\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"abc", "d", ""}));
}

TEST(TypeInferenceTest, Numbers) {
  EXPECT_EQ(InferCellType("12"), ValueType::kNumber);
  EXPECT_EQ(InferCellType("-3.25"), ValueType::kNumber);
  EXPECT_EQ(InferCellType("1e5"), ValueType::kNumber);
  EXPECT_EQ(InferCellType(" 7 "), ValueType::kNumber);
  EXPECT_EQ(InferCellType("0.5"), ValueType::kNumber);
  EXPECT_EQ(InferCellType("000123"), ValueType::kString);   // fund codes keep their zeros
  EXPECT_EQ(InferCellType("6222021234567890123"), ValueType::kString);  // card numbers
  EXPECT_EQ(InferCellType("12a"), ValueType::kString);
  EXPECT_EQ(InferCellType("true"), ValueType::kBool);
  EXPECT_EQ(InferCellType(""), ValueType::kString);
}

TEST(TimeFormatTest, PatternsEpochsAndZones) {
  TimeZone shanghai;
  auto fmt = TimeFormat::Parse("%Y-%m-%d %H:%M:%S");
  ASSERT_TRUE(fmt.ok());
  auto ms = fmt->ParseMs("2024-01-02 08:00:00", shanghai);
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(*ms, 1704153600000);  // 2024-01-02T00:00:00Z
  ms = fmt->ParseMs("2024-01-02 08:00:00.25", shanghai);
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(*ms, 1704153600250);  // decimal fraction
  EXPECT_FALSE(fmt->ParseMs("2024-02-30 08:00:00", shanghai).ok());
  EXPECT_FALSE(fmt->ParseMs("yesterday", shanghai).ok());

  TimeFormat autof;
  EXPECT_EQ(*autof.ParseMs("1704153600000", shanghai), 1704153600000);
  EXPECT_EQ(*autof.ParseMs("1704153600", shanghai), 1704153600000);
  EXPECT_EQ(*autof.ParseMs("2024-01-02T00:00:00Z", shanghai), 1704153600000);
  EXPECT_EQ(*autof.ParseMs("2024-01-02 08:00:00+08:00", shanghai), 1704153600000);
  EXPECT_EQ(*autof.ParseMs("2024/01/02 08:00:00", shanghai), 1704153600000);
  EXPECT_EQ(*autof.ParseMs("20240102", shanghai), 1704124800000);  // local midnight
  EXPECT_EQ(*autof.ParseMs("2024-01-02", shanghai), 1704124800000);

  auto s = TimeFormat::Parse("epoch_s");
  EXPECT_EQ(*s->ParseMs("1704153600", shanghai), 1704153600000);
  auto m = TimeFormat::Parse("epoch_ms");
  EXPECT_FALSE(m->ParseMs("17041536x0", shanghai).ok());
  EXPECT_FALSE(TimeFormat::Parse("dd/mm/yyyy").ok());
  auto d = TimeFormat::Parse("%d/%m/%Y");
  EXPECT_EQ(*d->ParseMs("02/01/2024", shanghai), 1704124800000);
}

simdjson::dom::element ParseJson(simdjson::dom::parser& parser, const std::string& text) {
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(text).get(doc), simdjson::SUCCESS) << text;
  return doc;
}

std::vector<Cell> TextCells(const std::vector<std::string_view>& values) {
  std::vector<Cell> cells;
  for (auto v : values) cells.push_back(Cell{Cell::Kind::kText, v, false});
  return cells;
}

TEST(RowMapperTest, EventsWithMappingTypesRenamesAndSkips) {
  auto mapping = ParseMapping(R"({
    "id_column": "cust_no", "id_key": "$identity_login_id",
    "event": "deposit",
    "time_column": "tx_time", "time_format": "%Y-%m-%d %H:%M:%S",
    "types": {"amount": "NUMBER", "branch_code": "STRING"},
    "rename": {"chan": "channel"},
    "skip": ["internal"],
    "columns": {"tags": {"type": "LIST", "separator": ";"}, "vip": "BOOL",
                "open_dt": {"type": "DATE", "rename": "account_open_date"}}
  })");
  ASSERT_TRUE(mapping.ok()) << mapping.status().ToString();
  auto mapper = RowMapper::Create(*mapping, ImportKind::kEvents);
  ASSERT_TRUE(mapper.ok());
  std::vector<std::string_view> header = {"cust_no", "tx_time", "amount", "branch_code", "chan",
                                          "internal", "tags", "vip", "open_dt", "note", "qty"};
  ASSERT_TRUE(mapper->Prepare(header).ok());
  std::string out;
  Status st = mapper->Map(header,
                          TextCells({"C001", "2024-01-02 08:00:00", "1,234.50", "007", "app", "x",
                                     "a; b;;c", "是", "2020/05/06", "hello \"w\"", "3"}),
                          42, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  simdjson::dom::parser parser;
  auto doc = ParseJson(parser, out);
  EXPECT_EQ(doc["type"].get_string().value(), "track");
  EXPECT_EQ(doc["event"].get_string().value(), "deposit");
  EXPECT_EQ(doc["distinct_id"].get_string().value(), "C001");
  EXPECT_EQ(doc["identities"]["$identity_login_id"].get_string().value(), "C001");
  EXPECT_EQ(doc["time"].get_int64().value(), 1704153600000);
  EXPECT_EQ(doc["_track_id"].get_int64().value(), 42);
  EXPECT_TRUE(doc["time_free"].get_bool().value());
  auto props = doc["properties"];
  EXPECT_EQ(props["amount"].get_double().value(), 1234.5);
  EXPECT_EQ(props["branch_code"].get_string().value(), "007");
  EXPECT_EQ(props["channel"].get_string().value(), "app");
  EXPECT_EQ(props["internal"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(props["tx_time"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(props["tags"].get_array().size(), 3u);
  EXPECT_TRUE(props["vip"].get_bool().value());
  EXPECT_EQ(props["account_open_date"].get_string().value(), "2020-05-06");
  EXPECT_EQ(props["note"].get_string().value(), "hello \"w\"");
  EXPECT_EQ(props["qty"].get_int64().value(), 3);  // inferred NUMBER

  // A bad typed cell names its column.
  out.clear();
  st = mapper->Map(header,
                   TextCells({"C001", "2024-01-02 08:00:00", "lots", "1", "", "", "", "", "", "", ""}),
                   1, &out);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidValue);
  EXPECT_EQ(st.field(), "amount");
  EXPECT_TRUE(out.empty());
  // A bad time.
  st = mapper->Map(header, TextCells({"C001", "02.01.2024", "", "", "", "", "", "", "", "", ""}), 1, &out);
  EXPECT_EQ(st.field(), "tx_time");
  // Empty id.
  st = mapper->Map(header, TextCells({"", "2024-01-02 08:00:00", "", "", "", "", "", "", "", "", ""}), 1, &out);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidId);
}

TEST(RowMapperTest, MissingColumnsAreReportedAtPrepare) {
  auto mapper = RowMapper::Create(Mapping{}, ImportKind::kEvents);
  ASSERT_TRUE(mapper.ok());
  Status st = mapper->Prepare({"distinct_id", "event"});
  EXPECT_EQ(st.code(), ErrorCode::kMissingField);
  EXPECT_EQ(st.field(), "time");
  EXPECT_TRUE(mapper->Prepare({"distinct_id", "event", "time"}).ok());
  EXPECT_FALSE(ParseMapping(R"({"types": {"a": "MONEY"}})").ok());
  EXPECT_FALSE(ParseMapping(R"({"bogus": 1})").ok());
  EXPECT_FALSE(ParseMapping("not json").ok());
}

TEST(RowMapperTest, ProfilesItemsAndJsonCells) {
  Mapping m;
  m.id_column = "cust_no";
  auto profiles = RowMapper::Create(m, ImportKind::kProfiles);
  ASSERT_TRUE(profiles.ok());
  std::vector<std::string_view> names = {"cust_no", "aum", "tags", "extra", "gone"};
  std::vector<Cell> cells = {{Cell::Kind::kJsonString, "C9", false},
                             {Cell::Kind::kJsonNumber, "12.5", false},
                             {Cell::Kind::kJsonRaw, "[\"a\",\"b\"]", false},
                             {Cell::Kind::kJsonRaw, "{\"k\":1}", false},
                             {Cell::Kind::kJsonNull, "", false}};
  std::string out;
  ASSERT_TRUE(profiles->Map(names, cells, 0, &out).ok());
  simdjson::dom::parser parser;
  auto doc = ParseJson(parser, out);
  EXPECT_EQ(doc["type"].get_string().value(), "profile_set");
  EXPECT_EQ(doc["_track_id"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(doc["time"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(doc["properties"]["aum"].get_double().value(), 12.5);
  EXPECT_EQ(doc["properties"]["tags"].get_array().size(), 2u);
  EXPECT_EQ(doc["properties"]["extra"].get_string().value(), "{\"k\":1}");
  EXPECT_EQ(doc["properties"]["gone"].error(), simdjson::NO_SUCH_FIELD);

  Mapping im;
  im.id_column = "code";
  im.item_type = "fund";
  auto items = RowMapper::Create(im, ImportKind::kItems);
  ASSERT_TRUE(items.ok());
  std::vector<std::string_view> header = {"code", "risk_level"};
  ASSERT_TRUE(items->Prepare(header).ok());
  out.clear();
  ASSERT_TRUE(items->Map(header, TextCells({"000001", "R3"}), 0, &out).ok());
  auto item = ParseJson(parser, out);
  EXPECT_EQ(item["type"].get_string().value(), "item_set");
  EXPECT_EQ(item["item_type"].get_string().value(), "fund");
  EXPECT_EQ(item["item_id"].get_string().value(), "000001");
  EXPECT_EQ(item["distinct_id"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(ImportTrackIdTest, DeterministicAndDistinct) {
  EXPECT_EQ(ImportTrackId("a.csv", 2, "x,y\n"), ImportTrackId("a.csv", 2, "x,y\n"));
  EXPECT_NE(ImportTrackId("a.csv", 2, "x,y\n"), ImportTrackId("a.csv", 3, "x,y\n"));
  EXPECT_NE(ImportTrackId("a.csv", 2, "x,y\n"), ImportTrackId("b.csv", 2, "x,y\n"));
  EXPECT_NE(ImportTrackId("a.csv", 2, "x,y\n"), ImportTrackId("a.csv", 2, "x,z\n"));
  EXPECT_LT(ImportTrackId("a.csv", 2, "x,y\n"), int64_t{1} << 53);
}

// A fake records endpoint: rejects the record at index 1 of every batch, remembers bodies.
class FakeServer {
 public:
  FakeServer() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    boost::system::error_code ec;
    // Wake the acceptor with a dummy connection.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)}, ec);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> bodies;
  std::string auth;

 private:
  void Serve() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::asio::ip::tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      boost::beast::flat_buffer buf;
      for (;;) {
        http::request<http::string_body> req;
        http::read(sock, buf, req, ec);
        if (ec) break;
        auth = std::string(req[http::field::authorization]);
        bodies.push_back(req.body());
        // The importer sends one JSON array per batch.
        simdjson::dom::parser parser;
        simdjson::dom::array records;
        size_t n = parser.parse(req.body()).get_array().get(records) ? 0 : records.size();
        std::string answer = "{\"accepted\":" + std::to_string(n >= 2 ? n - 1 : n) +
                             ",\"duplicates\":0,\"rejected\":[";
        if (n >= 2)
          answer += "{\"index\":1,\"code\":2003,\"name\":\"invalid_name\",\"field\":\"properties.1x\","
                    "\"reason\":\"bad name\"}";
        answer += "]}";
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = answer;
        res.keep_alive(true);
        res.prepare_payload();
        http::write(sock, res, ec);
        if (ec) break;
      }
    }
  }
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string TempPath(const std::string& name) {
  return testing::TempDir() + "/import_test_" + std::to_string(getpid()) + "_" + name;
}

TEST(ImporterTest, RejectedIndexesMapBackToLines) {
  const std::string csv = TempPath("tx.csv");
  {
    std::ofstream out(csv);
    // Lines 3-4 hold one record with a quoted newline; line 6 has a bad time.
    out << "distinct_id,event,time,amount\n"
        << "u1,deposit,2024-01-02 08:00:00,10\n"
        << "u2,deposit,2024-01-02 08:00:01,\"multi\nline\"\n"
        << "u3,deposit,2024-01-02 08:00:02,30\n"
        << "u4,deposit,not-a-time,40\n"
        << "u5,deposit,2024-01-02 08:00:03,50\n";
  }
  const std::string errors = TempPath("errors.txt");
  FakeServer server;
  ImportOptions options;
  options.project = "p1";
  options.server = "http://127.0.0.1:" + std::to_string(server.port());
  options.token = "tok";
  options.errors_file = errors;
  options.batch = 2;
  options.connections = 1;
  options.progress = 0;
  options.files = {csv};
  ImportReport report;
  Status st = RunImport(options, &report);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(report.rows, 5u);
  EXPECT_EQ(report.sent, 4u);      // the bad time never leaves the importer
  EXPECT_EQ(report.failed, 3u);    // 1 local + index 1 of both 2-record batches
  EXPECT_EQ(server.auth, "Bearer tok");
  ASSERT_EQ(server.bodies.size(), 2u);

  std::ifstream in(errors);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], csv + ":3: invalid_name properties.1x: bad name");      // batch 1, index 1
  EXPECT_EQ(lines[1].rfind(csv + ":6: invalid_value time: cannot read time", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2], csv + ":7: invalid_name properties.1x: bad name");      // batch 2, index 1

  // Re-running sends identical bodies (same _track_ids), so the server can drop them.
  std::vector<std::string> first = server.bodies;
  server.bodies.clear();
  ASSERT_TRUE(RunImport(options, &report).ok());
  EXPECT_EQ(server.bodies, first);
  std::remove(csv.c_str());
  std::remove(errors.c_str());
}

TEST(ImporterTest, RecordsKindInjectsTrackIds) {
  const std::string path = TempPath("records.jsonl");
  {
    std::ofstream out(path);
    out << "{\"type\":\"track\",\"event\":\"e\",\"distinct_id\":\"u\",\"time\":1704153600000}\n"
        << "{\"type\":\"track\",\"_track_id\":5,\"event\":\"e\",\"distinct_id\":\"u\",\"time\":1}\n"
        << "{\"type\":\"profile_set\",\"distinct_id\":\"u\",\"properties\":{\"a\":1}}\n"
        << "not json\n";
  }
  FakeServer server;
  ImportOptions options;
  options.kind = ImportKind::kRecords;
  options.server = "http://127.0.0.1:" + std::to_string(server.port());
  options.progress = 0;
  options.batch = 10;
  options.files = {path};
  ImportReport report;
  ASSERT_TRUE(RunImport(options, &report).ok());
  EXPECT_EQ(report.rows, 4u);
  EXPECT_EQ(report.sent, 3u);
  ASSERT_EQ(server.bodies.size(), 1u);
  simdjson::dom::parser parser;
  simdjson::dom::array sent;
  ASSERT_FALSE(parser.parse(server.bodies[0]).get_array().get(sent));
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent.at(0)["_track_id"].get_int64().value(), ImportTrackId("import_test_" + std::to_string(getpid()) + "_records.jsonl", 1,
                                                                  "{\"type\":\"track\",\"event\":\"e\",\"distinct_id\":\"u\",\"time\":1704153600000}"));
  EXPECT_EQ(sent.at(1)["_track_id"].get_int64().value(), 5);
  EXPECT_EQ(sent.at(2)["_track_id"].error(), simdjson::NO_SUCH_FIELD);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace sextant::import
