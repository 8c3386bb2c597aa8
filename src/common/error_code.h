// Stable, numbered error codes shared by every module. Tests and API clients assert on
// the numeric code or its name, never on message text. Numbers are never reused: add new
// codes at the end of their range.
#pragma once

#include <cstdint>
#include <string_view>

namespace sextant {

enum class ErrorCode : int32_t {
  kOk = 0,

  // 1xxx: payload decoding (the bytes of a request).
  kBadBase64 = 1001,
  kBadGzip = 1002,
  kBadJson = 1003,
  kCrcMismatch = 1004,
  kEncryptedPayload = 1005,
  kMissingPayload = 1006,
  kPayloadTooLarge = 1007,
  kTooManyRecords = 1008,
  kBadForm = 1009,

  // 2xxx: record validation (one record of a payload).
  kMissingField = 2001,
  kInvalidType = 2002,       // unknown record "type"
  kInvalidName = 2003,       // event / property / identity key name fails the name rules
  kReservedName = 2004,
  kInvalidValue = 2005,      // value of a field or property has the wrong JSON type
  kValueTooLong = 2006,
  kTypeConflict = 2007,      // property type differs from the type fixed in the schema
  kTimeOutOfWindow = 2008,
  kInvalidId = 2009,         // distinct_id / identity value / item id empty or too long
  kUnknownProject = 2010,
  kBadToken = 2011,
  kIdentityConflict = 2012,  // bind would give a user a second login id, etc.
  kDuplicate = 2013,         // resend of an already stored record (not an error for clients)

  // 3xxx: API requests.
  kBadRequest = 3001,
  kUnauthorized = 3002,
  kForbidden = 3003,
  kNotFound = 3004,
  kMethodNotAllowed = 3005,
  kConflict = 3006,
  kInvalidQuery = 3007,      // an analysis query that cannot run as written (the field says where)
  kQueryTooLarge = 3008,     // a query whose state would exceed the memory bound
  kTooManyRequests = 3009,   // rate limit or login lockout; the message says when to retry

  // 9xxx: server faults.
  kInternal = 9001,
  kIoError = 9002,
  kCorruption = 9003,
  kUnavailable = 9004,
};

// Lower-snake name of the code, e.g. "bad_base64". Stable like the number.
std::string_view ErrorCodeName(ErrorCode code);

}  // namespace sextant
