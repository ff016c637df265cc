// ClonedFields finds, in the responses of one function to one event, the
// values a snapshot cloned: fields that differ from one cold start to the
// next (each environment made its own) but are the same in every environment
// restored from one snapshot (they all resumed with the one made before it).
// A per-invoke id drawn from a generator whose state was in the snapshot, or
// an id made during init, shows up this way; a constant field, or one that
// differs between restores too, does not.
//
// A response is flattened into its leaves, each named by a jq-style path:
// `.ids.perInvoke`, `.items[2].id`, `.["odd key"]`, `.` for a scalar or a
// body that is not JSON at all (compared as its raw text). An empty object
// or array is one leaf (`{}`, `[]`). A leaf's value is its JSON text, so
// strings keep their quotes and `1` and `"1"` differ. A path missing from
// some responses (an optional field, arrays of different lengths, a body
// that is JSON in one response and not in another) cannot be judged: it is
// listed apart, never reported as cloned.
//
// Pure functions; thread-safe.
#ifndef ANYSNAP_EMULATOR_CLONED_FIELDS_H_
#define ANYSNAP_EMULATOR_CLONED_FIELDS_H_

#include <string>
#include <utility>
#include <vector>

namespace anysnap {

struct ClonedField {
  std::string path;   // ".ids.perInvoke"
  std::string value;  // its JSON text in every restored response: "\"5f61c9f7-...\""
  bool operator==(const ClonedField&) const = default;
};

struct FieldComparison {
  // Different between cold starts, the same in every restore: in the order
  // the paths first appear in the responses.
  std::vector<ClonedField> cloned;
  // Paths missing from at least one response: not judged.
  std::vector<std::string> not_in_every_response;
  size_t compared = 0;  // paths present in every response
};

// The leaves of one response body, in document order: (path, JSON text).
std::vector<std::pair<std::string, std::string>> FlattenResponse(const std::string& body);

// Compares `cold` responses (one per cold start) with `restored` ones (one per
// environment restored from one snapshot). Nothing can differ or repeat with
// fewer than two of each: then nothing is reported cloned.
FieldComparison CompareFields(const std::vector<std::string>& cold,
                              const std::vector<std::string>& restored);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_CLONED_FIELDS_H_
