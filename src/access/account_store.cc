#include "access/account_store.h"

#include <argon2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include <simdjson.h>

#include "common/json_writer.h"

namespace sextant::access {

namespace {

// `lhs = value of expr`, or return its error. (Local: common/status.h has no such macro yet.)
#define ACCESS_CONCAT_INNER(a, b) a##b
#define ACCESS_CONCAT(a, b) ACCESS_CONCAT_INNER(a, b)
#define ACCESS_ASSIGN_OR_RETURN(lhs, expr)                          \
  auto ACCESS_CONCAT(result_, __LINE__) = (expr);                   \
  if (!ACCESS_CONCAT(result_, __LINE__).ok())                       \
    return ACCESS_CONCAT(result_, __LINE__).status();               \
  lhs = std::move(ACCESS_CONCAT(result_, __LINE__)).value()

template <typename T>
T ValueOr(Result<T> result, T fallback) {
  return result.ok() ? std::move(result).value() : std::move(fallback);
}

constexpr std::string_view kAccountPrefix = "acc/a/";
constexpr std::string_view kTokenPrefix = "acc/t/";
constexpr size_t kMaxNameLength = 64;

std::string Hex(const unsigned char* bytes, size_t length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (size_t index = 0; index < length; ++index) {
    out += kDigits[bytes[index] >> 4];
    out += kDigits[bytes[index] & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return Hex(digest, length);
}

Result<std::string> RandomHex(size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1)
    return Status(ErrorCode::kInternal, "no random bytes from OpenSSL");
  return Hex(buffer.data(), bytes);
}

// Account names: 1–64 of [A-Za-z0-9._@-], so they are safe in keys, URLs and the ledger.
bool ValidAccountName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == '@';
  });
}

Status FieldError(const std::string& field, const std::string& why) {
  return Status(ErrorCode::kBadRequest, field + ": " + why, field);
}

Result<std::vector<std::string>> StringList(simdjson::dom::element element,
                                            const std::string& field) {
  simdjson::dom::array array;
  if (element.get_array().get(array) != simdjson::SUCCESS)
    return FieldError(field, "must be a list of strings");
  std::vector<std::string> out;
  for (simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS)
      return FieldError(field, "must be a list of strings");
    out.emplace_back(text);
  }
  return out;
}

Result<std::string> StringField(simdjson::dom::object object, std::string_view key,
                                bool required) {
  simdjson::dom::element element;
  if (object[key].get(element) != simdjson::SUCCESS) {
    if (required) return FieldError(std::string(key), "is required");
    return std::string();
  }
  std::string_view text;
  if (element.get_string().get(text) != simdjson::SUCCESS)
    return FieldError(std::string(key), "must be a string");
  return std::string(text);
}

Status CheckRoles(const std::vector<std::string>& roles) {
  if (roles.empty()) return FieldError("roles", "give at least one role");
  for (const std::string& role : roles) {
    if (!RolePermissions(role)) {
      std::string known;
      for (const std::string& name : RoleNames()) known += (known.empty() ? "" : ", ") + name;
      return FieldError("roles", "unknown role \"" + role + "\" (roles: " + known + ")");
    }
  }
  return Status::Ok();
}

Status CheckOrgUnit(const std::string& unit) {
  if (unit.empty()) return Status::Ok();
  if (unit[0] != '/' || unit.find("//") != std::string::npos || unit.size() > 256)
    return FieldError("org_unit", "must be a path like /hq/shanghai/team-1");
  return Status::Ok();
}

PermissionSet PermissionsOfRoles(const std::vector<std::string>& roles) {
  PermissionSet set;
  for (const std::string& role : roles) {
    if (auto permissions = RolePermissions(role)) set |= *permissions;
  }
  return set;
}

void WriteList(JsonWriter& writer, const std::vector<std::string>& list) {
  writer.BeginArray();
  for (const std::string& item : list) writer.String(item);
  writer.EndArray();
}

}  // namespace

bool Principal::InProject(std::string_view project) const {
  return std::any_of(projects.begin(), projects.end(),
                     [&](const std::string& name) { return name == "*" || name == project; });
}

bool Principal::ScopedToOrgUnit() const {
  return !org_unit.empty() && org_unit != "/" && !Can(Permission::kAdmin);
}

