#include "profile/profile_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace sextant::profile {
namespace {

class ProfileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sextant_profile_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    kv_ = std::move(state::KvStore::Open(dir_.string()).value());
    profiles_ = std::make_unique<ProfileStore>(kv_.get());
  }
  void TearDown() override {
    profiles_.reset();
    kv_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Apply(RecordType type, PropertyMap properties) {
    Record record;
    record.type = type;
    record.properties = std::move(properties);
    ASSERT_TRUE(profiles_->ApplyProfile(1, 7, record).ok());
  }
  PropertyMap Profile() { return profiles_->GetProfile(1, 7).value(); }
  std::filesystem::path dir_;
  std::unique_ptr<state::KvStore> kv_;
  std::unique_ptr<ProfileStore> profiles_;
};

TEST_F(ProfileStoreTest, EveryOperationHasSensorsSemantics) {
  Apply(RecordType::kProfileSet, {{"name", Value::String("Alice")}, {"age", Value::Number(30)}});
  Apply(RecordType::kProfileSetOnce, {{"name", Value::String("Bob")}, {"city", Value::String("上海")}});
  Apply(RecordType::kProfileIncrement, {{"points", Value::Number(5)}});
  Apply(RecordType::kProfileIncrement, {{"points", Value::Number(2.5)}});
  Apply(RecordType::kProfileAppend, {{"interests", Value::List({"books"})}});
  Apply(RecordType::kProfileAppend, {{"interests", Value::List({"funds"})}});
  Apply(RecordType::kProfileUnset, {{"age", Value::Bool(true)}});
  PropertyMap expected = {{"name", Value::String("Alice")},
                          {"city", Value::String("上海")},
                          {"points", Value::Number(7.5)},
                          {"interests", Value::List({"books", "funds"})}};
  EXPECT_EQ(Profile(), expected);
  Apply(RecordType::kProfileDelete, {});
  EXPECT_EQ(profiles_->GetProfile(1, 7).status().code(), ErrorCode::kNotFound);
  // Other users and projects are untouched.
  EXPECT_EQ(profiles_->GetProfile(2, 7).status().code(), ErrorCode::kNotFound);
}

TEST_F(ProfileStoreTest, IncrementOfNonNumberIsRefused) {
  Apply(RecordType::kProfileSet, {{"name", Value::String("Alice")}});
  Record record;
  record.type = RecordType::kProfileIncrement;
  record.properties = {{"name", Value::Number(1)}};
  EXPECT_EQ(profiles_->ApplyProfile(1, 7, record).code(), ErrorCode::kTypeConflict);
}

TEST_F(ProfileStoreTest, ItemsSetReplaceAndDelete) {
  Record set;
  set.type = RecordType::kItemSet;
  set.item_type = "fund";
  set.item_id = "F001";
  set.properties = {{"risk_level", Value::String("R3")}, {"nav", Value::Number(1.23)}};
  ASSERT_TRUE(profiles_->ApplyItem(1, set).ok());
  EXPECT_EQ(profiles_->GetItem(1, "fund", "F001").value(), set.properties);
  set.properties = {{"risk_level", Value::String("R4")}};
  ASSERT_TRUE(profiles_->ApplyItem(1, set).ok());
  EXPECT_EQ(profiles_->GetItem(1, "fund", "F001").value(), set.properties);
  Record remove = set;
  remove.type = RecordType::kItemDelete;
  ASSERT_TRUE(profiles_->ApplyItem(1, remove).ok());
  EXPECT_EQ(profiles_->GetItem(1, "fund", "F001").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace sextant::profile
