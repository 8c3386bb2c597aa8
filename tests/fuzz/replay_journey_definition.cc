#define SEXTANT_FUZZ_ENTRY Fuzz_journey_definition
#include "fuzz_journey_definition.cc"
