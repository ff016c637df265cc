// anysnap-bench-audit: what the snapshot-safety audit costs an invoke after
// the snapshot, measured side by side in one run: the same function (the
// Python fixture runtime under the built anysnap-wrapper, snap-start) with
// ANYSNAP_AUDIT=off and =log, configurations alternating round by round.
//
// Two events: "echo" (an invoke that makes no watched call: the common case)
// and "files" (one that opens a file N times: each open is a watched call that
// goes through the seccomp notification, answered at once). The clock runs in
// this process around RuntimeApiServer::Invoke(). Prints a Markdown table.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/environment.h"
#include "runtime_api_server.h"
#include "runtime_process.h"

namespace anysnap {
namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string wrapper;
  std::string runtime;
  int rounds = 5;
  int invokes = 400;
  int opens = 20;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Runs one function, invokes `events` in turn `invokes` times each after a
// warm-up, and appends each invoke's microseconds to samples[event].
bool RunOnce(const Args& args, const std::string& audit,
             const std::vector<std::pair<std::string, std::string>>& events,
             std::map<std::string, std::vector<double>>* samples) {
  RuntimeApiServer::Options options;
  options.snap_start = true;
  RuntimeApiServer server(options);
  if (!server.Start({"127.0.0.1", 0}).ok()) return false;
  EnvMap env = EnvFromEnviron(environ);
  env["AWS_LAMBDA_RUNTIME_API"] = server.address().ToString();
  env["AWS_LAMBDA_FUNCTION_NAME"] = "bench";
  env["AWS_LAMBDA_FUNCTION_VERSION"] = "1";
  env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "512";
  env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start";
  env["ANYSNAP_RUNTIME"] = args.runtime;
  env["ANYSNAP_AUDIT"] = audit;
  env["ANYSNAP_AUDIT_REPORT"] = "/tmp/anysnap-bench-audit-" + std::to_string(::getpid()) + ".json";
  env["ANYSNAP_LOG_LEVEL"] = "warn";
  RuntimeProcess wrapper;
  Status started = wrapper.Start({args.wrapper, "/var/lang/bin/java", "bench.Handler"}, env);
  if (!started.ok()) {
    std::fprintf(stderr, "cannot start the wrapper: %s\n", started.message().c_str());
    return false;
  }
  auto invoke = [&](const std::string& body) -> double {
    Invocation inv;
    inv.event = body;
    Clock::time_point start = Clock::now();
    InvocationResult r = server.Invoke(std::move(inv)).get();
    double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    return r.kind == InvocationResult::Kind::kResponse ? us : -1;
  };
  bool ok = true;
  for (int i = 0; i < 50 && ok; ++i) {
    for (const auto& [name, body] : events) ok = ok && invoke(body) >= 0;
  }
  for (int i = 0; i < args.invokes && ok; ++i) {
    for (const auto& [name, body] : events) {
      double us = invoke(body);
      if (us < 0) ok = false;
      (*samples)[name].push_back(us);
    }
  }
  wrapper.Signal(SIGTERM);
  int status;
  for (int i = 0; i < 500 && !wrapper.TryReap(&status); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.Stop();
  return ok;
}

int Main(int argc, char** argv) {
  Args args;
  CLI::App app{"anysnap-bench-audit: invoke latency with the snapshot-safety audit off vs on"};
  app.add_option("--wrapper", args.wrapper, "anysnap-wrapper to run")->required();
  app.add_option("--runtime", args.runtime, "ANYSNAP_RUNTIME of the function")->required();
  app.add_option("--rounds", args.rounds, "rounds (each runs both configurations)");
  app.add_option("--invokes", args.invokes, "timed invokes per event per round");
  app.add_option("--opens", args.opens, "file opens per invoke of the files event");
  CLI11_PARSE(app, argc, argv);

  const std::vector<std::pair<std::string, std::string>> events = {
      {"echo", R"({"n": 1})"},
      {"files", R"({"action": "files", "count": )" + std::to_string(args.opens) + "}"}};
  std::map<std::string, std::map<std::string, std::vector<double>>> samples;  // audit -> event
  for (int round = 0; round < args.rounds; ++round) {
    std::vector<std::string> order = {"off", "log"};
    if (round % 2 == 1) std::reverse(order.begin(), order.end());
    for (const std::string& audit : order) {
      if (!RunOnce(args, audit, events, &samples[audit])) {
        std::fprintf(stderr, "round %d, audit %s failed\n", round + 1, audit.c_str());
        return 1;
      }
    }
  }
  std::printf(
      "| event | audit off med / p99 µs | audit log med / p99 µs | added med µs | added per "
      "watched call µs |\n|---|---:|---:|---:|---:|\n");
  for (const auto& [name, body] : events) {
    const auto& off = samples["off"][name];
    const auto& on = samples["log"][name];
    double added = Percentile(on, 0.5) - Percentile(off, 0.5);
    std::string per_call = "—";
    if (name == "files") {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.1f", added / args.opens);
      per_call = buf;
    }
    std::printf("| %s | %.0f / %.0f | %.0f / %.0f | %+.0f | %s |\n",
                name == "files" ? ("files (" + std::to_string(args.opens) + " opens)").c_str()
                                : name.c_str(),
                Percentile(off, 0.5), Percentile(off, 0.99), Percentile(on, 0.5),
                Percentile(on, 0.99), added, per_call.c_str());
  }
  std::printf("\n%zu timed invokes per event per configuration.\n", samples["off"]["echo"].size());
  return 0;
}

}  // namespace
}  // namespace anysnap

int main(int argc, char** argv) { return anysnap::Main(argc, argv); }
