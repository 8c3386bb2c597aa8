// Replays every seed of every fuzz corpus through the fuzz entry functions (built without
// -fsanitize=fuzzer), so corpora — including past crashers — run in every ctest run.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int Fuzz_sensors_payload(const uint8_t* data, size_t size);
extern "C" int Fuzz_native_batch(const uint8_t* data, size_t size);
extern "C" int Fuzz_segment(const uint8_t* data, size_t size);
extern "C" int Fuzz_journey_definition(const uint8_t* data, size_t size);
extern "C" int Fuzz_audience_definition(const uint8_t* data, size_t size);
extern "C" int Fuzz_query_spec(const uint8_t* data, size_t size);
extern "C" int Fuzz_csv_import(const uint8_t* data, size_t size);
extern "C" int Fuzz_pii_masking(const uint8_t* data, size_t size);

namespace {

size_t ReplayCorpus(const std::string& target, int (*entry)(const uint8_t*, size_t)) {
  std::filesystem::path dir = std::filesystem::path(SEXTANT_FUZZ_CORPUS_DIR) / target;
  size_t count = 0;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (!file.is_regular_file()) continue;
    std::ifstream in(file.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(file.path().string());
    EXPECT_EQ(entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    ++count;
  }
  return count;
}

TEST(FuzzCorpusReplay, SensorsPayload) { EXPECT_GE(ReplayCorpus("fuzz_sensors_payload", Fuzz_sensors_payload), 10u); }
TEST(FuzzCorpusReplay, NativeBatch) { EXPECT_GE(ReplayCorpus("fuzz_native_batch", Fuzz_native_batch), 10u); }
TEST(FuzzCorpusReplay, Segment) { EXPECT_GE(ReplayCorpus("fuzz_segment", Fuzz_segment), 10u); }
TEST(FuzzCorpusReplay, JourneyDefinition) { EXPECT_GE(ReplayCorpus("fuzz_journey_definition", Fuzz_journey_definition), 10u); }
TEST(FuzzCorpusReplay, AudienceDefinition) { EXPECT_GE(ReplayCorpus("fuzz_audience_definition", Fuzz_audience_definition), 10u); }
TEST(FuzzCorpusReplay, QuerySpec) { EXPECT_GE(ReplayCorpus("fuzz_query_spec", Fuzz_query_spec), 10u); }
TEST(FuzzCorpusReplay, CsvImport) { EXPECT_GE(ReplayCorpus("fuzz_csv_import", Fuzz_csv_import), 10u); }
TEST(FuzzCorpusReplay, PiiMasking) { EXPECT_GE(ReplayCorpus("fuzz_pii_masking", Fuzz_pii_masking), 10u); }

}  // namespace
