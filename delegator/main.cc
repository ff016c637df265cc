// anysnap-delegator: the Runtime API proxy on its own, e.g. as a container
// image's entrypoint companion. Serves until SIGTERM or SIGINT.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>

#include "anysnap/log.h"
#include "delegator.h"

int main(int argc, char** argv) {
  using namespace anysnap;
  CLI::App app{"anysnap-delegator: a transparent proxy of the Lambda Runtime API"};
  std::string listen = "127.0.0.1:9002";
  std::string upstream;
  bool allow_non_loopback = false;
  std::string log_level = "info";
  app.add_option("--listen", listen, "address to serve on (loopback only unless forced)")
      ->capture_default_str();
  app.add_option("--upstream", upstream, "the real Runtime API, host:port")
      ->envname("AWS_LAMBDA_RUNTIME_API")
      ->required();
  app.add_flag("--allow-non-loopback", allow_non_loopback,
               "listen on a non-loopback address (exposes the Runtime API)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto level = ParseLogLevel(log_level);
  if (!level) {
    std::fprintf(stderr, "anysnap-delegator: --log-level \"%s\" is not a level\n",
                 log_level.c_str());
    return 2;
  }
  Log().Configure("anysnap-delegator", *level, LogFormat::kText);

  DelegatorOptions options;
  auto listen_hp = ParseHostPort(listen);
  auto upstream_hp = ParseHostPort(upstream);
  if (!listen_hp.ok() || !upstream_hp.ok()) {
    Log().Error(!listen_hp.ok() ? "--listen: " + listen_hp.status().message()
                                : "--upstream: " + upstream_hp.status().message());
    return 2;
  }
  options.listen = *listen_hp;
  options.upstream = *upstream_hp;
  options.allow_non_loopback = allow_non_loopback;

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts

  auto delegator = Delegator::Start(options);
  if (!delegator.ok()) {
    Log().Error(delegator.status().message());
    return 1;
  }
  Log().Info("serving the Runtime API on " + (*delegator)->address().ToString() + " for " +
             options.upstream.ToString());
  int sig = 0;
  sigwait(&stop_signals, &sig);
  Log().Info(std::string("stopping on ") + strsignal(sig));
  (*delegator)->Stop();
  return 0;
}
