// Small POSIX file helpers for the store (errors as Status, never exceptions).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sextant::store {

Status MakeDirs(const std::string& dir);
Status ReadFile(const std::string& path, std::string* out);
// write(2) until all of `data` is written.
Status WriteAll(int fd, std::string_view data);
Status PReadExact(int fd, uint64_t offset, size_t len, char* out);
Status TruncateFile(const std::string& path, uint64_t size);
Status SyncDir(const std::string& dir);
// Creates `path` with `data`, fdatasyncs it, then fsyncs its directory.
Status WriteFileDurably(const std::string& path, std::string_view data);
// Atomic replace: write path.tmp, fsync, rename over path, fsync the directory.
Status ReplaceFileAtomically(const std::string& path, std::string_view data);
std::string DirName(const std::string& path);

}  // namespace sextant::store