bool Principal::CoversOrgUnit(std::string_view unit) const {
  if (!ScopedToOrgUnit()) return true;
  return unit == org_unit ||
         (unit.size() > org_unit.size() && unit.substr(0, org_unit.size()) == org_unit &&
          unit[org_unit.size()] == '/');
}

Principal BootstrapAdmin() {
  Principal principal;
  principal.name = "admin";
  principal.kind = "admin_token";
  principal.roles = {"admin"};
  principal.permissions = AllPermissions();
  principal.projects = {"*"};
  return principal;
}

std::string PrincipalJson(const Principal& principal) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("name").String(principal.name);
  writer.Key("kind").String(principal.kind);
  writer.Key("roles");
  WriteList(writer, principal.roles);
  writer.Key("permissions");
  WriteList(writer, PermissionNames(principal.permissions));
  writer.Key("projects");
  WriteList(writer, principal.projects);
  writer.Key("org_unit").String(principal.org_unit.empty() ? "/" : principal.org_unit);
  writer.EndObject();
  return writer.Take();
}

Result<std::unique_ptr<AccountStore>> AccountStore::Open(state::KvStore* kv, Clock* clock,
                                                         Options options) {
  std::unique_ptr<AccountStore> store(new AccountStore(kv, clock, options));
  SEXTANT_RETURN_IF_ERROR(store->Load());
  return store;
}

Status AccountStore::Load() {
  simdjson::dom::parser parser;
  Status failure = Status::Ok();
  Status scanned = kv_->ScanPrefix(kAccountPrefix, [&](std::string_view key, std::string_view value) {
    simdjson::dom::object object;
    if (parser.parse(value.data(), value.size()).get_object().get(object) != simdjson::SUCCESS) {
      failure = Status(ErrorCode::kCorruption, "unreadable account " + std::string(key));
      return false;
    }
    Account account;
    account.name = std::string(key.substr(kAccountPrefix.size()));
    account.display_name = ValueOr(StringField(object, "display_name", false), std::string());
    account.password_hash = ValueOr(StringField(object, "password_hash", false), std::string());
    account.org_unit = ValueOr(StringField(object, "org_unit", false), std::string());
    simdjson::dom::element element;
    if (object["roles"].get(element) == simdjson::SUCCESS)
      account.roles = ValueOr(StringList(element, "roles"), std::vector<std::string>());
    if (object["projects"].get(element) == simdjson::SUCCESS)
      account.projects = ValueOr(StringList(element, "projects"), std::vector<std::string>());
    bool disabled = false;
    if (object["disabled"].get(disabled) == simdjson::SUCCESS) account.disabled = disabled;
    int64_t created = 0;
    if (object["created_at"].get(created) == simdjson::SUCCESS) account.created_at_ms = created;
    accounts_[account.name] = std::move(account);
    return true;
  });
  SEXTANT_RETURN_IF_ERROR(scanned);
  SEXTANT_RETURN_IF_ERROR(failure);
  scanned = kv_->ScanPrefix(kTokenPrefix, [&](std::string_view key, std::string_view value) {
    simdjson::dom::object object;
    if (parser.parse(value.data(), value.size()).get_object().get(object) != simdjson::SUCCESS) {
      failure = Status(ErrorCode::kCorruption, "unreadable token " + std::string(key));
      return false;
    }
    Token token;
    token.hash = std::string(key.substr(kTokenPrefix.size()));
    token.id = token.hash.substr(0, 12);
    token.account = ValueOr(StringField(object, "account", false), std::string());
    token.kind = ValueOr(StringField(object, "kind", false), std::string());
    token.name = ValueOr(StringField(object, "name", false), std::string());
    simdjson::dom::element element;
    if (object["scopes"].get(element) == simdjson::SUCCESS) {
      for (const std::string& scope :
           ValueOr(StringList(element, "scopes"), std::vector<std::string>())) {
        if (auto permission = ParsePermission(scope)) token.scopes.set(static_cast<size_t>(*permission));
      }
    }
    int64_t number = 0;
    if (object["created_at"].get(number) == simdjson::SUCCESS) token.created_at_ms = number;
    if (object["expires_at"].get(number) == simdjson::SUCCESS) token.expires_at_ms = number;
    if (object["rate_per_minute"].get(number) == simdjson::SUCCESS)
      token.rate_per_minute = static_cast<int>(number);
    token.bucket = token.rate_per_minute;
    tokens_[token.hash] = std::move(token);
    return true;
  });
  SEXTANT_RETURN_IF_ERROR(scanned);
  return failure;
}

