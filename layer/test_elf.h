// Test-only ELF files made on purpose: programs compiled from C by the system's
// compiler (so they need what this machine's glibc provides, e.g. arc4random at
// GLIBC_2.36), and copies of a real binary with one header field changed.
#ifndef ANYSNAP_LAYER_TEST_ELF_H_
#define ANYSNAP_LAYER_TEST_ELF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "anysnap/status.h"

namespace anysnap::layer {

// Compiles the C program `source` into `dir`/`name` with `cc` and extra `flags`;
// returns the path of the program.
Result<std::string> CompileC(const std::string& dir, const std::string& name,
                             const std::string& source, const std::vector<std::string>& flags = {});

// A program that needs GLIBC_2.36 through arc4random.
inline constexpr char kArc4randomProgram[] =
    "#include <stdio.h>\n#include <stdlib.h>\n"
    "int main(void) { printf(\"%u\\n\", arc4random()); return 0; }\n";
// A program that needs nothing newer than glibc 2.34.
inline constexpr char kHelloProgram[] =
    "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n";

// Copies `from` to `to` with e_machine set to `machine`.
Status CopyWithMachine(const std::string& from, const std::string& to, uint16_t machine);

// Writes `bytes` to `path` with `mode`.
Status WriteFile(const std::string& path, const std::string& bytes, unsigned mode = 0644);
// The whole content of `path`, or an error.
Result<std::string> ReadFile(const std::string& path);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_TEST_ELF_H_
