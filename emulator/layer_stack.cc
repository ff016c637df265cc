#include "layer_stack.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "layer/layer_unpack.h"

namespace anysnap {

namespace {

namespace fs = std::filesystem;

// Puts `from` (a file, symlink or folder) at `to`, merging folders and
// replacing anything else. Moves when `move` (same file system: a rename),
// copies otherwise; `bytes` counts the regular files' sizes.
Status Merge(const fs::path& from, const fs::path& to, bool move, uint64_t& bytes) {
  std::error_code ec;
  fs::file_status from_status = fs::symlink_status(from, ec);
  if (ec) return Status::IoError("stat " + from.string() + ": " + ec.message());
  fs::file_status to_status = fs::symlink_status(to, ec);
  bool to_exists = fs::exists(to_status);
  if (fs::is_directory(from_status)) {
    if (to_exists && !fs::is_directory(to_status)) fs::remove(to, ec);
    fs::create_directories(to, ec);
    if (ec) return Status::IoError("mkdir " + to.string() + ": " + ec.message());
    fs::permissions(to, fs::status(from).permissions(), ec);
    for (const auto& entry : fs::directory_iterator(from, ec)) {
      ANYSNAP_RETURN_IF_ERROR(Merge(entry.path(), to / entry.path().filename(), move, bytes));
    }
    if (ec) return Status::IoError("list " + from.string() + ": " + ec.message());
    return Status::Ok();
  }
  if (to_exists) fs::remove_all(to, ec);  // a later layer's entry replaces the earlier one
  if (fs::is_regular_file(from_status)) bytes += fs::file_size(from, ec);
  if (move) {
    if (::rename(from.c_str(), to.c_str()) != 0) return PosixError("move " + from.string(), errno);
    return Status::Ok();
  }
  if (fs::is_symlink(from_status)) {
    fs::copy_symlink(from, to, ec);
  } else if (fs::is_regular_file(from_status)) {
    fs::copy_file(from, to, ec);
  } else {
    return Status::InvalidArgument(from.string() + ": not a file, folder or symlink");
  }
  if (ec) return Status::IoError("copy " + from.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

LayerStack::~LayerStack() {
  if (!owned_.empty()) {
    std::error_code ec;
    fs::remove_all(owned_, ec);
  }
}

Status LayerStack::Build(const std::vector<std::string>& layers, uint64_t max_bytes) {
  if (layers.size() > kMaxFunctionLayers) {
    return Status::InvalidArgument(std::to_string(layers.size()) +
                                   " layers: Lambda takes at most " +
                                   std::to_string(kMaxFunctionLayers) + " per function");
  }
  if (layers.empty()) return Status::Ok();
  std::error_code ec;
  for (const std::string& layer : layers) {
    if (!fs::exists(layer, ec))
      return Status::NotFound("--layer " + layer + ": no such file or folder");
  }
  if (layers.size() == 1 && fs::is_directory(layers[0], ec)) {
    dir_ = fs::canonical(layers[0], ec).string();
    return Status::Ok();
  }
  std::string tmp = (fs::temp_directory_path(ec) / "anysnap-layers-XXXXXX").string();
  if (::mkdtemp(tmp.data()) == nullptr) return PosixError("mkdtemp " + tmp, errno);
  owned_ = tmp;
  fs::path opt = fs::path(tmp) / "opt";
  fs::create_directory(opt, ec);
  if (ec) return Status::IoError("mkdir " + opt.string() + ": " + ec.message());
  ::chmod(opt.c_str(), 0755);
  uint64_t bytes = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string& layer = layers[i];
    if (fs::is_directory(layer, ec)) {
      ANYSNAP_RETURN_IF_ERROR(Merge(layer, opt, false, bytes).WithContext("--layer " + layer));
    } else {
      fs::path unpacked = fs::path(tmp) / ("layer-" + std::to_string(i));
      fs::create_directory(unpacked, ec);
      if (ec) return Status::IoError("mkdir " + unpacked.string() + ": " + ec.message());
      ANYSNAP_RETURN_IF_ERROR(
          layer::UnpackLayerZip(layer, unpacked.string(), max_bytes).WithPrefix("--layer "));
      ANYSNAP_RETURN_IF_ERROR(Merge(unpacked, opt, true, bytes).WithContext("--layer " + layer));
      fs::remove_all(unpacked, ec);
    }
    if (bytes > max_bytes) {
      return Status::TooLarge("--layer " + layer + ": the layers hold " + std::to_string(bytes) +
                              " bytes unzipped, over Lambda's " + std::to_string(max_bytes) +
                              " for a function's layers");
    }
  }
  dir_ = opt.string();
  return Status::Ok();
}

}  // namespace anysnap
