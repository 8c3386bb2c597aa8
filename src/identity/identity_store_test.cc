#include "identity/identity_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

namespace sextant::identity {
namespace {

class IdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sextant_identity_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    ids_.reset();
    kv_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    ids_.reset();
    kv_.reset();
    kv_ = std::move(state::KvStore::Open(dir_.string()).value());
    ids_ = std::make_unique<IdentityStore>(kv_.get());
  }
  Result<Resolution> Resolve(const Record& record) {
    state::KvStore::Batch batch;
    auto result = ids_->Resolve(1, record, &batch);
    EXPECT_TRUE(kv_->Write(&batch).ok());
    return result;
  }
  static Record Track(std::string distinct_id, std::vector<Identity> identities = {}) {
    Record record;
    record.type = RecordType::kTrack;
    record.event = "E";
    record.distinct_id = std::move(distinct_id);
    record.identities = std::move(identities);
    return record;
  }
  static Record Signup(std::string login, std::string anonymous) {
    Record record = Track(std::move(login));
    record.type = RecordType::kTrackSignup;
    record.event = "$SignUp";
    record.original_id = std::move(anonymous);
    return record;
  }
  std::filesystem::path dir_;
  std::unique_ptr<state::KvStore> kv_;
  std::unique_ptr<IdentityStore> ids_;
};

TEST_F(IdentityStoreTest, Idm1SignupLinksAnonymousAndLoginAndSurvivesRestart) {
  auto anonymous = Resolve(Track("anon-1"));
  ASSERT_TRUE(anonymous.ok());
  EXPECT_TRUE(anonymous->created);
  auto signup = Resolve(Signup("user-1", "anon-1"));
  ASSERT_TRUE(signup.ok());
  EXPECT_EQ(signup->user_id, anonymous->user_id);
  EXPECT_FALSE(signup->created);
  Reopen();
  // A bare distinct_id equal to the login id finds the same user after a restart.
  auto later = Resolve(Track("user-1"));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->user_id, anonymous->user_id);
  auto ids = ids_->IdentitiesOf(1, later->user_id);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 2u);
  EXPECT_EQ(ids_->LookupDistinctId(1, "anon-1").value(), anonymous->user_id);
}

// A record whose every id its user already owns changes nothing (the common case, answered
// without the general rules); one id more than the user owns is still attached; an id owned
// by another anonymous-only user is still merged.
TEST_F(IdentityStoreTest, KnownIdsWriteNothingAndNewOrForeignIdsStillTakeTheRules) {
  const UserId customer = Resolve(Track("C1", {{"$identity_login_id", "C1"},
                                               {"$identity_anonymous_id", "dev-1"}}))->user_id;
  for (const Record& record :
       {Track("C1", {{"$identity_login_id", "C1"}}), Track("dev-1"), Track("C1"),
        Track("dev-1", {{"$identity_anonymous_id", "dev-1"}, {"$identity_login_id", "C1"}})}) {
    state::KvStore::Batch batch;
    auto resolved = ids_->Resolve(1, record, &batch);
    ASSERT_TRUE(resolved.ok());
    EXPECT_EQ(resolved->user_id, customer);
    EXPECT_FALSE(resolved->created);
    EXPECT_TRUE(batch.empty()) << record.distinct_id;
  }
  EXPECT_EQ(Resolve(Track("C1", {{"$identity_login_id", "C1"}, {"$identity_email", "c1@x.cn"}}))
                ->user_id,
            customer);
  const UserId device = Resolve(Track("dev-2", {{"$identity_anonymous_id", "dev-2"}}))->user_id;
  ASSERT_NE(device, customer);
  EXPECT_EQ(Resolve(Track("C1", {{"$identity_login_id", "C1"}, {"$identity_anonymous_id", "dev-2"}}))
                ->user_id,
            customer);
  Reopen();
  for (const char* id : {"c1@x.cn", "dev-2"}) {
    auto again = Resolve(Track(id, {{std::string(id) == "dev-2" ? "$identity_anonymous_id"
                                                              : "$identity_email", id}}));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->user_id, customer) << id;
  }
}

TEST_F(IdentityStoreTest, SecondLoginWithSameAnonymousIdDoesNotStealIt) {
  UserId first = Resolve(Signup("user-1", "cookie-C"))->user_id;
  UserId second = Resolve(Signup("user-2", "cookie-C"))->user_id;
  EXPECT_NE(first, second);
  EXPECT_EQ(ids_->Lookup(1, kAnonymousKey, "cookie-C").value(), first);
  EXPECT_EQ(ids_->Lookup(1, kLoginKey, "user-2").value(), second);
}

