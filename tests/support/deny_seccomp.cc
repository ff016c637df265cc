// deny-seccomp COMMAND [ARGS...]: runs COMMAND where seccomp(2) and
// prctl(PR_SET_SECCOMP) fail with EPERM, as on a platform that refuses
// filters, to test that anysnap's audit degrades to a warning.
#include <errno.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: deny-seccomp COMMAND [ARGS...]\n");
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(seccomp), 0) != 0 ||
      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 1,
                       SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP)) != 0 ||
      seccomp_load(ctx) != 0) {
    std::perror("deny-seccomp: installing the filter");
    return 2;
  }
  seccomp_release(ctx);
  execvp(argv[1], argv + 1);
  std::perror("deny-seccomp: exec");
  return 127;
}
