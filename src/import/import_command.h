// `sextant import ...`: bulk import of CSV / JSON-lines files into a running server.
#pragma once

namespace sextant::import {

// argv[0] is the subcommand name ("import"). Returns the process exit code: 0 if every row was
// stored (or recognised as a duplicate), 1 if any row failed, 2 on a usage or setup error.
int RunImportCommand(int argc, char** argv);

}  // namespace sextant::import
