// SplitShellWords turns a command line such as ANYSNAP_RUNTIME into an argv the
// way a POSIX shell splits a simple command, without running a shell: nothing
// is executed, globbed or redirected. What it does:
//
//   - Unquoted spaces, tabs and newlines separate words.
//   - 'single quotes' keep everything literally.
//   - "double quotes" keep everything but `$` expansions; a backslash in them
//     escapes only  $ ` " \  and newline, and stays literal before anything else.
//   - A backslash outside quotes escapes the next character; backslash-newline
//     joins lines.
//   - $VAR, ${VAR}, ${VAR-default} (default when VAR is unset) and
//     ${VAR:-default} (default when VAR is unset or empty) expand from `env`; an
//     unset VAR expands to nothing. A default is itself expanded and may be quoted.
//   - Unquoted expansions are field-split on spaces, tabs and newlines; one that
//     yields nothing makes no word. "" and '' make an empty word.
//   - A `#` that begins a word starts a comment up to the end of the line.
//   - A `$` followed by anything else (a space, `/`, the end) is a literal `$`.
//     Nothing else is special: `*`, `?`, `[`, `~`, `{`, `}` stay literal.
//
// Errors, all Status::InvalidArgument with a 1-based byte position: command
// substitution (` or $( ), special parameters ($1, $@, $?, $$ ...), $'...',
// ${...} forms other than the three above, unquoted shell operators
// (| & ; < > ( ) — there is no shell to pipe or redirect), an unterminated
// quote or ${, a trailing backslash, and a NUL byte.
//
// Thread-compatible: a pure function.
#ifndef ANYSNAP_SHELL_WORDS_H_
#define ANYSNAP_SHELL_WORDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"

namespace anysnap {

// Splits `text` into words as described above, expanding variables from `env`.
// Returns no words for blank text or text that expands to nothing.
Result<std::vector<std::string>> SplitShellWords(std::string_view text, const EnvMap& env);

}  // namespace anysnap

#endif  // ANYSNAP_SHELL_WORDS_H_
