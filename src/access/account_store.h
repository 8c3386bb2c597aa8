// AccountStore: accounts with argon2id password hashes, login sessions, API tokens with scopes
// and expiry, login lockout and rate limits. Who a request is (a Principal) is decided here;
// what it may do is decided by the route table (server/route_table.h) from the Principal's
// permissions.
//
// Contracts:
// - Passwords are stored only as argon2id encoded hashes (libargon2, OWASP parameters: t=2,
//   m=19 MiB, p=1); tokens only as the SHA-256 of the token, so a copy of the state store
//   yields neither.
// - Login: a wrong name and a wrong password answer the same 401. After `max_failures`
//   consecutive failures an account is locked for `lockout_ms` (429, with the time); logins
//   from one peer address are limited to `logins_per_minute` (429). Lockout and rate counters
//   live in memory: a restart clears them.
// - A session lasts `session_ms` from login; an API token until its expires_at (at most
//   `max_token_lifetime_ms`), with scopes ⊆ its creator's permissions at creation and at use
//   (removing a role from an account takes it from its tokens too) and a per-token request
//   rate (429 when exceeded). Disabling or deleting an account ends its sessions and tokens.
//
// Layout in the state store (docs/storage-format.md): "acc/a/<name>" account JSON,
// "acc/t/<sha256 hex of token>" token JSON.
//
// Thread-safety: thread-safe. Password hashing (tens of milliseconds) runs on the caller's
// thread without holding the lock: call Login / CreateAccount / password changes off the I/O
// threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "access/permission.h"
#include "common/clock.h"
#include "common/status.h"
#include "state/kv_store.h"

namespace sextant::access {

// The authenticated caller of one request.
struct Principal {
  std::string name;                   // the account; "admin" for the server's admin token
  std::string kind;                   // "admin_token", "session" or "api_token"
  std::string token_id;               // id of the session or API token ("" for admin_token)
  std::vector<std::string> roles;
  PermissionSet permissions;
  std::vector<std::string> projects;  // member projects; "*" = every project
  std::string org_unit;               // "/hq/shanghai/team-1"; "" or "/" = the whole organisation

  bool Can(Permission permission) const { return Has(permissions, permission); }
  bool InProject(std::string_view project) const;
  // Whether the principal's data is scoped to a branch (org_unit below the root, not admin).
  bool ScopedToOrgUnit() const;
  // Whether `unit` is the principal's org unit or below it.
  bool CoversOrgUnit(std::string_view unit) const;
};

// The principal of the server's admin token: every permission, every project.
Principal BootstrapAdmin();
// {"name", "kind", "roles", "permissions", "projects", "org_unit"} — GET /api/v1/auth/me.
std::string PrincipalJson(const Principal& principal);

struct LoginResult {
  std::string token;
  int64_t expires_at_ms = 0;
  Principal principal;
};

class AccountStore {
 public:
  struct Options {
    int max_failures = 5;
    int64_t lockout_ms = 15 * 60'000;
    int64_t session_ms = 12 * 3'600'000;
    int logins_per_minute = 60;               // per peer address (an office behind one NAT)
    int default_token_rate_per_minute = 1200;
    int64_t max_token_lifetime_ms = 366LL * 86'400'000;
    size_t min_password_length = 10;
    // argon2id cost; tests may lower it, never production.
    uint32_t argon2_time_cost = 2;
    uint32_t argon2_memory_kib = 19 * 1024;
  };

  static Result<std::unique_ptr<AccountStore>> Open(state::KvStore* kv, Clock* clock,
                                                    Options options);

  // --- administration (admin permission) ---
  // Body: {"name", "password", "roles": [...], "projects": ["*"] , "org_unit"?, "display_name"?}.
  // Answers the account JSON (never the hash).
  Result<std::string> CreateAccount(std::string_view body);
  // Body: any of {"password", "roles", "projects", "org_unit", "display_name", "disabled"}.
  Result<std::string> UpdateAccount(const std::string& name, std::string_view body);
  Status DeleteAccount(const std::string& name);
  std::string ListAccounts() const;
  Result<std::string> GetAccount(const std::string& name) const;
  size_t account_count() const;
  // The organisation unit of account `name` ("" when unknown or at the root).
  std::string OrgUnitOf(const std::string& name) const;
  // Names of the accounts whose org unit `principal` covers (its unit or below), sorted.
  std::vector<std::string> AccountsCoveredBy(const Principal& principal) const;

  // --- authentication ---
  Result<LoginResult> Login(std::string_view name, std::string_view password,
                            const std::string& peer);
  // The principal of a session or API token; kUnauthorized when unknown, expired or the account
  // is disabled; kTooManyRequests over the token's rate.
  Result<Principal> Authenticate(std::string_view token);
  Status Logout(std::string_view token);
  // Body: {"old_password", "new_password"}; the account's other sessions end.
  Status ChangePassword(const Principal& principal, std::string_view body);

  // --- API tokens of the calling account ---
  // Body: {"name", "scopes": [...permission names], "expires_in_days"?, "rate_per_minute"?}.
  // Answers {"id", "token", "name", "scopes", "expires_at"}; the token is shown only here.
  Result<std::string> CreateApiToken(const Principal& principal, std::string_view body);
  std::string ListApiTokens(const Principal& principal) const;
  Status RevokeApiToken(const Principal& principal, const std::string& id);

 private:
  struct Account {
    std::string name;
    std::string display_name;
    std::string password_hash;
    std::vector<std::string> roles;
    std::vector<std::string> projects;
    std::string org_unit;
    bool disabled = false;
    int64_t created_at_ms = 0;
    // In memory only.
    int consecutive_failures = 0;
    int64_t locked_until_ms = 0;
  };
  struct Token {
    std::string hash;  // SHA-256 hex of the token: the key
    std::string id;    // first 12 hex digits of the hash
    std::string account;
    std::string kind;  // "session" or "api_token"
    std::string name;
    PermissionSet scopes;
    int64_t created_at_ms = 0;
    int64_t expires_at_ms = 0;
    int rate_per_minute = 0;
    // In memory only: the request budget (token bucket).
    double bucket = 0;
    int64_t bucket_at_ms = 0;
  };
  struct PeerWindow {
    int64_t window_start_ms = 0;
    int attempts = 0;
  };

  AccountStore(state::KvStore* kv, Clock* clock, Options options)
      : kv_(kv), clock_(clock), options_(options) {}
  Status Load();
  Result<std::string> HashPassword(std::string_view password) const;
  Status CheckPasswordPolicy(std::string_view password) const;
  static std::string AccountJson(const Account& account, bool with_hash);
  static std::string TokenJson(const Token& token);
  Status PersistAccountLocked(const Account& account);
  Status PersistTokenLocked(const Token& token);
  Status DropTokensLocked(const std::string& account, const std::string& except_hash);
  Principal PrincipalOfLocked(const Account& account, const Token& token) const;
  Result<Token*> IssueTokenLocked(const Account& account, std::string kind, std::string name,
                                  PermissionSet scopes, int64_t expires_at_ms,
                                  int rate_per_minute, std::string* token_text);

  state::KvStore* kv_;
  Clock* clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::map<std::string, Account> accounts_;      // guarded by mu_
  std::map<std::string, Token> tokens_;          // by hash; guarded by mu_
  std::map<std::string, PeerWindow> login_peers_;  // guarded by mu_
};

}  // namespace sextant::access
