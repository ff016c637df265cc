// anysnap-bench-reseed: what the reseed after restore adds between the
// restore and the runtime's first forwarded invocation/next, measured side by
// side in one run: the same function under the built anysnap-wrapper
// (snap-start) with ANYSNAP_RESEED=auto and =off, configurations alternating
// round by round, for Node.js (AWS's aws-lambda-ric; the function registers
// in-process hooks, so the next is held in both configurations) and Python
// (AWS's awslambdaric, which calls restore/next itself).
//
// Each round is one environment: init, the snapshot point (restore/next,
// answered at once by the project's Runtime API server), one invoke. The time
// is read from the server's own call log: from the moment it answered
// restore/next to the moment the first invocation/next reached it. With the
// reseed on, the delegator's own timing of the reseed step ("reseeded after
// restore in X ms") is read from the wrapper's log too: the part of that time
// the reseed takes, free of the rest of the restore path's noise. Prints a
// Markdown table.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/environment.h"
#include "runtime_api_server.h"
#include "runtime_process.h"

namespace anysnap {
namespace {

struct Args {
  std::string wrapper;
  std::string source;  // the source tree (fixtures, hook clients)
  std::string build;   // the build tree (node_modules, python-deps, reseed)
  int rounds = 15;
};

struct Function {
  std::string name;
  EnvMap env;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Sample {
  double restore_to_next_us = -1;
  double reseed_step_us = -1;  // as the delegator logged it; -1 when not logged
};

// The "reseeded after restore in X ms" of a wrapper log, in µs, or -1.
double ReseedStep(const std::string& log_path) {
  std::ifstream in(log_path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string log = text.str();
  const std::string mark = "reseeded after restore in ";
  size_t at = log.find(mark);
  if (at == std::string::npos) return -1;
  return std::stod(log.substr(at + mark.size())) * 1000;
}

// One environment of `fn` with ANYSNAP_RESEED=`reseed`.
Sample RunOnce(const Args& args, const Function& fn, const std::string& reseed) {
  Sample sample;
  RuntimeApiServer::Options options;
  options.snap_start = true;
  options.auto_restore = true;
  RuntimeApiServer server(options);
  if (!server.Start({"127.0.0.1", 0}).ok()) return sample;
  const std::string log_path = "/tmp/anysnap-bench-reseed-" + std::to_string(::getpid()) + ".log";
  EnvMap env = EnvFromEnviron(environ);
  for (const auto& [key, value] : fn.env) env[key] = value;
  env["AWS_LAMBDA_RUNTIME_API"] = server.address().ToString();
  env["AWS_LAMBDA_FUNCTION_NAME"] = "bench";
  env["AWS_LAMBDA_FUNCTION_VERSION"] = "1";
  env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "512";
  env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start";
  env["ANYSNAP_RESEED"] = reseed;
  env["ANYSNAP_LOG_LEVEL"] = "info";
  env["BENCH_WRAPPER_LOG"] = log_path;
  RuntimeProcess wrapper;
  Status started = wrapper.Start({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$BENCH_WRAPPER_LOG\"",
                                  args.wrapper, "/var/lang/bin/java", "bench.Handler"},
                                 env);
  if (!started.ok()) {
    std::fprintf(stderr, "cannot start the wrapper: %s\n", started.message().c_str());
    return sample;
  }
  Invocation inv;
  inv.event = "{}";
  InvocationResult r = server.Invoke(std::move(inv)).get();
  if (r.kind == InvocationResult::Kind::kResponse) {
    std::chrono::steady_clock::time_point restored{};
    for (const RuntimeApiCall& call : server.calls()) {
      if (call.path == "/2018-06-01/runtime/restore/next") restored = call.answered;
      if (call.path == "/2018-06-01/runtime/invocation/next" &&
          restored != std::chrono::steady_clock::time_point{}) {
        sample.restore_to_next_us =
            std::chrono::duration<double, std::micro>(call.received - restored).count();
        break;
      }
    }
  } else {
    std::fprintf(stderr, "%s, ANYSNAP_RESEED=%s: the invoke failed: %s\n", fn.name.c_str(),
                 reseed.c_str(), r.body.c_str());
  }
  wrapper.Signal(SIGTERM);
  int status;
  for (int i = 0; i < 500 && !wrapper.TryReap(&status); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.Stop();
  sample.reseed_step_us = ReseedStep(log_path);
  std::remove(log_path.c_str());
  return sample;
}

int Main(int argc, char** argv) {
  Args args;
  CLI::App app{"anysnap-bench-reseed: restore to the first forwarded next, reseed auto vs off"};
  app.add_option("--wrapper", args.wrapper, "anysnap-wrapper to run")->required();
  app.add_option("--source", args.source, "the anysnap source tree")->required();
  app.add_option("--build", args.build, "the build tree (node_modules, python-deps)")->required();
  app.add_option("--rounds", args.rounds, "rounds (each runs both configurations)");
  CLI11_PARSE(app, argc, argv);

  const std::string fixtures = args.source + "/tests/fixtures/reseed";
  const std::vector<Function> functions = {
      {"Node.js (aws-lambda-ric)",
       {{"LAMBDA_TASK_ROOT", fixtures + "/nodejs"},
        {"ANYSNAP_RUNTIME",
         "node " + args.build + "/node_modules/aws-lambda-ric/index.mjs index.handler"},
        {"NODE_PATH", args.source + "/samples/hooks/nodejs"},
        {"RESEED_ADDON", args.build + "/reseed/nodejs/anysnap_reseed.node"},
        {"_HANDLER", "index.handler"}}},
      {"Python (awslambdaric)",
       {{"LAMBDA_TASK_ROOT", fixtures + "/python"},
        {"ANYSNAP_RUNTIME", "python3 -m awslambdaric handler.handler"},
        {"PYTHONPATH", args.build + "/python-deps:" + fixtures + "/python"},
        {"PYTHONDONTWRITEBYTECODE", "1"}}},
  };
  std::map<std::string, std::map<std::string, std::vector<double>>> samples;  // fn -> reseed
  std::map<std::string, std::vector<double>> steps;                           // fn
  for (int round = 0; round < args.rounds; ++round) {
    std::vector<std::string> order = {"off", "auto"};
    if (round % 2 == 1) std::reverse(order.begin(), order.end());
    for (const Function& fn : functions) {
      for (const std::string& reseed : order) {
        Sample sample = RunOnce(args, fn, reseed);
        if (sample.restore_to_next_us < 0) {
          std::fprintf(stderr, "round %d, %s, ANYSNAP_RESEED=%s failed\n", round + 1,
                       fn.name.c_str(), reseed.c_str());
          return 1;
        }
        samples[fn.name][reseed].push_back(sample.restore_to_next_us);
        if (reseed == "auto" && sample.reseed_step_us >= 0)
          steps[fn.name].push_back(sample.reseed_step_us);
      }
    }
  }
  std::printf(
      "| runtime | reseed off: median / p90 µs | reseed auto: median / p90 µs | added, median "
      "µs | budget | the reseed step as the delegator timed it: median / p90 µs "
      "|\n|---|---:|---:|---:|---|---:|\n");
  for (const Function& fn : functions) {
    const auto& off = samples[fn.name]["off"];
    const auto& on = samples[fn.name]["auto"];
    double added = Percentile(on, 0.5) - Percentile(off, 0.5);
    std::printf("| %s | %.0f / %.0f | %.0f / %.0f | %+.0f | ≤ 1000 µs: %s | %.0f / %.0f |\n",
                fn.name.c_str(), Percentile(off, 0.5), Percentile(off, 0.9), Percentile(on, 0.5),
                Percentile(on, 0.9), added, added <= 1000 ? "pass" : "FAIL",
                Percentile(steps[fn.name], 0.5), Percentile(steps[fn.name], 0.9));
  }
  std::printf("\n%d restores per runtime per configuration.\n", args.rounds);
  return 0;
}

}  // namespace
}  // namespace anysnap

int main(int argc, char** argv) { return anysnap::Main(argc, argv); }
