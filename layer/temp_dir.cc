#include "layer/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace anysnap::layer {

Result<TempDir> TempDir::Create(std::string_view prefix, std::string_view parent) {
  std::string base(parent);
  if (base.empty()) {
    std::error_code ec;
    base = std::filesystem::temp_directory_path(ec).string();
    if (ec) base = "/tmp";
  }
  std::string templ = base + "/" + std::string(prefix) + "XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return PosixError("mkdtemp " + templ, errno);
  std::error_code ec;
  std::string path = std::filesystem::absolute(buf.data(), ec).string();
  if (ec) path = buf.data();
  return TempDir(std::move(path));
}

TempDir::~TempDir() { Remove(); }

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

void TempDir::Remove() {
  if (path_.empty()) return;
  std::error_code ec;  // best effort: a destructor has no one to tell
  std::filesystem::remove_all(path_, ec);
  path_.clear();
}

}  // namespace anysnap::layer