Status AccountStore::CheckPasswordPolicy(std::string_view password) const {
  if (password.size() < options_.min_password_length) {
    return FieldError("password", "must be at least " +
                                      std::to_string(options_.min_password_length) + " characters");
  }
  if (password.size() > 1024) return FieldError("password", "must be at most 1024 characters");
  return Status::Ok();
}

Result<std::string> AccountStore::HashPassword(std::string_view password) const {
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof salt) != 1)
    return Status(ErrorCode::kInternal, "no random bytes from OpenSSL");
  constexpr uint32_t kHashLength = 32;
  std::string encoded(argon2_encodedlen(options_.argon2_time_cost, options_.argon2_memory_kib, 1,
                                        sizeof salt, kHashLength, Argon2_id),
                      '\0');
  int result = argon2id_hash_encoded(options_.argon2_time_cost, options_.argon2_memory_kib, 1,
                                     password.data(), password.size(), salt, sizeof salt,
                                     kHashLength, encoded.data(), encoded.size());
  if (result != ARGON2_OK)
    return Status(ErrorCode::kInternal, std::string("argon2: ") + argon2_error_message(result));
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

std::string AccountStore::AccountJson(const Account& account, bool with_hash) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("name").String(account.name);
  writer.Key("display_name").String(account.display_name);
  if (with_hash) writer.Key("password_hash").String(account.password_hash);
  writer.Key("roles");
  WriteList(writer, account.roles);
  writer.Key("projects");
  WriteList(writer, account.projects);
  writer.Key("org_unit").String(account.org_unit);
  writer.Key("disabled").Bool(account.disabled);
  writer.Key("created_at").Int(account.created_at_ms);
  if (!with_hash) {
    writer.Key("permissions");
    WriteList(writer, PermissionNames(PermissionsOfRoles(account.roles)));
    writer.Key("locked_until").Int(account.locked_until_ms);
  }
  writer.EndObject();
  return writer.Take();
}

std::string AccountStore::TokenJson(const Token& token) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("account").String(token.account);
  writer.Key("kind").String(token.kind);
  writer.Key("name").String(token.name);
  writer.Key("scopes");
  WriteList(writer, PermissionNames(token.scopes));
  writer.Key("created_at").Int(token.created_at_ms);
  writer.Key("expires_at").Int(token.expires_at_ms);
  writer.Key("rate_per_minute").Int(token.rate_per_minute);
  writer.EndObject();
  return writer.Take();
}

Status AccountStore::PersistAccountLocked(const Account& account) {
  SEXTANT_RETURN_IF_ERROR(
      kv_->Put(std::string(kAccountPrefix) + account.name, AccountJson(account, true)));
  return kv_->SyncWal();
}

Status AccountStore::PersistTokenLocked(const Token& token) {
  SEXTANT_RETURN_IF_ERROR(kv_->Put(std::string(kTokenPrefix) + token.hash, TokenJson(token)));
  return kv_->SyncWal();
}

Status AccountStore::DropTokensLocked(const std::string& account, const std::string& except_hash) {
  state::KvStore::Batch batch;
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    if (it->second.account == account && it->first != except_hash) {
      batch.Delete(std::string(kTokenPrefix) + it->first);
      it = tokens_.erase(it);
    } else {
      ++it;
    }
  }
  if (batch.empty()) return Status::Ok();
  SEXTANT_RETURN_IF_ERROR(kv_->Write(&batch));
  return kv_->SyncWal();
}

