#include "layer/test_elf.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "layer/test_command.h"

namespace anysnap::layer {

Result<std::string> CompileC(const std::string& dir, const std::string& name,
                             const std::string& source, const std::vector<std::string>& flags) {
  std::string src = dir + "/" + name + ".c";
  std::string out = dir + "/" + name;
  ANYSNAP_RETURN_IF_ERROR(WriteFile(src, source));
  std::vector<std::string> argv = {"cc", "-O1", "-o", out, src};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto run = RunCommand(argv);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) return Status::Internal("cc " + name + ": " + run->err);
  return out;
}

Status CopyWithMachine(const std::string& from, const std::string& to, uint16_t machine) {
  auto bytes = ReadFile(from);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() < 20) return Status::InvalidArgument(from + ": too short for ELF");
  // e_machine is at offset 18 in both classes; little-endian here.
  (*bytes)[18] = static_cast<char>(machine & 0xff);
  (*bytes)[19] = static_cast<char>(machine >> 8);
  return WriteFile(to, *bytes, 0755);
}

Status WriteFile(const std::string& path, const std::string& bytes, unsigned mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) return Status::IoError("write " + path);
  }
  if (::chmod(path.c_str(), mode) != 0) return PosixError("chmod " + path, errno);
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace anysnap::layer
