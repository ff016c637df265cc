// anysnap-wrapper: the exec wrapper Lambda runs as
//   anysnap-wrapper <interpreter> <original args...>
// See wrapper.h for what it does and its exit statuses.
#include <signal.h>

#include <string>
#include <vector>

#include "anysnap/upstream_client.h"
#include "wrapper.h"

extern char** environ;

int main(int argc, char** argv) {
  // Blocked before any thread exists, so they all arrive at RunWrapper's
  // sigwaitinfo; the runtime host gets a clean mask back.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD})
    sigaddset(&signals, s);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv, argv + argc);
  return anysnap::RunWrapper(args, environ);
}
