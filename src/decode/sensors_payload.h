// Decoding of a Sensors /sa, /sa.gif or /debug request into record JSON texts
// (protocol §1.2–§1.3). Parsing of each record is left to ParseSensorsRecord so that one bad
// record does not cost the others.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sextant::decode {

struct SensorsPayloadLimits {
  size_t max_decoded_bytes = 64 << 20;  // after base64 and after gunzip
  size_t max_records = 10000;
  // false: leave the JSON unsplit in SensorsPayload::decoded_json (records_json stays empty)
  // for a caller that parses it in one pass with ParseSensorsRecordList; JSON errors are then
  // that call's to report.
  bool split_records = true;
};

struct SensorsPayload {
  std::string project;   // from the URL "project" param ("" if absent)
  std::string token;     // from the URL "token" param
  bool crc_checked = false;  // a crc / ext=crc=N was present and matched
  std::vector<std::string> records_json;  // JSON text of each record, in order
  std::string decoded_json;               // the whole decoded JSON, if !split_records
};

// `query` = the URL query string (without '?'); `body` = the request body, parsed as
// application/x-www-form-urlencoded whatever the Content-Type. Payload parameters
// (data_list, data, gzip, crc, ext) are taken from the body first, then from the query;
// "data_list" wins over "data". Steps and errors (Status::field names the parameter):
//   no/empty data_list and data        → kMissingPayload ("data")
//   base64 (retry with ' '→'+')        → kBadBase64 ("data_list"/"data")
//   gzip=9 or 13                       → kEncryptedPayload ("gzip")
//   gzip=1, or bytes start with 1f 8b  → gunzip; kBadGzip / kPayloadTooLarge ("gzip").
//     (gzip=1 on bytes that are plainly JSON — '[' or '{' first — is tolerated.)
//   crc=N or ext=crc=N present         → Java hashCode of the base64 text must equal N,
//                                        else kCrcMismatch ("crc"); the caller answers 200
//                                        and logs the payload.
//   JSON                               → kBadJson; an object is one record, an array many
//                                        (elements kept as-is, even non-objects, so the
//                                        per-record parser reports them by index);
//                                        > max_records → kTooManyRecords.
//   sizes                              → kPayloadTooLarge beyond max_decoded_bytes.
Result<SensorsPayload> DecodeSensorsPayload(std::string_view query, std::string_view body,
                                            const SensorsPayloadLimits& limits);

}  // namespace sextant::decode