TEST_F(IdentityStoreTest, BindOfIdOwnedByAnotherUserIsRefused) {
  UserId alice = Resolve(Track("a", {{"$identity_login_id", "alice"},
                                     {"$identity_mobile", "13800000000"}}))->user_id;
  UserId bob = Resolve(Track("b", {{"$identity_login_id", "bob"}}))->user_id;
  ASSERT_NE(alice, bob);
  Record bind = Track("bob", {{"$identity_login_id", "bob"}, {"$identity_mobile", "13800000000"}});
  bind.type = RecordType::kTrackIdBind;
  auto result = Resolve(bind);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kIdentityConflict);
  EXPECT_EQ(result.status().field(), "identities.$identity_mobile");
  EXPECT_EQ(ids_->Lookup(1, "$identity_mobile", "13800000000").value(), alice);
}

TEST_F(IdentityStoreTest, BindThatWouldCreateAUserWithAnotherUsersIdIsRefused) {
  UserId alice = Resolve(Track("a", {{"$identity_login_id", "alice"},
                                     {"$identity_mobile", "13800000001"}}))->user_id;
  Record bind = Track("bob", {{"$identity_login_id", "bob"}, {"$identity_mobile", "13800000001"}});
  bind.type = RecordType::kTrackIdBind;
  auto result = Resolve(bind);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kIdentityConflict);
  EXPECT_EQ(ids_->Lookup(1, kLoginKey, "bob").value(), 0u);
  EXPECT_EQ(ids_->Lookup(1, "$identity_mobile", "13800000001").value(), alice);
}

TEST_F(IdentityStoreTest, BindAttachesNewIdAndUnbindThenReuseStartsNewUser) {
  UserId user = Resolve(Track("u", {{"$identity_login_id", "u"}}))->user_id;
  Record bind = Track("u", {{"$identity_login_id", "u"}, {"$identity_email", "u@x.cn"}});
  bind.type = RecordType::kTrackIdBind;
  ASSERT_TRUE(Resolve(bind).ok());
  EXPECT_EQ(ids_->Lookup(1, "$identity_email", "u@x.cn").value(), user);
  Record unbind = Track("u", {{"$identity_email", "u@x.cn"}});
  unbind.type = RecordType::kTrackIdUnbind;
  auto unbound = Resolve(unbind);
  ASSERT_TRUE(unbound.ok());
  EXPECT_EQ(unbound->user_id, user);  // the $UnbindID event stays with the old user
  EXPECT_EQ(ids_->Lookup(1, "$identity_email", "u@x.cn").value(), 0u);
  auto reused = Resolve(Track("x", {{"$identity_email", "u@x.cn"}}));
  ASSERT_TRUE(reused.ok());
  EXPECT_TRUE(reused->created);
  EXPECT_NE(reused->user_id, user);
  Record unbind_unknown = Track("u", {{"$identity_email", "nobody@x.cn"}});
  unbind_unknown.type = RecordType::kTrackIdUnbind;
  EXPECT_EQ(Resolve(unbind_unknown).status().code(), ErrorCode::kIdentityConflict);
}

TEST_F(IdentityStoreTest, LoginJoinsAnonymousUserWithoutLogin) {
  // Web: browse anonymously, bind a mobile number, then log in.
  UserId anonymous = Resolve(Track("C", {{"$identity_cookie_id", "C"},
                                         {"$identity_anonymous_id", "C"}}))->user_id;
  auto login = Resolve(Track("user-1", {{"$identity_cookie_id", "C"},
                                        {"$identity_anonymous_id", "C"},
                                        {"$identity_login_id", "user-1"}}));
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->user_id, anonymous);
  // Two different login ids in one record are refused.
  Record two = Track("x", {{"$identity_login_id", "p"}});
  two.login_id = "q";
  EXPECT_EQ(Resolve(two).status().code(), ErrorCode::kIdentityConflict);
}