Result<std::string> AccountStore::CreateAccount(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get_object().get(object) != simdjson::SUCCESS)
    return Status(ErrorCode::kBadRequest, "body must be a JSON object");
  Account account;
  ACCESS_ASSIGN_OR_RETURN(account.name, StringField(object, "name", true));
  if (!ValidAccountName(account.name))
    return FieldError("name", "1–64 characters of letters, digits and . _ - @");
  ACCESS_ASSIGN_OR_RETURN(std::string password, StringField(object, "password", true));
  SEXTANT_RETURN_IF_ERROR(CheckPasswordPolicy(password));
  ACCESS_ASSIGN_OR_RETURN(account.display_name, StringField(object, "display_name", false));
  ACCESS_ASSIGN_OR_RETURN(account.org_unit, StringField(object, "org_unit", false));
  SEXTANT_RETURN_IF_ERROR(CheckOrgUnit(account.org_unit));
  simdjson::dom::element element;
  if (object["roles"].get(element) != simdjson::SUCCESS) return FieldError("roles", "is required");
  ACCESS_ASSIGN_OR_RETURN(account.roles, StringList(element, "roles"));
  SEXTANT_RETURN_IF_ERROR(CheckRoles(account.roles));
  account.projects = {"*"};
  if (object["projects"].get(element) == simdjson::SUCCESS) {
    ACCESS_ASSIGN_OR_RETURN(account.projects, StringList(element, "projects"));
  }
  ACCESS_ASSIGN_OR_RETURN(account.password_hash, HashPassword(password));
  account.created_at_ms = clock_->NowMs();
  std::lock_guard lock(mu_);
  if (account.name == "admin" || accounts_.count(account.name))
    return Status(ErrorCode::kConflict, "account " + account.name + " already exists", "name");
  SEXTANT_RETURN_IF_ERROR(PersistAccountLocked(account));
  auto& stored = accounts_[account.name] = std::move(account);
  return AccountJson(stored, false);
}

Result<std::string> AccountStore::UpdateAccount(const std::string& name, std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get_object().get(object) != simdjson::SUCCESS)
    return Status(ErrorCode::kBadRequest, "body must be a JSON object");
  std::string new_hash;
  simdjson::dom::element element;
  if (object["password"].get(element) == simdjson::SUCCESS) {
    ACCESS_ASSIGN_OR_RETURN(std::string password, StringField(object, "password", true));
    SEXTANT_RETURN_IF_ERROR(CheckPasswordPolicy(password));
    ACCESS_ASSIGN_OR_RETURN(new_hash, HashPassword(password));
  }
  std::lock_guard lock(mu_);
  auto found = accounts_.find(name);
  if (found == accounts_.end()) return Status(ErrorCode::kNotFound, "no account " + name);
  Account updated = found->second;
  if (!new_hash.empty()) updated.password_hash = new_hash;
  if (object["roles"].get(element) == simdjson::SUCCESS) {
    ACCESS_ASSIGN_OR_RETURN(updated.roles, StringList(element, "roles"));
    SEXTANT_RETURN_IF_ERROR(CheckRoles(updated.roles));
  }
  if (object["projects"].get(element) == simdjson::SUCCESS) {
    ACCESS_ASSIGN_OR_RETURN(updated.projects, StringList(element, "projects"));
  }
  if (object["org_unit"].get(element) == simdjson::SUCCESS) {
    ACCESS_ASSIGN_OR_RETURN(updated.org_unit, StringField(object, "org_unit", true));
    SEXTANT_RETURN_IF_ERROR(CheckOrgUnit(updated.org_unit));
  }
  if (object["display_name"].get(element) == simdjson::SUCCESS) {
    ACCESS_ASSIGN_OR_RETURN(updated.display_name, StringField(object, "display_name", true));
  }
  bool disabled = false;
  if (object["disabled"].get(element) == simdjson::SUCCESS) {
    if (element.get(disabled) != simdjson::SUCCESS) return FieldError("disabled", "must be a boolean");
    updated.disabled = disabled;
    if (!disabled) {
      updated.consecutive_failures = 0;  // an admin re-enabling an account also unlocks it
      updated.locked_until_ms = 0;
    }
  }
  SEXTANT_RETURN_IF_ERROR(PersistAccountLocked(updated));
  found->second = std::move(updated);
  // A new password or a disabled account ends every session and token of the account.
  if (!new_hash.empty() || found->second.disabled)
    SEXTANT_RETURN_IF_ERROR(DropTokensLocked(name, ""));
  return AccountJson(found->second, false);
}

Status AccountStore::DeleteAccount(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!accounts_.erase(name)) return Status(ErrorCode::kNotFound, "no account " + name);
  SEXTANT_RETURN_IF_ERROR(kv_->Delete(std::string(kAccountPrefix) + name));
  SEXTANT_RETURN_IF_ERROR(DropTokensLocked(name, ""));
  return kv_->SyncWal();
}

std::string AccountStore::ListAccounts() const {
  std::lock_guard lock(mu_);
  std::string out = "{\"accounts\":[";
  bool first = true;
  for (const auto& [name, account] : accounts_) {
    out += (first ? "" : ",") + AccountJson(account, false);
    first = false;
  }
  out += "],\"roles\":[";
  first = true;
  for (const std::string& role : RoleNames()) {
    JsonWriter writer;
    writer.BeginObject().Key("name").String(role).Key("permissions");
    WriteList(writer, PermissionNames(*RolePermissions(role)));
    writer.EndObject();
    out += (first ? "" : ",") + writer.Take();
    first = false;
  }
  return out + "]}";
}

