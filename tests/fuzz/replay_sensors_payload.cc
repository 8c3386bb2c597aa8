#define SEXTANT_FUZZ_ENTRY Fuzz_sensors_payload
#include "fuzz_sensors_payload.cc"
