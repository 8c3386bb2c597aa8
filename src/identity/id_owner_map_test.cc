// IdOwnerMap against a std::map model: inserts, overwrites (including to 0), lookups of ids
// that share keys, values or prefixes, the joined form, and growth past many rehashes.
#include "identity/id_owner_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <utility>

namespace sextant::identity {
namespace {

TEST(IdOwnerMap, FindsWhatWasSetAndNothingElse) {
  IdOwnerMap map;
  EXPECT_EQ(map.Find("$identity_login_id", "u1"), 0u);
  map.Set("$identity_login_id", "u1", 7);
  map.Set("$identity_anonymous_id", "u1", 8);  // same value, other key
  map.Set("$identity_login_id", "u10", 9);     // a value extending another
  map.Set("phone", "", 10);                    // an empty value
  EXPECT_EQ(map.Find("$identity_login_id", "u1"), 7u);
  EXPECT_EQ(map.Find("$identity_anonymous_id", "u1"), 8u);
  EXPECT_EQ(map.Find("$identity_login_id", "u10"), 9u);
  EXPECT_EQ(map.Find("phone", ""), 10u);
  EXPECT_EQ(map.Find("$identity_login_id", "u"), 0u);
  EXPECT_EQ(map.Find("$identity_login_i", "d\x1fu1"), 0u);
  EXPECT_EQ(map.size(), 4u);
  // Overwrite, and "owned by nobody" (0) reads as unknown; the entry stays.
  map.Set("$identity_login_id", "u1", 0);
  EXPECT_EQ(map.Find("$identity_login_id", "u1"), 0u);
  map.Set("$identity_login_id", "u1", 11);
  EXPECT_EQ(map.Find("$identity_login_id", "u1"), 11u);
  EXPECT_EQ(map.size(), 4u);
  // The state store's joined form.
  map.SetJoined("$identity_mobile\x1f" "13800000000", 12);
  EXPECT_EQ(map.Find("$identity_mobile", "13800000000"), 12u);
}

TEST(IdOwnerMap, AgreesWithAModelThroughGrowth) {
  IdOwnerMap map;
  std::map<std::pair<std::string, std::string>, UserId> model;
  std::mt19937 random(42);
  const std::string keys[] = {"$identity_login_id", "$identity_anonymous_id", "$identity_mobile",
                              "k"};
  for (int round = 0; round < 200000; ++round) {
    const std::string& key = keys[random() % 4];
    // Values of 0..40 bytes, many sharing prefixes, drawn from a range small enough to repeat.
    std::string value = std::to_string(random() % 60000);
    value.append(random() % 30, 'x');
    const UserId user = random() % 5 == 0 ? 0 : static_cast<UserId>(random() % 1000000 + 1);
    map.Set(key, value, user);
    model[{key, value}] = user;
  }
  EXPECT_EQ(map.size(), model.size());
  for (const auto& [id, user] : model) ASSERT_EQ(map.Find(id.first, id.second), user) << id.second;
  for (int probe = 0; probe < 10000; ++probe) {
    const std::string value = "absent" + std::to_string(probe);
    EXPECT_EQ(map.Find(keys[probe % 4], value), 0u);
  }
  EXPECT_GT(map.MemoryBytes(), model.size() * 24);
}

}  // namespace
}  // namespace sextant::identity
