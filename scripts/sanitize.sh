#!/bin/sh
# Builds and runs the test suite under the sanitizers, each in a build
# directory of its own:
#   asan  build-asan/, ASan + UBSan (-DANYSNAP_SANITIZE=ON): the unit tests of
#         the core, delegator, wrapper, layer and Runtime API server, the
#         emulator's tests (run, serve, compare: the sanitized anysnap-local),
#         the black-box tests of the wrapper, the lifecycle and the audit (its
#         supervisor thread included), the samples' test, the fault, security
#         and soak tests. The black-box tests run the sanitized anysnap-wrapper,
#         so LeakSanitizer checks it at every exit.
#   tsan  build-tsan/, ThreadSanitizer (-DANYSNAP_TSAN=ON): the threaded parts
#         (HTTP server, upstream client, delegator, hook channel, lifecycle,
#         the Runtime API server), the emulator's tests (the anysnap-local they
#         run is built with TSan), the black-box tests of the wrapper, the
#         lifecycle and the audit (its supervisor thread), the samples' test
#         and the fault tests: the wrapper runs under TSan in all of them.
# Any sanitizer report fails the test that caused it, hence the script.
#
# Usage: scripts/sanitize.sh [asan] [tsan]   (both by default)
set -eu
cd "$(dirname "$0")/.."
kinds=${*:-"asan tsan"}
jobs=2

# ccache, when installed, keeps rebuilds of unchanged files cheap.
launcher=""
command -v ccache >/dev/null 2>&1 && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"

# run DIR OPTION TARGETS...: configure, build only TARGETS, run their tests.
run() {
  dir=$1 option=$2
  shift 2
  # shellcheck disable=SC2086 # $launcher is two words or none
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$option" -DANYSNAP_WERROR=ON \
    -DANYSNAP_BUILD_BENCH=OFF $launcher >/dev/null
  cmake --build "$dir" -j "$jobs" --target "$@" >/dev/null
  # Targets not built here register as *_NOT_BUILT; the hook clients'
  # tests run no anysnap code; the conformance suite runs build/'s binaries.
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" -E 'NOT_BUILT|^hooks_|^conformance_'
}

for kind in $kinds; do
  case "$kind" in
    asan)
      # halt_on_error: a report is a failure, not a warning; the soak run is
      # shorter here (its memory check is off under ASan, its leak check on).
      ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ANYSNAP_SOAK_INVOCATIONS=2000 \
        run build-asan -DANYSNAP_SANITIZE=ON anysnap-wrapper anysnap-delegator anysnap-layer \
          anysnap_reseed_node anysnap-local anysnap-plain-runtime deny-seccomp core_test \
          delegator_test lifecycle_test hook_channel_test wrapper_test layer_test \
          runtime_api_server_test local_run_test local_serve_test config_hostile_test fault_test \
          fault_blackbox_test security_test wrapper_blackbox_test lifecycle_blackbox_test \
          audit_blackbox_test reseed_blackbox_test samples_test soak_test
      ;;
    tsan)
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        run build-tsan -DANYSNAP_TSAN=ON anysnap-wrapper anysnap-delegator anysnap-layer \
          anysnap_reseed_node anysnap-local anysnap-plain-runtime deny-seccomp core_test \
          delegator_test lifecycle_test hook_channel_test runtime_api_server_test local_run_test \
          local_serve_test fault_test lifecycle_blackbox_test wrapper_blackbox_test \
          fault_blackbox_test audit_blackbox_test reseed_blackbox_test samples_test
      ;;
    *) echo "sanitize: unknown kind $kind (asan, tsan)" >&2; exit 2 ;;
  esac
done
