// `sextant query --project P FILE.json`: runs an analysis query on a running server.
#pragma once

namespace sextant::cli {

// argv[0] is "query". Exit code: 0 answered, 1 the server refused or was unreachable, 2 usage.
int RunQueryCommand(int argc, char** argv);

}  // namespace sextant::cli
