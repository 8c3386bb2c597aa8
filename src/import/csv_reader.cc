#include "import/csv_reader.h"

#include <cstring>

namespace sextant::import {

CsvReader::CsvReader(std::string_view data, char delimiter) : data_(data), delimiter_(delimiter) {
  if (data_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

bool CsvReader::Next(std::vector<std::string_view>* fields, Status* error) {
  fields->clear();
  scratch_used_ = 0;
  const char* const base = data_.data();
  const size_t size = data_.size();
  for (;;) {
    // Skip blank lines (LF or CRLF).
    while (pos_ < size && (base[pos_] == '\n' || (base[pos_] == '\r' && pos_ + 1 < size &&
                                                   base[pos_ + 1] == '\n'))) {
      pos_ += base[pos_] == '\r' ? 2 : 1;
      ++line_;
    }
    if (pos_ >= size) return false;
    break;
  }
  record_line_ = line_;
  for (;;) {
    // One field starting at pos_.
    if (pos_ < size && base[pos_] == '"') {
      const size_t quote_line = line_;
      size_t start = ++pos_;
      bool has_escapes = false;
      size_t end = 0;
      for (;;) {
        const void* q = pos_ < size ? std::memchr(base + pos_, '"', size - pos_) : nullptr;
        if (q == nullptr) {
          *error = Status(ErrorCode::kBadRequest,
                          "quoted field opened on line " + std::to_string(quote_line) +
                              " is never closed");
          pos_ = size;
          return false;
        }
        size_t qpos = static_cast<const char*>(q) - base;
        for (size_t i = pos_; i < qpos; ++i) line_ += base[i] == '\n';
        if (qpos + 1 < size && base[qpos + 1] == '"') {  // "" inside quotes
          has_escapes = true;
          pos_ = qpos + 2;
          continue;
        }
        end = qpos;
        pos_ = qpos + 1;
        break;
      }
      std::string_view raw(base + start, end - start);
      // Text between the closing quote and the delimiter is kept literally.
      size_t tail_start = pos_;
      while (pos_ < size && base[pos_] != delimiter_ && base[pos_] != '\n') ++pos_;
      size_t tail_end = pos_;
      if (tail_end > tail_start && base[tail_end - 1] == '\r' && pos_ < size &&
          base[pos_] == '\n')
        --tail_end;
      if (!has_escapes && tail_end == tail_start) {
        fields->push_back(raw);
      } else {
        if (scratch_used_ == scratch_.size()) scratch_.emplace_back();
        std::string& s = scratch_[scratch_used_++];
        s.clear();
        for (size_t i = 0; i < raw.size(); ++i) {
          s.push_back(raw[i]);
          if (raw[i] == '"' && i + 1 < raw.size() && raw[i + 1] == '"') ++i;
        }
        s.append(base + tail_start, tail_end - tail_start);
        fields->push_back(s);
      }
    } else {
      size_t start = pos_;
      while (pos_ < size && base[pos_] != delimiter_ && base[pos_] != '\n') ++pos_;
      size_t end = pos_;
      if (end > start && base[end - 1] == '\r' && (pos_ >= size || base[pos_] == '\n')) --end;
      fields->push_back(std::string_view(base + start, end - start));
    }
    if (pos_ >= size) return true;
    if (base[pos_] == delimiter_) {
      ++pos_;
      if (pos_ >= size) {  // trailing delimiter at end of input: one more empty field
        fields->push_back(std::string_view());
        return true;
      }
      continue;
    }
    // '\n'
    ++pos_;
    ++line_;
    return true;
  }
}

}  // namespace sextant::import
