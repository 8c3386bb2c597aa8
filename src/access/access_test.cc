// AccountStore and the role table: passwords, sessions, API token scopes and expiry, lockout,
// rate limits, and what survives a reopen. Uses a simulated clock and a cheap argon2 cost.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "access/account_store.h"
#include "access/audit_trail.h"
#include "access/permission.h"
#include "access/pii_masking.h"

namespace sextant::access {
namespace {

class AccountStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sextant_access_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    kv_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    kv_.reset();
    kv_ = std::move(state::KvStore::Open(dir_.string()).value());
    AccountStore::Options options;
    options.argon2_memory_kib = 64;  // fast tests; the format and verification are the same
    options.argon2_time_cost = 1;
    options.logins_per_minute = 100;
    store_ = std::move(AccountStore::Open(kv_.get(), &clock_, options).value());
  }
  void CreateAlice(const std::string& roles = R"(["operator"])") {
    auto created = store_->CreateAccount(
        R"({"name":"alice","password":"correct horse battery","roles":)" + roles +
        R"(,"projects":["default"]})");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  std::filesystem::path dir_;
  SimulatedClock clock_{1'700'000'000'000};
  std::unique_ptr<state::KvStore> kv_;
  std::unique_ptr<AccountStore> store_;
};

TEST(PermissionTest, RolesGrantWhatTheTableSays) {
  auto operator_role = RolePermissions("operator");
  ASSERT_TRUE(operator_role);
  EXPECT_TRUE(Has(*operator_role, Permission::kJourneyWrite));
  EXPECT_FALSE(Has(*operator_role, Permission::kJourneyApprove));
  EXPECT_FALSE(Has(*operator_role, Permission::kAuditRead));
  EXPECT_FALSE(Has(*operator_role, Permission::kPiiRead));
  auto analyst = RolePermissions("analyst");
  EXPECT_TRUE(Has(*analyst, Permission::kAnalysisRead));
  EXPECT_FALSE(Has(*analyst, Permission::kAnalysisWrite));
  auto advisor = RolePermissions("advisor");
  EXPECT_EQ(PermissionNames(*advisor),
            (std::vector<std::string>{"pii.read", "task.read", "task.work"}));
  EXPECT_EQ(*RolePermissions("admin"), AllPermissions());
  EXPECT_FALSE(RolePermissions("root"));
  for (size_t index = 0; index < static_cast<size_t>(Permission::kCount); ++index) {
    auto permission = static_cast<Permission>(index);
    EXPECT_EQ(ParsePermission(PermissionName(permission)), permission);
  }
}

TEST_F(AccountStoreTest, LoginIssuesASessionWithTheRolesPermissions) {
  CreateAlice();
  auto login = store_->Login("alice", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_EQ(login->token.substr(0, 4), "sxs_");
  auto principal = store_->Authenticate(login->token);
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal->name, "alice");
  EXPECT_EQ(principal->kind, "session");
  EXPECT_TRUE(principal->Can(Permission::kJourneyWrite));
  EXPECT_FALSE(principal->Can(Permission::kAdmin));
  EXPECT_TRUE(principal->InProject("default"));
  EXPECT_FALSE(principal->InProject("other"));
  // The session ends at its expiry and at logout.
  clock_.AdvanceMs(12 * 3'600'000 + 1);
  EXPECT_EQ(store_->Authenticate(login->token).status().code(), ErrorCode::kUnauthorized);
  auto second = store_->Login("alice", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(store_->Logout(second->token).ok());
  EXPECT_EQ(store_->Authenticate(second->token).status().code(), ErrorCode::kUnauthorized);
}

TEST_F(AccountStoreTest, WrongPasswordAndUnknownNameAnswerAlikeAndLockOut) {
  CreateAlice();
  auto unknown = store_->Login("mallory", "whatever12345", "10.0.0.2");
  auto wrong = store_->Login("alice", "wrong password!", "10.0.0.2");
  EXPECT_EQ(unknown.status().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(wrong.status().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(unknown.status().message(), wrong.status().message());
  for (int attempt = 0; attempt < 4; ++attempt) (void)store_->Login("alice", "nope nope nope", "10.0.0.2");
  // Five failures: locked, even with the right password.
  auto locked = store_->Login("alice", "correct horse battery", "10.0.0.2");
  EXPECT_EQ(locked.status().code(), ErrorCode::kTooManyRequests);
  EXPECT_NE(locked.status().message().find("retry in 15 min"), std::string::npos)
      << locked.status().message();
  clock_.AdvanceMs(15 * 60'000);
  EXPECT_TRUE(store_->Login("alice", "correct horse battery", "10.0.0.2").ok());
}

TEST_F(AccountStoreTest, LoginsPerPeerAreRateLimited) {
  CreateAlice();
  int limited = 0;
  for (int attempt = 0; attempt < 101; ++attempt) {
    auto login = store_->Login("nobody", "x", "10.9.9.9");
    limited += login.status().code() == ErrorCode::kTooManyRequests;
  }
  EXPECT_EQ(limited, 1);
  EXPECT_TRUE(store_->Login("alice", "correct horse battery", "10.9.9.8").ok());
  clock_.AdvanceMs(60'000);
  EXPECT_EQ(store_->Login("nobody", "x", "10.9.9.9").status().code(), ErrorCode::kUnauthorized);
}

TEST_F(AccountStoreTest, ApiTokensCarryOnlyTheirScopesAndExpire) {
  CreateAlice(R"(["operator","approver"])");
  auto login = store_->Login("alice", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(login.ok());
  Principal alice = *store_->Authenticate(login->token);
  // A scope the account lacks is refused; an unknown scope names itself.
  auto too_much = store_->CreateApiToken(alice, R"({"name":"ci","scopes":["admin"]})");
  EXPECT_EQ(too_much.status().code(), ErrorCode::kForbidden);
  auto unknown = store_->CreateApiToken(alice, R"({"name":"ci","scopes":["data.eat"]})");
  EXPECT_EQ(unknown.status().field(), "scopes");
  auto created = store_->CreateApiToken(
      alice, R"({"name":"ci","scopes":["journey.read"],"expires_in_days":1,"rate_per_minute":2})");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const size_t at = created->find("sxt_");
  ASSERT_NE(at, std::string::npos);
  const std::string token = created->substr(at, 68);
  auto principal = store_->Authenticate(token);
  ASSERT_TRUE(principal.ok());
  EXPECT_TRUE(principal->Can(Permission::kJourneyRead));
  EXPECT_FALSE(principal->Can(Permission::kJourneyWrite));  // the account has it; the token not
  // Rate: 2 per minute.
  EXPECT_TRUE(store_->Authenticate(token).ok());
  EXPECT_EQ(store_->Authenticate(token).status().code(), ErrorCode::kTooManyRequests);
  clock_.AdvanceMs(30'000);
  EXPECT_TRUE(store_->Authenticate(token).ok());
  // Taking the role from the account takes it from the token.
  ASSERT_TRUE(store_->UpdateAccount("alice", R"({"roles":["advisor"]})").ok());
  clock_.AdvanceMs(30'000);
  auto narrowed = store_->Authenticate(token);
  ASSERT_TRUE(narrowed.ok()) << narrowed.status().ToString();
  EXPECT_FALSE(narrowed->Can(Permission::kJourneyRead));
  clock_.AdvanceMs(86'400'000);
  EXPECT_EQ(store_->Authenticate(token).status().code(), ErrorCode::kUnauthorized);
}

TEST_F(AccountStoreTest, AccountsAndTokensSurviveAReopenButNotAsPlainText) {
  CreateAlice();
  auto login = store_->Login("alice", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(login.ok());
  bool leaked = false;
  ASSERT_TRUE(kv_->ScanPrefix("acc/", [&](std::string_view key, std::string_view value) {
                   leaked |= value.find("correct horse") != std::string_view::npos ||
                             key.find(login->token) != std::string_view::npos ||
                             value.find(login->token) != std::string_view::npos;
                   return true;
                 }).ok());
  EXPECT_FALSE(leaked);
  Reopen();
  EXPECT_TRUE(store_->Authenticate(login->token).ok());
  EXPECT_EQ(store_->account_count(), 1u);
  // Disabling ends every session.
  ASSERT_TRUE(store_->UpdateAccount("alice", R"({"disabled":true})").ok());
  EXPECT_FALSE(store_->Authenticate(login->token).ok());
  EXPECT_EQ(store_->Login("alice", "correct horse battery", "10.0.0.1").status().code(),
            ErrorCode::kForbidden);
}

TEST_F(AccountStoreTest, BadAccountDefinitionsNameTheField) {
  EXPECT_EQ(store_->CreateAccount(R"({"name":"bob","password":"short","roles":["operator"]})")
                .status()
                .field(),
            "password");
  EXPECT_EQ(store_->CreateAccount(R"({"name":"b b","password":"long enough pw","roles":["operator"]})")
                .status()
                .field(),
            "name");
  EXPECT_EQ(store_->CreateAccount(R"({"name":"bob","password":"long enough pw","roles":["king"]})")
                .status()
                .field(),
            "roles");
  EXPECT_EQ(store_->CreateAccount(R"({"name":"bob","password":"long enough pw","roles":["analyst"],"org_unit":"hq"})")
                .status()
                .field(),
            "org_unit");
  EXPECT_EQ(store_->CreateAccount("[1,2]").status().code(), ErrorCode::kBadRequest);
  EXPECT_EQ(store_->CreateAccount(R"({"name":"admin","password":"long enough pw","roles":["analyst"]})")
                .status()
                .code(),
            ErrorCode::kConflict);
}

TEST_F(AccountStoreTest, ChangingThePasswordEndsOtherSessions) {
  CreateAlice();
  auto first = store_->Login("alice", "correct horse battery", "10.0.0.1");
  auto second = store_->Login("alice", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(first.ok() && second.ok());
  Principal alice = *store_->Authenticate(first->token);
  EXPECT_EQ(store_->ChangePassword(alice, R"({"old_password":"nope","new_password":"a new long one"})")
                .code(),
            ErrorCode::kForbidden);
  ASSERT_TRUE(store_->ChangePassword(
                        alice, R"({"old_password":"correct horse battery","new_password":"a new long one"})")
                  .ok());
  EXPECT_TRUE(store_->Authenticate(first->token).ok());
  EXPECT_FALSE(store_->Authenticate(second->token).ok());
  EXPECT_TRUE(store_->Login("alice", "a new long one", "10.0.0.1").ok());
}

TEST_F(AccountStoreTest, AuditTrailIsAChainThatRevealsTampering) {
  AuditTrail trail(kv_.get(), &clock_);
  for (const char* actor : {"alice", "bob", "carol"}) {
    AuditEntry entry;
    entry.actor = actor;
    entry.action = "change";
    entry.method = "PUT";
    entry.route = "/api/v1/projects/{project}/touch-rules";
    entry.status = 200;
    ASSERT_TRUE(trail.Append(entry).ok());
  }
  auto verified = trail.Verify();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->valid);
  EXPECT_EQ(verified->entries, 3u);
  auto bob = trail.Query(10, 0, "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_NE(bob->find("\"seq\":2"), std::string::npos) << *bob;
  EXPECT_EQ(bob->find("alice"), std::string::npos) << *bob;
  // Rewriting who did entry 2 breaks the chain there.
  std::string key(kAuditPrefix);
  state::AppendBigEndian64(2, &key);
  std::string stored = kv_->Get(key).value();
  const size_t at = stored.find("bob");
  ASSERT_NE(at, std::string::npos);
  stored.replace(at, 3, "eve");
  ASSERT_TRUE(kv_->Put(key, stored).ok());
  verified = trail.Verify();
  ASSERT_TRUE(verified.ok());
  EXPECT_FALSE(verified->valid);
  EXPECT_EQ(verified->first_bad_sequence, 2u);
  EXPECT_EQ(verified->reason, "hash does not match the entry's content");
  // Removing entry 2 is found too.
  ASSERT_TRUE(kv_->Delete(key).ok());
  verified = trail.Verify();
  EXPECT_FALSE(verified->valid);
  EXPECT_EQ(verified->reason, "entry 2 is missing");
}

}  // namespace
}  // namespace sextant::access

namespace sextant::access {
namespace {

TEST(PiiMaskingTest, MasksKeepEnoughToRecogniseNotToReach) {
  EXPECT_EQ(MaskText(PiiKind::kPhone, "13812345678"), "138****5678");
  EXPECT_EQ(MaskText(PiiKind::kIdCard, "110101199001011234"), "1101**********1234");
  EXPECT_EQ(MaskText(PiiKind::kName, "张三丰"), "张**");
  EXPECT_EQ(MaskText(PiiKind::kName, "Li"), "L*");
  EXPECT_EQ(MaskText(PiiKind::kEmail, "zhang@example.com"), "z***@example.com");
  EXPECT_EQ(MaskText(PiiKind::kAddress, "上海市浦东新区世纪大道100号"), "上海市浦东新****");
  EXPECT_EQ(MaskText(PiiKind::kPhone, "123"), "****");
  EXPECT_EQ(MaskText(PiiKind::kEmail, "no-at-sign"), "****");
}

TEST(PiiMaskingTest, JsonMasksOnlyProfilesPropertiesAndIdentities) {
  PiiPolicy policy = PiiPolicy::Defaults();
  const std::string answer =
      R"({"name":"segment A","identities":[{"key":"$identity_mobile","value":"13812345678"},)"
      R"({"key":"$identity_login_id","value":"u1"}],"profile":{"name":"张三","phone":13812345678,)"
      R"("city":"北京","vip":true,"score":1.5e2},"events":[{"event":"buy","properties":)"
      R"({"email":"a@b.cn","amount":100}}]})";
  EXPECT_EQ(policy.MaskJson(answer),
            R"({"name":"segment A","identities":[{"key":"$identity_mobile","value":"138****5678"},)"
            R"({"key":"$identity_login_id","value":"u1"}],"profile":{"name":"张*","phone":"138****5678",)"
            R"("city":"北京","vip":true,"score":150.0},"events":[{"event":"buy","properties":)"
            R"({"email":"a***@b.cn","amount":100}}]})");
  EXPECT_EQ(policy.MaskJson("not json"), "not json");
}

TEST(PiiMaskingTest, PolicyOverridesAndCsvColumns) {
  auto policy = PiiPolicy::FromJson(R"({"fields":{"vip_note":"secret","name":"none"}})");
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->KindOf("vip_note"), PiiKind::kSecret);
  EXPECT_FALSE(policy->KindOf("name"));
  EXPECT_EQ(policy->KindOf("phone"), PiiKind::kPhone);
  EXPECT_EQ(policy->MaskCsv("distinct_id,phone,vip_note,city\nu1,13812345678,\"likes, golf\",北京\nu2,,x,\n"),
            "distinct_id,phone,vip_note,city\nu1,138****5678,****,北京\nu2,,****,\n");
  auto bad = PiiPolicy::FromJson(R"({"fields":{"phone":"telephone"}})");
  EXPECT_EQ(bad.status().field(), "fields.phone");
}

}  // namespace
}  // namespace sextant::access
