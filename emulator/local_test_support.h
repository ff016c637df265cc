// Test-only helpers for the emulator's tests: scratch directories, files, a
// bash custom runtime (curl) to run as a function, and running a program with
// its output captured.
#ifndef ANYSNAP_EMULATOR_LOCAL_TEST_SUPPORT_H_
#define ANYSNAP_EMULATOR_LOCAL_TEST_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "anysnap/child_process.h"
#include "anysnap/environment.h"
#include "anysnap/unique_fd.h"

namespace anysnap::testing {

// The built anysnap-local, which the black-box tests run.
inline const std::string kLocal = std::string(ANYSNAP_BIN_DIR) + "/anysnap-local";

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction. Aborts the test binary when it cannot be made.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `content` to `path` with permission bits `mode`; aborts on failure.
void WriteTestFile(const std::string& path, const std::string& content, int mode = 0644);
// The file's content, or "" when it cannot be read.
std::string ReadTestFile(const std::string& path);

// Writes a bash custom runtime as `dir`/bootstrap. It loops on
// invocation/next and answers according to the event:
//   contains "crash"      exits 3 without answering
//   contains "fail"       posts invocation/{id}/error, type Function.FixtureError
//   contains "hang"       blocks until killed; with FIXTURE_HANG_FIFO=PATH
//                         it first writes "hanging" to that FIFO
//   contains "env"        answers with its environment (`env` output)
//   contains "exit-after" answers, then exits 4
//   contains "exit-when-told"
//                         answers, then (without asking for the next event)
//                         reads a line from the FIFO FIXTURE_EXIT_FIFO names,
//                         then exits 4
//   anything else         answers {"echo":EVENT}
// and to its environment: FIXTURE_INIT_ERROR=1 posts init/error (type
// Runtime.FixtureInitError) and exits 1; FIXTURE_INIT_EXIT=N exits N before
// the first next; FIXTURE_TERM_FILE=PATH makes SIGTERM write "term" there and
// exit 0; FIXTURE_IGNORE_TERM=1 ignores SIGTERM; FIXTURE_PID_FILE=PATH gets
// its pid. It prints "fixture: ..." lines on stdout and stderr.
void WriteBashRuntime(const std::string& dir);

// Makes a FIFO at `path`; aborts on failure.
void MakeFifo(const std::string& path);
// Opens FIFO `path` for writing, which waits for a reader, and writes `line`.
void WriteFifo(const std::string& path, const std::string& line);
// Opens FIFO `path` for reading, which waits for a writer, and reads until
// every writer has closed it.
std::string ReadFifo(const std::string& path);

struct CapturedRun {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Runs `argv` with environment `env` (PATH searched in it), stdin from
// `stdin_path` ("" for /dev/null), and collects stdout and stderr until both
// close and the process ends. Aborts the test binary when it cannot start.
CapturedRun RunCaptured(const std::vector<std::string>& argv, const EnvMap& env,
                        const std::string& stdin_path = "");

// The test binary's own environment.
EnvMap TestEnvironment();

// The criu binary the criu tests use: $ANYSNAP_TEST_CRIU (one built from its
// sources, say), else `criu` on the system's PATH.
std::string TestCriu();

// Waits for a file another process writes (a log) to hold what `done`
// looks for, woken by inotify on every write rather than by a clock; gives up
// when `writer` (if > 0) has ended or after `patience`. Returns the file's
// content as last read.
std::string WaitForFileText(const std::string& path,
                            const std::function<bool(const std::string&)>& done,
                            std::chrono::milliseconds patience, pid_t writer = -1);

// A pipe to learn what a child says: give it write_fd() as its stdout, call
// CloseWriteEnd() once it is spawned, then ReadLine() blocks until the child
// has written a whole line (or returns "" once every writer has gone).
class LinePipe {
 public:
  LinePipe();
  int write_fd() const { return write_.get(); }
  void CloseWriteEnd() { write_.Reset(); }
  std::string ReadLine();

 private:
  UniqueFd read_;
  UniqueFd write_;
  std::string pending_;
};

// A descriptor of process `pid` that becomes readable when it ends (pidfd),
// for processes that are not our children; aborts when it cannot be opened.
UniqueFd WatchProcess(pid_t pid);
// Waits up to `patience` for the process `watch` (WatchProcess) to end.
bool ProcessEnds(const UniqueFd& watch, std::chrono::milliseconds patience);

// One curl answer, as `curl -i` printed it.
struct CurlReply {
  int status = 0;
  std::string head;  // status line and headers (and trailers, for a chunked body)
  std::string body;
};

// `anysnap-local serve --port 0 <flags>` running, its output in a file of its
// own. The constructor returns once serve has said where it listens (a test
// failure if it ends or `patience` passes first); the destructor stops it.
class ServedLocally {
 public:
  ServedLocally(const std::vector<std::string>& flags, std::chrono::milliseconds patience);
  ~ServedLocally();
  ServedLocally(const ServedLocally&) = delete;
  ServedLocally& operator=(const ServedLocally&) = delete;

  const std::string& url() const { return url_; }
  std::string log() const { return ReadTestFile(log_); }
  // The log once it holds `text` `times` times (or when the patience is
  // over): the function's own output reaches it through a pipe, behind the
  // platform's lines.
  std::string LogOnceItHas(const std::string& text, size_t times = 1) const;
  ChildProcess& process() { return process_; }
  // POSTs `event` to url() with curl (`extra` arguments appended).
  CurlReply Invoke(const std::string& event, const std::vector<std::string>& extra = {}) const;

 private:
  ScratchDir dir_;
  std::string log_;
  std::chrono::milliseconds patience_;
  ChildProcess process_;
  std::string url_;
};

// How many times `needle` occurs in `haystack`.
size_t CountOccurrences(const std::string& haystack, const std::string& needle);

}  // namespace anysnap::testing

#endif  // ANYSNAP_EMULATOR_LOCAL_TEST_SUPPORT_H_
