// Status and Result<T>: errors as values at module boundaries (LevelDB style).
// A Status carries a stable ErrorCode, a human message, and optionally the field it is about
// (e.g. "properties.price") so that callers can answer "which record, which field, why".
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/error_code.h"

namespace sextant {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& field() const { return field_; }

  // "invalid_name (2003) at properties.1abc: ..." — for logs, not for parsing.
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string field_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

#define SEXTANT_RETURN_IF_ERROR(expr)     \
  do {                                    \
    ::sextant::Status _st = (expr);       \
    if (!_st.ok()) return _st;            \
  } while (0)

}  // namespace sextant
