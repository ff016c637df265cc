#include "layer/layer_path.h"

#include <vector>

namespace anysnap::layer {

namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

Status CheckEntryName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty path");
  if (name.front() == '/') return Status::InvalidArgument("absolute path");
  if (name.find('\0') != std::string_view::npos) return Status::InvalidArgument("NUL in path");
  if (name.find('\\') != std::string_view::npos) {
    return Status::InvalidArgument("backslash in path");
  }
  std::string_view body = name;
  if (body.back() == '/') body.remove_suffix(1);
  for (std::string_view part : Split(body)) {
    if (part == "..") return Status::InvalidArgument("\"..\" in path");
    if (part == ".") return Status::InvalidArgument("\".\" in path");
    if (part.empty()) return Status::InvalidArgument("empty component in path");
  }
  return Status::Ok();
}

Result<std::string> ResolveLinkTarget(std::string_view link_name, std::string_view target) {
  if (target.empty()) return Status::InvalidArgument("empty symlink target");
  if (target.front() == '/') {
    return Status::InvalidArgument("absolute symlink target " + std::string(target));
  }
  std::vector<std::string_view> resolved = Split(link_name);
  resolved.pop_back();  // the link itself: resolution starts in its directory
  for (std::string_view part : Split(target)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (resolved.empty()) {
        return Status::InvalidArgument("symlink target " + std::string(target) +
                                       " escapes the layer");
      }
      resolved.pop_back();
    } else {
      resolved.push_back(part);
    }
  }
  std::string out;
  for (std::string_view part : resolved) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

}  // namespace anysnap::layer
