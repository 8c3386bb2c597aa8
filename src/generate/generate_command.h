// `sextant generate ...`: writes the demo / benchmark dataset (see generate.h) as JSON lines.
#pragma once

namespace sextant::generate {

// argv[0] is the subcommand name ("generate"). Returns the process exit code.
int RunGenerateCommand(int argc, char** argv);

}  // namespace sextant::generate
