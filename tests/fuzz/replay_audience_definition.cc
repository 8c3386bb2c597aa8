#define SEXTANT_FUZZ_ENTRY Fuzz_audience_definition
#include "fuzz_audience_definition.cc"
