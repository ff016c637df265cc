// ASCII text helpers for protocol and setting names, which are ASCII whatever
// the locale: case-insensitive comparison and trimming of blanks.
#ifndef ANYSNAP_ASCII_H_
#define ANYSNAP_ASCII_H_

#include <string_view>
#include <vector>

namespace anysnap {

// Returns true iff `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Returns `s` without leading and trailing spaces and tabs.
std::string_view TrimBlanks(std::string_view s);

// Splits `s` at every `sep`, keeping empty items: "a::b" is {"a", "", "b"},
// "" is {""}.
std::vector<std::string_view> SplitOn(std::string_view s, char sep);

}  // namespace anysnap

#endif  // ANYSNAP_ASCII_H_
