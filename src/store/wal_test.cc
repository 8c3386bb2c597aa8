#include "store/wal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sextant::store {
namespace {

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/sextant_wal_test_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Opens the WAL and returns every (lsn, payload) it replays.
  Result<std::unique_ptr<Wal>> OpenAndRead(std::vector<std::pair<uint64_t, std::string>>* out,
                                           Wal::RecoveryInfo* info = nullptr) {
    out->clear();
    return Wal::Open(dir_, Wal::Options(),
                     [out](uint64_t lsn, std::string_view payload) {
                       out->emplace_back(lsn, std::string(payload));
                       return Status::Ok();
                     },
                     info);
  }

  std::string LastNonEmptySegment() const {
    std::string best;
    uint64_t best_seq = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (std::filesystem::file_size(entry.path()) == 0) continue;
      uint64_t seq = std::stoull(entry.path().stem().string());
      if (best.empty() || seq > best_seq) {
        best = entry.path().string();
        best_seq = seq;
      }
    }
    return best;
  }

  std::string dir_;
};

TEST_F(WalTest, WritesAndReplaysRecordsAcrossSegments) {
  std::vector<std::pair<uint64_t, std::string>> records;
  {
    auto wal = OpenAndRead(&records);
    ASSERT_TRUE(wal.ok());
    std::string buf;
    Wal::AppendRecord(&buf, 1, "one");
    Wal::AppendRecord(&buf, 2, "two");
    ASSERT_TRUE((*wal)->Write(buf, 2).ok());
    ASSERT_TRUE((*wal)->Sync().ok());
    ASSERT_TRUE((*wal)->Roll().ok());
    buf.clear();
    Wal::AppendRecord(&buf, 3, "");
    ASSERT_TRUE((*wal)->Write(buf, 3).ok());
    ASSERT_TRUE((*wal)->Sync().ok());
  }
  auto wal = OpenAndRead(&records);
  ASSERT_TRUE(wal.ok());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0], (std::pair<uint64_t, std::string>{1, "one"}));
  EXPECT_EQ(records[1], (std::pair<uint64_t, std::string>{2, "two"}));
  EXPECT_EQ(records[2], (std::pair<uint64_t, std::string>{3, ""}));
}

TEST_F(WalTest, DeleteSegmentsUpToKeepsNewerRecords) {
  std::vector<std::pair<uint64_t, std::string>> records;
  {
    auto wal = OpenAndRead(&records);
    ASSERT_TRUE(wal.ok());
    for (uint64_t lsn = 1; lsn <= 3; ++lsn) {
      std::string buf;
      Wal::AppendRecord(&buf, lsn, "r" + std::to_string(lsn));
      ASSERT_TRUE((*wal)->Write(buf, lsn).ok());
      ASSERT_TRUE((*wal)->Roll().ok());
    }
    ASSERT_TRUE((*wal)->DeleteSegmentsUpTo(2).ok());
  }
  auto wal = OpenAndRead(&records);
  ASSERT_TRUE(wal.ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].first, 3u);
}

TEST_F(WalTest, TornTailIsTruncatedNotAnError) {
  std::vector<std::pair<uint64_t, std::string>> records;
  std::string full;
  Wal::AppendRecord(&full, 2, "second record payload");
  {
    auto wal = OpenAndRead(&records);
    ASSERT_TRUE(wal.ok());
    std::string buf;
    Wal::AppendRecord(&buf, 1, "first");
    ASSERT_TRUE((*wal)->Write(buf, 1).ok());
    // A crash in the middle of the second record's write.
    ASSERT_TRUE((*wal)->Write(std::string_view(full).substr(0, full.size() - 5), 2).ok());
  }
  const std::string segment = LastNonEmptySegment();
  const auto torn_size = std::filesystem::file_size(segment);
  Wal::RecoveryInfo info;
  auto wal = OpenAndRead(&records, &info);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].second, "first");
  EXPECT_EQ(info.truncated_bytes, full.size() - 5);
  EXPECT_EQ(std::filesystem::file_size(segment), torn_size - info.truncated_bytes);
}

TEST_F(WalTest, BadChecksumOnLastRecordIsTorn) {
  std::vector<std::pair<uint64_t, std::string>> records;
  {
    auto wal = OpenAndRead(&records);
    ASSERT_TRUE(wal.ok());
    std::string buf;
    Wal::AppendRecord(&buf, 1, "first");
    Wal::AppendRecord(&buf, 2, "second");
    buf.back() ^= 0x1;
    ASSERT_TRUE((*wal)->Write(buf, 2).ok());
  }
  auto wal = OpenAndRead(&records);
  ASSERT_TRUE(wal.ok());
  ASSERT_EQ(records.size(), 1u);
}

TEST_F(WalTest, CorruptionInTheMiddleIsReportedWithFileAndOffset) {
  std::vector<std::pair<uint64_t, std::string>> records;
  {
    auto wal = OpenAndRead(&records);
    ASSERT_TRUE(wal.ok());
    std::string buf;
    Wal::AppendRecord(&buf, 1, "first");
    Wal::AppendRecord(&buf, 2, "second");
    Wal::AppendRecord(&buf, 3, "third");
    buf[Wal::kHeaderSize + 5 + Wal::kHeaderSize] ^= 0x1;  // payload of record 2
    ASSERT_TRUE((*wal)->Write(buf, 3).ok());
  }
  auto wal = OpenAndRead(&records);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(wal.status().message().find(".log offset 21"), std::string::npos)
      << wal.status().message();
}

TEST_F(WalTest, TruncateToUndoesAGroup) {
  std::vector<std::pair<uint64_t, std::string>> records;
  {
    auto wal = OpenAndRead(&records);
    ASSERT_TRUE(wal.ok());
    std::string buf;
    Wal::AppendRecord(&buf, 1, "kept");
    ASSERT_TRUE((*wal)->Write(buf, 1).ok());
    const uint64_t offset = (*wal)->CurrentOffset();
    buf.clear();
    Wal::AppendRecord(&buf, 2, "undone");
    ASSERT_TRUE((*wal)->Write(buf, 2).ok());
    ASSERT_TRUE((*wal)->TruncateTo(offset).ok());
    buf.clear();
    Wal::AppendRecord(&buf, 3, "after");
    ASSERT_TRUE((*wal)->Write(buf, 3).ok());
  }
  auto wal = OpenAndRead(&records);
  ASSERT_TRUE(wal.ok());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].second, "kept");
  EXPECT_EQ(records[1].second, "after");
}

}  // namespace
}  // namespace sextant::store
