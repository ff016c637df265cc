// ReseedPreload puts anysnap's reseed into a runtime host's environment
// through each runtime's own start-up mechanism (design.md §3, "Uniqueness
// after restore"), and only under snap-start: on-demand and provisioned
// concurrency have no restore, so nothing is loaded there.
//
//  - Node.js: `--require "<dir>/nodejs/anysnap-reseed.js"` appended to
//    NODE_OPTIONS (double-quoted as Node.js parses that variable, so a path
//    with spaces or quotes stays one word). Whatever the function set comes
//    first and is kept.
//  - Python: `<dir>/python` put in front of PYTHONPATH. That folder holds only
//    a sitecustomize module, which must come first on sys.path to run at all;
//    it then runs the next sitecustomize on sys.path, so the function's own
//    still runs, and gives PYTHONPATH back its value without the folder.
//
// The reseed's files sit beside the wrapper's bin/ folder: in the layer
// /opt/anysnap/reseed/ next to /opt/anysnap/bin/, in a build tree build/reseed/
// next to build/bin/.
//
// Pure functions of their arguments.
#ifndef ANYSNAP_WRAPPER_RESEED_PRELOAD_H_
#define ANYSNAP_WRAPPER_RESEED_PRELOAD_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"

namespace anysnap {

// The reseed's files under `dir` (its "reseed" folder).
struct ReseedFiles {
  std::string node_preload;  // <dir>/nodejs/anysnap-reseed.js
  std::string python_dir;    // <dir>/python (holds sitecustomize.py)
};

ReseedFiles ReseedFilesIn(std::string_view dir);

// The reseed folder beside `program_dir` (the wrapper's own folder,
// ProgramDirectory()): "/opt/anysnap/bin" gives "/opt/anysnap/reseed".
std::string ReseedDirBeside(std::string_view program_dir);

// `path` as one word of NODE_OPTIONS: double-quoted, with \ and " escaped.
std::string QuoteNodeOption(std::string_view path);

// Adds the preloads to `env` (a runtime host's environment), keeping what it
// sets: NODE_OPTIONS gets ` --require "<node_preload>"` appended, PYTHONPATH
// gets python_dir in front (unless already first).
void InstallReseedPreloads(EnvMap& env, const ReseedFiles& files);

// The reseed files that `exists` does not find, one message each ("the
// Node.js reseed /x/anysnap-reseed.js is missing"). A preload whose file is
// missing must not be installed: Node.js would refuse to start.
std::vector<std::string> MissingReseedFiles(const ReseedFiles& files,
                                            const std::function<bool(const std::string&)>& exists);

// Bun and Deno read neither preload, and keep their generators out of reach:
// when a word of the runtime host's command is one of them (by file name),
// what stays as the snapshot cloned it, e.g. "bun: crypto.randomUUID,
// crypto.getRandomValues, Math.random (the reseed does not load into Bun)";
// empty otherwise.
std::string UnreseededRuntime(const std::vector<std::string>& command);

}  // namespace anysnap

#endif  // ANYSNAP_WRAPPER_RESEED_PRELOAD_H_
