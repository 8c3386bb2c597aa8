#define SEXTANT_FUZZ_ENTRY Fuzz_segment
#include "fuzz_segment.cc"
