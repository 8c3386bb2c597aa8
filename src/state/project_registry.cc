#include "state/project_registry.h"

#include <charconv>

namespace sextant::state {

namespace {
constexpr char kSep = '\x1f';

std::string EncodeProject(const ProjectInfo& info) {
  // id ␟ token ␟ time zone [␟ retention days] (the last field was added later; absent = 0).
  std::string encoded = std::to_string(info.id) + kSep + info.token + kSep + info.time_zone.name();
  if (info.retention_days != 0) encoded += kSep + std::to_string(info.retention_days);
  return encoded;
}

bool DecodeProject(std::string_view name, std::string_view bytes, ProjectInfo* info) {
  size_t first = bytes.find(kSep);
  if (first == std::string_view::npos) return false;
  size_t second = bytes.find(kSep, first + 1);
  if (second == std::string_view::npos) return false;
  uint32_t id = 0;
  auto [ptr, ec] = std::from_chars(bytes.data(), bytes.data() + first, id);
  if (ec != std::errc() || id == 0) return false;
  size_t third = bytes.find(kSep, second + 1);
  auto zone = TimeZone::FromName(bytes.substr(
      second + 1, third == std::string_view::npos ? std::string_view::npos : third - second - 1));
  if (!zone) return false;
  if (third != std::string_view::npos) {
    auto [end, error] = std::from_chars(bytes.data() + third + 1, bytes.data() + bytes.size(),
                                        info->retention_days);
    if (error != std::errc() || end != bytes.data() + bytes.size()) return false;
  }
  info->id = id;
  info->name = std::string(name);
  info->token = std::string(bytes.substr(first + 1, second - first - 1));
  info->time_zone = *zone;
  return true;
}
}  // namespace

bool IsValidProjectName(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

Result<std::unique_ptr<ProjectRegistry>> ProjectRegistry::Open(KvStore* kv) {
  std::unique_ptr<ProjectRegistry> registry(new ProjectRegistry(kv));
  Status bad;
  Status scan = kv->ScanPrefix("proj/", [&](std::string_view key, std::string_view value) {
    ProjectInfo info;
    if (!DecodeProject(key.substr(5), value, &info)) {
      bad = Status(ErrorCode::kCorruption, "bad project record " + std::string(key));
      return false;
    }
    registry->next_id_ = std::max(registry->next_id_, info.id + 1);
    std::string project_name = info.name;
    registry->by_name_[project_name] = std::make_shared<const ProjectInfo>(std::move(info));
    return true;
  });
  SEXTANT_RETURN_IF_ERROR(scan);
  SEXTANT_RETURN_IF_ERROR(bad);
  if (!registry->Find("default")) {
    auto created = registry->Create("default", "", "Asia/Shanghai");
    if (!created.ok()) return created.status();
  }
  return registry;
}

Result<std::shared_ptr<const ProjectInfo>> ProjectRegistry::Create(const std::string& name,
                                                                   const std::string& token,
                                                                   const std::string& time_zone) {
  if (!IsValidProjectName(name))
    return Status(ErrorCode::kInvalidName,
                  "project name must match [A-Za-z_][A-Za-z0-9_]{0,99}", "name");
  auto zone = TimeZone::FromName(time_zone.empty() ? "Asia/Shanghai" : time_zone);
  if (!zone) return Status(ErrorCode::kBadRequest, UnknownTimeZoneMessage(time_zone), "time_zone");
  std::unique_lock lock(mu_);
  if (by_name_.count(name)) return Status(ErrorCode::kConflict, "project exists: " + name, "name");
  auto info = std::make_shared<ProjectInfo>();
  info->id = next_id_;
  info->name = name;
  info->token = token;
  info->time_zone = *zone;
  SEXTANT_RETURN_IF_ERROR(Store(*info));
  ++next_id_;
  by_name_[name] = info;
  return std::shared_ptr<const ProjectInfo>(info);
}

Result<std::shared_ptr<const ProjectInfo>> ProjectRegistry::SetRetentionDays(
    const std::string& name, int days) {
  if (days < -1 || days > 36'500) {
    return Status(ErrorCode::kBadRequest,
                  "retention_days must be -1 (keep forever), 0 (server default) or 1..36500",
                  "retention_days");
  }
  std::unique_lock lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return Status(ErrorCode::kNotFound, "unknown project " + name);
  auto updated = std::make_shared<ProjectInfo>(*it->second);
  updated->retention_days = days;
  SEXTANT_RETURN_IF_ERROR(Store(*updated));
  it->second = updated;
  return std::shared_ptr<const ProjectInfo>(updated);
}

Status ProjectRegistry::Store(const ProjectInfo& info) {
  return kv_->Put("proj/" + info.name, EncodeProject(info));
}

std::shared_ptr<const ProjectInfo> ProjectRegistry::Find(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const ProjectInfo>> ProjectRegistry::List() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const ProjectInfo>> out;
  for (const auto& [name, info] : by_name_) out.push_back(info);
  return out;
}

}  // namespace sextant::state
