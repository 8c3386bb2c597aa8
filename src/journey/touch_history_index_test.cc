#include "journey/touch_history_index.h"

#include <gtest/gtest.h>

namespace sextant::journey {
namespace {

TEST(TouchHistoryIndex, CollectsOnlyTheCustomersTouchesInOrder) {
  TouchHistoryIndex index;
  index.Add(7, TouchRecord{1000, "sms", "j1", 2, false});
  index.Add(8, TouchRecord{1500, "push", "j2", 0, true});
  index.Add(7, TouchRecord{2000, "push", "j2", 5, true});

  std::vector<TouchRecord> touches;
  EXPECT_FALSE(index.Collect(7, 0, &touches));
  ASSERT_EQ(touches.size(), 2u);
  EXPECT_EQ(touches[0].time_ms, 1000);
  EXPECT_EQ(touches[0].channel, "sms");
  EXPECT_EQ(touches[0].journey_id, "j1");
  EXPECT_EQ(touches[0].priority, 2);
  EXPECT_FALSE(touches[0].transactional);
  EXPECT_EQ(touches[1].channel, "push");
  EXPECT_EQ(touches[1].journey_id, "j2");
  EXPECT_EQ(touches[1].priority, 5);
  EXPECT_TRUE(touches[1].transactional);

  touches.clear();
  EXPECT_FALSE(index.Collect(9, 0, &touches));
  EXPECT_TRUE(touches.empty());
  EXPECT_EQ(index.customers(), 2u);
}

TEST(TouchHistoryIndex, ExpiredTouchesAreDroppedAndReported) {
  TouchHistoryIndex index;
  index.Add(7, TouchRecord{1000, "sms", "j1", 0, false});
  index.Add(7, TouchRecord{3000, "sms", "j1", 0, false});

  std::vector<TouchRecord> touches;
  EXPECT_TRUE(index.Collect(7, 2000, &touches));  // the 1000 one expired
  ASSERT_EQ(touches.size(), 1u);
  EXPECT_EQ(touches[0].time_ms, 3000);

  touches.clear();
  EXPECT_FALSE(index.Collect(7, 2000, &touches));  // reported once
  EXPECT_EQ(touches.size(), 1u);

  touches.clear();
  EXPECT_TRUE(index.Collect(7, 5000, &touches));  // all expired: the customer leaves the index
  EXPECT_TRUE(touches.empty());
  EXPECT_EQ(index.customers(), 0u);
}

TEST(TouchHistoryIndex, EraseForgetsTheCustomer) {
  TouchHistoryIndex index;
  index.Add(7, TouchRecord{1000, "sms", "j1", 0, false});
  index.Add(8, TouchRecord{1000, "sms", "j1", 0, false});
  index.Erase(7);
  std::vector<TouchRecord> touches;
  index.Collect(7, 0, &touches);
  EXPECT_TRUE(touches.empty());
  index.Collect(8, 0, &touches);
  EXPECT_EQ(touches.size(), 1u);
}

}  // namespace
}  // namespace sextant::journey