Result<std::string> AccountStore::GetAccount(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto found = accounts_.find(name);
  if (found == accounts_.end()) return Status(ErrorCode::kNotFound, "no account " + name);
  return AccountJson(found->second, false);
}

std::string AccountStore::OrgUnitOf(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto found = accounts_.find(name);
  return found == accounts_.end() ? std::string() : found->second.org_unit;
}

std::vector<std::string> AccountStore::AccountsCoveredBy(const Principal& principal) const {
  std::vector<std::string> names;
  std::lock_guard lock(mu_);
  for (const auto& [name, account] : accounts_) {
    if (!account.org_unit.empty() && principal.CoversOrgUnit(account.org_unit)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

size_t AccountStore::account_count() const {
  std::lock_guard lock(mu_);
  return accounts_.size();
}

Principal AccountStore::PrincipalOfLocked(const Account& account, const Token& token) const {
  Principal principal;
  principal.name = account.name;
  principal.kind = token.kind;
  principal.token_id = token.id;
  principal.roles = account.roles;
  principal.permissions = PermissionsOfRoles(account.roles);
  if (token.kind == "api_token") principal.permissions &= token.scopes;
  principal.projects = account.projects;
  principal.org_unit = account.org_unit;
  return principal;
}

Result<AccountStore::Token*> AccountStore::IssueTokenLocked(const Account& account,
                                                           std::string kind, std::string name,
                                                           PermissionSet scopes,
                                                           int64_t expires_at_ms,
                                                           int rate_per_minute,
                                                           std::string* token_text) {
  ACCESS_ASSIGN_OR_RETURN(std::string secret, RandomHex(32));
  *token_text = (kind == "session" ? "sxs_" : "sxt_") + secret;
  Token token;
  token.hash = Sha256Hex(*token_text);
  token.id = token.hash.substr(0, 12);
  token.account = account.name;
  token.kind = std::move(kind);
  token.name = std::move(name);
  token.scopes = scopes;
  token.created_at_ms = clock_->NowMs();
  token.expires_at_ms = expires_at_ms;
  token.rate_per_minute = rate_per_minute;
  token.bucket = rate_per_minute;
  token.bucket_at_ms = token.created_at_ms;
  SEXTANT_RETURN_IF_ERROR(PersistTokenLocked(token));
  Token& stored = tokens_[token.hash] = std::move(token);
  return &stored;
}

Result<LoginResult> AccountStore::Login(std::string_view name, std::string_view password,
                                        const std::string& peer) {
  const int64_t now = clock_->NowMs();
  std::string hash;
  {
    std::lock_guard lock(mu_);
    PeerWindow& window = login_peers_[peer];
    if (now - window.window_start_ms >= 60'000) window = PeerWindow{now, 0};
    if (++window.attempts > options_.logins_per_minute) {
      return Status(ErrorCode::kTooManyRequests,
                    "too many login attempts from this address; retry in " +
                        std::to_string((window.window_start_ms + 60'000 - now + 999) / 1000) +
                        " s");
    }
    if (login_peers_.size() > 100'000) login_peers_.clear();  // bound memory under a spray
    auto found = accounts_.find(std::string(name));
    if (found != accounts_.end()) {
      if (found->second.locked_until_ms > now) {
        return Status(ErrorCode::kTooManyRequests,
                      "account locked after " + std::to_string(options_.max_failures) +
                          " failed logins; retry in " +
                          std::to_string((found->second.locked_until_ms - now + 59'999) / 60'000) +
                          " min, or ask an admin to unlock it");
      }
      hash = found->second.password_hash;
    }
  }
  // Unknown names verify against a fixed hash too, so timing does not reveal which exist.
  static const std::string kDummyHash =
      "$argon2id$v=19$m=19456,t=2,p=1$c2V4dGFudHNhbHQxMjM0$"
      "V4rKf2hq2b2b0w2Ck6t3l2zq1kq0m3v1Y5X0m2Z8a1o";
  const bool verified =
      argon2id_verify((hash.empty() ? kDummyHash : hash).c_str(), password.data(),
                      password.size()) == ARGON2_OK &&
      !hash.empty();
  std::lock_guard lock(mu_);
  auto found = accounts_.find(std::string(name));
  const Status wrong(ErrorCode::kUnauthorized, "wrong account name or password");
  if (found == accounts_.end()) return wrong;
  Account& account = found->second;
  if (!verified) {
    if (++account.consecutive_failures >= options_.max_failures) {
      account.locked_until_ms = now + options_.lockout_ms;
      account.consecutive_failures = 0;
    }
    return wrong;
  }
  if (account.disabled) return Status(ErrorCode::kForbidden, "account " + account.name + " is disabled");
  account.consecutive_failures = 0;
  LoginResult result;
  ACCESS_ASSIGN_OR_RETURN(
      Token * token, IssueTokenLocked(account, "session", "login", PermissionsOfRoles(account.roles),
                                      now + options_.session_ms, 0, &result.token));
  result.expires_at_ms = token->expires_at_ms;
  result.principal = PrincipalOfLocked(account, *token);
  return result;
}

Result<Principal> AccountStore::Authenticate(std::string_view token_text) {
  const Status unknown(ErrorCode::kUnauthorized,
                       "unknown, expired or revoked token (sign in again, or create a new API token)");
  if (token_text.size() != 68) return unknown;
  const std::string hash = Sha256Hex(token_text);
  const int64_t now = clock_->NowMs();
  std::lock_guard lock(mu_);
  auto found = tokens_.find(hash);
  if (found == tokens_.end()) return unknown;
  Token& token = found->second;
  if (token.expires_at_ms <= now) return unknown;
  auto account = accounts_.find(token.account);
  if (account == accounts_.end() || account->second.disabled) return unknown;
  if (token.rate_per_minute > 0) {
    token.bucket = std::min<double>(
        token.rate_per_minute,
        token.bucket + (now - token.bucket_at_ms) * token.rate_per_minute / 60'000.0);
    token.bucket_at_ms = now;
    if (token.bucket < 1) {
      return Status(ErrorCode::kTooManyRequests,
                    "API token " + token.id + " is over its rate of " +
                        std::to_string(token.rate_per_minute) + " requests per minute");
    }
    token.bucket -= 1;
  }
  return PrincipalOfLocked(account->second, token);
}

Status AccountStore::Logout(std::string_view token_text) {
  const std::string hash = Sha256Hex(token_text);
  std::lock_guard lock(mu_);
  auto found = tokens_.find(hash);
  if (found == tokens_.end()) return Status::Ok();
  tokens_.erase(found);
  SEXTANT_RETURN_IF_ERROR(kv_->Delete(std::string(kTokenPrefix) + hash));
  return kv_->SyncWal();
}

Status AccountStore::ChangePassword(const Principal& principal, std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get_object().get(object) != simdjson::SUCCESS)
    return Status(ErrorCode::kBadRequest, "body must be a JSON object");
  ACCESS_ASSIGN_OR_RETURN(std::string old_password, StringField(object, "old_password", true));
  ACCESS_ASSIGN_OR_RETURN(std::string new_password, StringField(object, "new_password", true));
  SEXTANT_RETURN_IF_ERROR(CheckPasswordPolicy(new_password));
  std::string hash;
  {
    std::lock_guard lock(mu_);
    auto found = accounts_.find(principal.name);
    if (found == accounts_.end())
      return Status(ErrorCode::kForbidden, "only accounts have passwords (this is the admin token)");
    hash = found->second.password_hash;
  }
  if (argon2id_verify(hash.c_str(), old_password.data(), old_password.size()) != ARGON2_OK)
    return Status(ErrorCode::kForbidden, "old_password is wrong", "old_password");
  ACCESS_ASSIGN_OR_RETURN(std::string new_hash, HashPassword(new_password));
  std::lock_guard lock(mu_);
  auto found = accounts_.find(principal.name);
  if (found == accounts_.end()) return Status(ErrorCode::kNotFound, "no account " + principal.name);
  Account updated = found->second;
  updated.password_hash = new_hash;
  SEXTANT_RETURN_IF_ERROR(PersistAccountLocked(updated));
  found->second = std::move(updated);
  // Other sessions and tokens end; the one making the change stays signed in.
  for (const auto& [token_hash, token] : tokens_) {
    if (token.id == principal.token_id) return DropTokensLocked(principal.name, token_hash);
  }
  return DropTokensLocked(principal.name, "");
}

Result<std::string> AccountStore::CreateApiToken(const Principal& principal,
                                                 std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get_object().get(object) != simdjson::SUCCESS)
    return Status(ErrorCode::kBadRequest, "body must be a JSON object");
  ACCESS_ASSIGN_OR_RETURN(std::string name, StringField(object, "name", true));
  if (name.empty() || name.size() > 100) return FieldError("name", "1–100 characters");
  simdjson::dom::element element;
  if (object["scopes"].get(element) != simdjson::SUCCESS)
    return FieldError("scopes", "is required: the permissions the token may use");
  ACCESS_ASSIGN_OR_RETURN(std::vector<std::string> scope_names, StringList(element, "scopes"));
  PermissionSet scopes;
  for (const std::string& scope : scope_names) {
    auto permission = ParsePermission(scope);
    if (!permission) return FieldError("scopes", "unknown permission \"" + scope + "\"");
    if (!principal.Can(*permission))
      return Status(ErrorCode::kForbidden,
                    "scopes: \"" + scope + "\" is not a permission of " + principal.name, "scopes");
    scopes.set(static_cast<size_t>(*permission));
  }
  if (scopes.none()) return FieldError("scopes", "give at least one permission");
  int64_t days = 90;
  if (object["expires_in_days"].get(element) == simdjson::SUCCESS &&
      (element.get(days) != simdjson::SUCCESS || days < 1 ||
       days * 86'400'000 > options_.max_token_lifetime_ms)) {
    return FieldError("expires_in_days",
                      "must be a whole number of days from 1 to " +
                          std::to_string(options_.max_token_lifetime_ms / 86'400'000));
  }
  int64_t rate = options_.default_token_rate_per_minute;
  if (object["rate_per_minute"].get(element) == simdjson::SUCCESS &&
      (element.get(rate) != simdjson::SUCCESS || rate < 1 || rate > 1'000'000)) {
    return FieldError("rate_per_minute", "must be a whole number from 1 to 1000000");
  }
  std::lock_guard lock(mu_);
  auto account = accounts_.find(principal.name);
  if (account == accounts_.end())
    return Status(ErrorCode::kForbidden,
                  "API tokens belong to accounts; create an account and sign in with it");
  std::string text;
  ACCESS_ASSIGN_OR_RETURN(
      Token * token, IssueTokenLocked(account->second, "api_token", name, scopes,
                                      clock_->NowMs() + days * 86'400'000, static_cast<int>(rate),
                                      &text));
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("id").String(token->id);
  writer.Key("token").String(text);
  writer.Key("name").String(token->name);
  writer.Key("scopes");
  WriteList(writer, PermissionNames(token->scopes));
  writer.Key("expires_at").Int(token->expires_at_ms);
  writer.Key("rate_per_minute").Int(token->rate_per_minute);
  writer.EndObject();
  return writer.Take();
}

std::string AccountStore::ListApiTokens(const Principal& principal) const {
  std::lock_guard lock(mu_);
  JsonWriter writer;
  writer.BeginObject().Key("tokens").BeginArray();
  for (const auto& [hash, token] : tokens_) {
    if (token.account != principal.name || token.kind != "api_token") continue;
    writer.BeginObject();
    writer.Key("id").String(token.id);
    writer.Key("name").String(token.name);
    writer.Key("scopes");
    WriteList(writer, PermissionNames(token.scopes));
    writer.Key("created_at").Int(token.created_at_ms);
    writer.Key("expires_at").Int(token.expires_at_ms);
    writer.Key("rate_per_minute").Int(token.rate_per_minute);
    writer.EndObject();
  }
  writer.EndArray().EndObject();
  return writer.Take();
}

Status AccountStore::RevokeApiToken(const Principal& principal, const std::string& id) {
  std::lock_guard lock(mu_);
  for (auto it = tokens_.begin(); it != tokens_.end(); ++it) {
    if (it->second.id != id || it->second.kind != "api_token") continue;
    if (it->second.account != principal.name && !principal.Can(Permission::kAdmin)) break;
    const std::string key = std::string(kTokenPrefix) + it->first;
    tokens_.erase(it);
    SEXTANT_RETURN_IF_ERROR(kv_->Delete(key));
    return kv_->SyncWal();
  }
  return Status(ErrorCode::kNotFound, "no API token " + id);
}

}  // namespace sextant::access
