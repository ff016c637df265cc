// anysnap-bench-probe: the runtime host of `anysnap-bench-system exec`. Its
// first act is to read CLOCK_MONOTONIC and write it (nanoseconds, one line) to
// stdout; then it waits to be killed. Linked statically, so the time from its
// exec to that first clock read is a few dozen µs of kernel work, the same
// under every wrapper measured.
#include <time.h>
#include <unistd.h>

#include <cstdio>

int main() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[32];
  int n = std::snprintf(line, sizeof(line), "%lld\n",
                        static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  if (write(STDOUT_FILENO, line, static_cast<size_t>(n)) != n) return 1;
  for (;;) pause();
}