TEST_F(IdentityStoreTest, LoginMergesAnonymousHistoryIntoExistingCustomer) {
  // The customer's profile arrives first (from the core system), then the app is used
  // anonymously, then the customer logs in on that device.
  UserId customer = Resolve(Track("C100", {{"$identity_login_id", "C100"}}))->user_id;
  UserId device = Resolve(Track("dev-1", {{"$identity_anonymous_id", "dev-1"}}))->user_id;
  ASSERT_NE(customer, device);
  state::KvStore::Batch batch;
  ASSERT_TRUE(ids_->Resolve(1, Track("dev-1", {{"$identity_anonymous_id", "dev-1"}}), &batch, 50).ok());
  ASSERT_TRUE(kv_->Write(&batch).ok());
  auto login = Resolve(Signup("C100", "dev-1"));
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->user_id, customer);
  Reopen();
  EXPECT_EQ(ids_->Lookup(1, kAnonymousKey, "dev-1").value(), customer);
  EXPECT_EQ(ids_->CanonicalUser(1, device).value(), customer);
  EXPECT_EQ(ids_->MergedUsers(1, customer).value(), std::vector<UserId>{device});
  EXPECT_EQ(ids_->IdentitiesOf(1, customer)->size(), 2u);
  EXPECT_TRUE(ids_->IdentitiesOf(1, device)->empty());
  state::KvStore::Batch again;
  auto later = ids_->Resolve(1, Track("C100", {{"$identity_login_id", "C100"}}), &again, 60);
  EXPECT_EQ(later->first_day, 50);  // the merged user's first day carried over
}

TEST_F(IdentityStoreTest, MergesChainAndBindMergesAnonymousOnlyUsers) {
  UserId first = Resolve(Track("a", {{"$identity_cookie_id", "a"}}))->user_id;
  UserId second = Resolve(Track("b", {{"$identity_anonymous_id", "b"}}))->user_id;
  // identify(): a new anonymous id on the same cookie; the cookie's user absorbs b's user.
  auto linked = Resolve(Track("b", {{"$identity_cookie_id", "a"}, {"$identity_anonymous_id", "b"},
                                    {"$identity_mobile", "139"}}));
  ASSERT_TRUE(linked.ok());
  UserId person = Resolve(Track("p", {{"$identity_login_id", "p"}}))->user_id;
  Record bind = Track("p", {{"$identity_login_id", "p"}, {"$identity_mobile", "139"}});
  bind.type = RecordType::kTrackIdBind;
  ASSERT_TRUE(Resolve(bind).ok());  // the mobile's owner has no login id: merged, not refused
  auto merged = ids_->MergedUsers(1, person).value();
  std::sort(merged.begin(), merged.end());
  std::vector<UserId> expected = {first, second};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(merged, expected);
  EXPECT_EQ(ids_->CanonicalUser(1, first).value(), person);
  EXPECT_EQ(ids_->CanonicalUser(1, second).value(), person);
  EXPECT_EQ(ids_->Lookup(1, "$identity_cookie_id", "a").value(), person);
}

TEST_F(IdentityStoreTest, ResolveRecordsTheFirstEventDayWithTheIdentityWrite) {
  state::KvStore::Batch batch;
  auto first = ids_->Resolve(1, Track("u"), &batch, 200);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->first_day, 200);
  EXPECT_EQ(ids_->Resolve(1, Track("u"), &batch, 205)->first_day, 200);  // later day: unchanged
  EXPECT_EQ(ids_->Resolve(1, Track("u"), &batch, 190)->first_day, 190);  // late-arriving earlier event
  ASSERT_TRUE(kv_->Write(&batch).ok());
  Reopen();
  state::KvStore::Batch again;
  auto after = ids_->Resolve(1, Track("u"), &again, 300);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->created);
  EXPECT_EQ(after->first_day, 190);
  EXPECT_EQ(ids_->IdentitiesOf(1, after->user_id)->size(), 1u);
}

TEST_F(IdentityStoreTest, DenseIdsAndFirstDay) {
  UserId a = Resolve(Track("a"))->user_id;
  UserId b = Resolve(Track("b"))->user_id;
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  state::KvStore::Batch batch;
  EXPECT_EQ(ids_->Resolve(1, Track("a"), &batch, 100)->first_day, 100);
  EXPECT_EQ(ids_->Resolve(1, Track("a"), &batch, 101)->first_day, 100);
  ASSERT_TRUE(kv_->Write(&batch).ok());
  Reopen();
  state::KvStore::Batch again;
  EXPECT_EQ(ids_->Resolve(1, Track("a"), &again, 102)->first_day, 100);
  EXPECT_EQ(Resolve(Track("c"))->user_id, 3u);  // ids stay dense across a restart
}

}  // namespace
}  // namespace sextant::identity
