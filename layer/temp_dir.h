// TempDir owns a fresh directory made with mkdtemp and removes it, with all it
// holds, when destroyed. Move-only.
#ifndef ANYSNAP_LAYER_TEMP_DIR_H_
#define ANYSNAP_LAYER_TEMP_DIR_H_

#include <string>
#include <string_view>

#include "anysnap/status.h"

namespace anysnap::layer {

class TempDir {
 public:
  // Makes "<parent>/<prefix>XXXXXX"; an empty parent means the system's temporary
  // directory ($TMPDIR, else /tmp).
  static Result<TempDir> Create(std::string_view prefix, std::string_view parent = {});

  TempDir() = default;
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory's absolute path; empty for a moved-from or default TempDir.
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  void Remove();

  std::string path_;
};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_TEMP_DIR_H_
