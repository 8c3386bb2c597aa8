#define SEXTANT_FUZZ_ENTRY Fuzz_query_spec
#include "fuzz_query_spec.cc"
