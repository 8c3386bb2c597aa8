#define SEXTANT_FUZZ_ENTRY Fuzz_native_batch
#include "fuzz_native_batch.cc"
