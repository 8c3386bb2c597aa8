#define SEXTANT_FUZZ_ENTRY Fuzz_csv_import
#include "fuzz_csv_import.cc"
