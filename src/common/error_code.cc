#include "common/error_code.h"

namespace sextant {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kBadBase64: return "bad_base64";
    case ErrorCode::kBadGzip: return "bad_gzip";
    case ErrorCode::kBadJson: return "bad_json";
    case ErrorCode::kCrcMismatch: return "crc_mismatch";
    case ErrorCode::kEncryptedPayload: return "encrypted_payload";
    case ErrorCode::kMissingPayload: return "missing_payload";
    case ErrorCode::kPayloadTooLarge: return "payload_too_large";
    case ErrorCode::kTooManyRecords: return "too_many_records";
    case ErrorCode::kBadForm: return "bad_form";
    case ErrorCode::kMissingField: return "missing_field";
    case ErrorCode::kInvalidType: return "invalid_type";
    case ErrorCode::kInvalidName: return "invalid_name";
    case ErrorCode::kReservedName: return "reserved_name";
    case ErrorCode::kInvalidValue: return "invalid_value";
    case ErrorCode::kValueTooLong: return "value_too_long";
    case ErrorCode::kTypeConflict: return "type_conflict";
    case ErrorCode::kTimeOutOfWindow: return "time_out_of_window";
    case ErrorCode::kInvalidId: return "invalid_id";
    case ErrorCode::kUnknownProject: return "unknown_project";
    case ErrorCode::kBadToken: return "bad_token";
    case ErrorCode::kIdentityConflict: return "identity_conflict";
    case ErrorCode::kDuplicate: return "duplicate";
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kInvalidQuery: return "invalid_query";
    case ErrorCode::kQueryTooLarge: return "query_too_large";
    case ErrorCode::kTooManyRequests: return "too_many_requests";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kUnavailable: return "unavailable";
  }
  return "unknown";
}

}  // namespace sextant
