// The rules for paths inside a layer. A layer unpacks under /opt, so an entry
// name must be relative and stay below that root, and a symlink must point at a
// relative place that stays inside the layer once resolved from its directory.
// Both the builder (before writing) and the inspector (on any zip) apply them.
//
// Pure functions; thread-safe.
#ifndef ANYSNAP_LAYER_LAYER_PATH_H_
#define ANYSNAP_LAYER_LAYER_PATH_H_

#include <string>
#include <string_view>

#include "anysnap/status.h"

namespace anysnap::layer {

// OK iff `name` is a usable entry name: not empty, not absolute, no "." or ".."
// component, no empty component (a trailing '/' marks a directory), no NUL and no
// backslash. The error says which rule it breaks.
Status CheckEntryName(std::string_view name);

// Resolves symlink `target` lexically from the directory of the link entry
// `link_name` and returns the layer path it names ("" for the layer root); an
// error when the target is empty or absolute, or climbs above the layer root.
Result<std::string> ResolveLinkTarget(std::string_view link_name, std::string_view target);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_LAYER_PATH_H_
