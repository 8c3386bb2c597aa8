// Protocol §1.6 curl encodings (a)–(g) and the §5.3 payload-level error cases.
#include "decode/sensors_payload.h"

#include <gtest/gtest.h>

#include "decode/base64.h"
#include "decode/form.h"
#include "decode/gzip.h"
#include "decode/java_hash.h"
#include "decode/record_parser.h"
#include "decode/record_validator.h"

namespace sextant::decode {
namespace {

constexpr std::string_view kEv =
    R"({"type":"track","event":"ViewProduct","distinct_id":"u1","time":1700000000000,)"
    R"("lib":{"$lib":"curl","$lib_version":"0"},"properties":{"price":1.5}})";
// The Python one-liner of §1.6 (c) on base64(kEv), precomputed.
constexpr int32_t kEvB64Crc = 670294503;

std::string Array(std::string_view ev) { return "[" + std::string(ev) + "]"; }

void ExpectOneViewProduct(const Result<SensorsPayload>& payload) {
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  ASSERT_EQ(payload->records_json.size(), 1u);
  Result<Record> record = ParseSensorsRecord(payload->records_json[0], TimeZone());
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->type, RecordType::kTrack);
  EXPECT_EQ(record->event, "ViewProduct");
  EXPECT_EQ(record->distinct_id, "u1");
  EXPECT_EQ(record->time_ms, 1700000000000);
  EXPECT_EQ(record->lib, "curl");
  ASSERT_NE(record->FindProperty("price"), nullptr);
  EXPECT_EQ(*record->FindProperty("price"), Value::Number(1.5));
  ValidationOptions options;
  options.now_ms = 1700000000000;
  EXPECT_TRUE(ValidateRecord(&record.value(), options).ok());
}

TEST(SensorsPayloadTest, PrecomputedCrcMatchesJavaHash) {
  EXPECT_EQ(JavaStringHashCode(Base64Encode(kEv)), kEvB64Crc);
}

TEST(SensorsPayloadTest, CaseA_DataListGzipBatch) {
  std::string body = "data_list=" + UrlEncode(Base64Encode(GzipCompress(Array(kEv)))) + "&gzip=1";
  Result<SensorsPayload> p = DecodeSensorsPayload("project=default", body, {});
  ExpectOneViewProduct(p);
  EXPECT_EQ(p->project, "default");
  EXPECT_FALSE(p->crc_checked);
}

TEST(SensorsPayloadTest, CaseB_DataGzipSingle) {
  std::string body = "data=" + UrlEncode(Base64Encode(GzipCompress(kEv))) + "&gzip=1";
  ExpectOneViewProduct(DecodeSensorsPayload("project=default", body, {}));
}

TEST(SensorsPayloadTest, CaseC_WebAjaxWithExtCrc) {
  std::string b64 = Base64Encode(kEv);
  std::string body = "data=" + UrlEncode(b64) + "&ext=" + UrlEncode("crc=" + std::to_string(kEvB64Crc));
  Result<SensorsPayload> p = DecodeSensorsPayload("project=default", body, {});
  ExpectOneViewProduct(p);
  EXPECT_TRUE(p->crc_checked);
}

TEST(SensorsPayloadTest, CaseD_WebImageGetQueryOnly) {
  std::string query = "project=default&token=tk&data=" + UrlEncode(Base64Encode(kEv)) +
                      "&ext=crc%3D" + std::to_string(kEvB64Crc);
  Result<SensorsPayload> p = DecodeSensorsPayload(query, "", {});
  ExpectOneViewProduct(p);
  EXPECT_TRUE(p->crc_checked);
  EXPECT_EQ(p->token, "tk");
}

TEST(SensorsPayloadTest, CaseE_TextPlainDataListNoGzip) {
  std::string body = "data_list=" + UrlEncode(Base64Encode(Array(kEv)));
  ExpectOneViewProduct(DecodeSensorsPayload("project=default", body, {}));
}

TEST(SensorsPayloadTest, CaseF_AndroidCrcGzipDataList) {
  std::string b64 = Base64Encode(GzipCompress(Array(kEv)));
  std::string body = "crc=" + std::to_string(JavaStringHashCode(b64)) + "&gzip=1&data_list=" + UrlEncode(b64);
  Result<SensorsPayload> p = DecodeSensorsPayload("project=default", body, {});
  ExpectOneViewProduct(p);
  EXPECT_TRUE(p->crc_checked);
}

TEST(SensorsPayloadTest, CaseG_DebugDataListGzip) {
  std::string body = "data_list=" + UrlEncode(Base64Encode(GzipCompress(Array(kEv)))) + "&gzip=1";
  ExpectOneViewProduct(DecodeSensorsPayload("project=default", body, {}));
}

TEST(SensorsPayloadTest, UnencodedPlusIsRetriedAsSpace) {
  // base64 with '+' sent without percent-encoding: form decoding turns '+' into ' '.
  std::string ev = R"({"type":"track","event":"E","distinct_id":"~~~>>>???","properties":{}})";
  std::string b64 = Base64Encode(ev);
  ASSERT_NE(b64.find('+'), std::string::npos);
  std::string crc = std::to_string(JavaStringHashCode(b64));
  Result<SensorsPayload> p = DecodeSensorsPayload("", "data=" + b64 + "&crc=" + crc, {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->crc_checked);
  EXPECT_EQ(ParseSensorsRecord(p->records_json[0], TimeZone())->distinct_id, "~~~>>>???");
}

TEST(SensorsPayloadTest, DataListWinsOverData) {
  std::string body = "data=" + UrlEncode(Base64Encode(R"({"type":"track","event":"Other"})")) +
                     "&data_list=" + UrlEncode(Base64Encode(Array(kEv)));
  ExpectOneViewProduct(DecodeSensorsPayload("", body, {}));
}

TEST(SensorsPayloadTest, BodyParamsWinOverQuery) {
  std::string body = "data=" + UrlEncode(Base64Encode(kEv));
  std::string query = "project=p&data=" + UrlEncode(Base64Encode("{\"type\":\"bad\"}"));
  ExpectOneViewProduct(DecodeSensorsPayload(query, body, {}));
}

TEST(SensorsPayloadTest, ArrayGivesManyRecordsInOrder) {
  std::string arr = "[" + std::string(kEv) + ",{\"type\":\"profile_set\"},42]";
  Result<SensorsPayload> p = DecodeSensorsPayload("", "data_list=" + UrlEncode(Base64Encode(arr)), {});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->records_json.size(), 3u);
  EXPECT_EQ(p->records_json[1], R"({"type":"profile_set"})");
  EXPECT_EQ(p->records_json[2], "42");  // reported by the per-record parser
  EXPECT_EQ(ParseSensorsRecord(p->records_json[2], TimeZone()).status().code(), ErrorCode::kBadJson);
}

TEST(SensorsPayloadTest, GzipSniffedWithoutParamAndPlainToleratedWithGzip1) {
  ExpectOneViewProduct(
      DecodeSensorsPayload("", "data_list=" + UrlEncode(Base64Encode(GzipCompress(Array(kEv)))), {}));
  ExpectOneViewProduct(
      DecodeSensorsPayload("", "gzip=1&data_list=" + UrlEncode(Base64Encode(Array(kEv))), {}));
  ExpectOneViewProduct(
      DecodeSensorsPayload("", "gzip=0&data_list=" + UrlEncode(Base64Encode(Array(kEv))), {}));
}

TEST(SensorsPayloadTest, BadBase64) {
  Result<SensorsPayload> p = DecodeSensorsPayload("", "data_list=%%%not-base64!!&gzip=1", {});
  EXPECT_EQ(p.status().code(), ErrorCode::kBadBase64);
  EXPECT_EQ(p.status().field(), "data_list");
}

TEST(SensorsPayloadTest, WrongCrcIsCrcMismatch) {
  std::string body = "data=" + UrlEncode(Base64Encode(kEv)) + "&ext=crc%3D12345";
  Result<SensorsPayload> p = DecodeSensorsPayload("", body, {});
  EXPECT_EQ(p.status().code(), ErrorCode::kCrcMismatch);
  EXPECT_EQ(p.status().field(), "crc");
  body = "data=" + UrlEncode(Base64Encode(kEv)) + "&crc=abc";
  EXPECT_EQ(DecodeSensorsPayload("", body, {}).status().code(), ErrorCode::kCrcMismatch);
}

TEST(SensorsPayloadTest, EncryptedGzip9And13) {
  for (std::string g : {"9", "13"}) {
    std::string body = "gzip=" + g + "&data_list=" + UrlEncode(Base64Encode("opaque"));
    Result<SensorsPayload> p = DecodeSensorsPayload("", body, {});
    EXPECT_EQ(p.status().code(), ErrorCode::kEncryptedPayload);
    EXPECT_EQ(p.status().field(), "gzip");
  }
}

TEST(SensorsPayloadTest, MissingPayload) {
  EXPECT_EQ(DecodeSensorsPayload("project=x", "", {}).status().code(), ErrorCode::kMissingPayload);
  EXPECT_EQ(DecodeSensorsPayload("", "data=&gzip=1", {}).status().code(), ErrorCode::kMissingPayload);
}

TEST(SensorsPayloadTest, BadGzipAndBadJson) {
  std::string gz = GzipCompress(Array(kEv));
  Result<SensorsPayload> p =
      DecodeSensorsPayload("", "gzip=1&data_list=" + UrlEncode(Base64Encode(gz.substr(0, 20))), {});
  EXPECT_EQ(p.status().code(), ErrorCode::kBadGzip);
  EXPECT_EQ(p.status().field(), "gzip");
  p = DecodeSensorsPayload("", "data=" + UrlEncode(Base64Encode("{not json")), {});
  EXPECT_EQ(p.status().code(), ErrorCode::kBadJson);
  EXPECT_EQ(p.status().field(), "data");
  p = DecodeSensorsPayload("", "data=" + UrlEncode(Base64Encode("\"a string\"")), {});
  EXPECT_EQ(p.status().code(), ErrorCode::kBadJson);
  p = DecodeSensorsPayload("", "data=" + UrlEncode(Base64Encode("{\"a\":\"\xff\"}")), {});
  EXPECT_EQ(p.status().code(), ErrorCode::kBadJson);
}

TEST(SensorsPayloadTest, Limits) {
  SensorsPayloadLimits limits;
  limits.max_records = 2;
  std::string arr = "[" + std::string(kEv) + "," + std::string(kEv) + "," + std::string(kEv) + "]";
  EXPECT_EQ(DecodeSensorsPayload("", "data_list=" + UrlEncode(Base64Encode(arr)), limits).status().code(),
            ErrorCode::kTooManyRecords);
  limits = {};
  limits.max_decoded_bytes = 1 << 16;
  std::string bomb = Base64Encode(GzipCompress("[" + std::string(1 << 20, ' ') + "]"));
  EXPECT_EQ(DecodeSensorsPayload("", "gzip=1&data_list=" + UrlEncode(bomb), limits).status().code(),
            ErrorCode::kPayloadTooLarge);
}

}  // namespace
}  // namespace sextant::decode
