#define SEXTANT_FUZZ_ENTRY Fuzz_pii_masking
#include "fuzz_pii_masking.cc"
