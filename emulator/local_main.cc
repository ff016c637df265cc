// anysnap-local: a local Lambda. `serve`, `compare` and `run` set a function
// up with FunctionSetup and run it on one engine, LocalFunction, the way
// Lambda's java21 managed runtime does (through anysnap-wrapper, the exec
// wrapper); `invoke` is a client of `serve`; `sandbox-init` (hidden) starts
// each environment's tree. This file only reads command lines.
//
// `run` output: the platform's lines and the function's own stdout and stderr
// go to stderr (the log stream); each invoke's response or error document
// goes to stdout, one per line. Exit status: 0 when every invoke succeeded, 1
// when one failed, 2 for a usage or setup error.
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/http_server.h"
#include "anysnap/log.h"
#include "anysnap/upstream_client.h"
#include "clone_check.h"
#include "compare.h"
#include "function_setup.h"
#include "invoke_endpoint.h"
#include "local_run.h"
#include "sandbox.h"

namespace anysnap {
namespace {

constexpr int kExitFailedInvoke = 1;
constexpr int kExitUsage = 2;

// Set by SIGINT/SIGTERM; the run polls it.
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void OnStopSignal(int) { g_stop_requested.store(true, std::memory_order_relaxed); }

void Write(FILE* to, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), to);
  std::fflush(to);
}

int Fail(const std::string& message) {
  Write(stderr, "anysnap-local: " + message + "\n");
  return kExitUsage;
}

Result<std::string> ReadEvent(const std::string& source) {
  if (source == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return Status::IoError("--event -: reading stdin failed");
    return text;
  }
  auto text = ReadWholeFile(source);
  if (!text.ok()) return text.status().WithContext("--event");
  return text;
}

// Flags shared by serve, compare and run: the function and how it runs.
void AddFunctionFlags(CLI::App* cmd, FunctionFlags& f, bool with_init_type) {
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--task-root", f.task_root, "The function's folder, mounted at /var/task")
      ->required();
  cmd->add_option("--layer", f.layers,
                  "A layer, a zip or an unpacked folder; up to 5, merged into /opt in order, a "
                  "later layer's file replacing an earlier one's, as Lambda does. The exec "
                  "wrapper is /opt/anysnap/bin/anysnap-wrapper (default: the template's Layers, "
                  "else none and the anysnap-wrapper next to this program)")
      ->type_name("ZIP_OR_DIR")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  if (with_init_type) {
    cmd->add_option("--init-type", f.init_type,
                    "on-demand: init at the first invoke (or at start with --eager-init); "
                    "snap-start: init and snapshot at start, a restore for each new environment")
        ->check(CLI::IsMember({"on-demand", "snap-start"}))
        ->capture_default_str();
  }
  cmd->add_option("--snapshot", f.snapshot,
                  "Snapshot backend for snap-start: criu (a real checkpoint and restore; needs "
                  "`criu check` to pass) or freeze (cgroup v2 freezer: models the lifecycle, not "
                  "memory restore). Default: criu when usable, else freeze")
      ->check(CLI::IsMember({"criu", "freeze"}));
  cmd->add_option("--criu", f.criu, "The criu binary")->capture_default_str();
  cmd->add_option("--env", f.env,
                  "A variable of the function's environment; repeatable, wins "
                  "over --env-file and --template")
      ->type_name("KEY=VALUE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--env-file", f.env_files, "A file of KEY=VALUE lines; repeatable")
      ->type_name("FILE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--template", f.template_file,
                  "A SAM template.yaml: the function's Environment.Variables, Timeout, MemorySize "
                  "and Handler (with Globals.Function)")
      ->type_name("FILE");
  cmd->add_option("--function", f.template_function, "The function's logical id in --template")
      ->type_name("NAME");
  cmd->add_flag("--no-wrapper", f.no_wrapper,
                "Start the runtime host that ANYSNAP_RUNTIME names directly, without the exec "
                "wrapper");
  cmd->add_flag("--no-namespaces", f.no_namespaces,
                "Run the function in this machine's namespaces even when private ones are "
                "permitted");
  cmd->add_option("--function-name", f.function_name,
                  "AWS_LAMBDA_FUNCTION_NAME (default: the task root's folder name)");
  cmd->add_option("--handler", f.handler, "_HANDLER (default: the template's, else index.handler)");
  cmd->add_option("--memory", f.memory_mb,
                  "Memory size in MB (default: AWS_LAMBDA_FUNCTION_MEMORY_SIZE, the template's, "
                  "else 128)")
      ->check(CLI::Range(128, 10240));
  cmd->add_option("--region", f.region, "AWS_REGION")->capture_default_str();
  cmd->add_option("--timeout", f.timeout_s,
                  "Function timeout in seconds (default: AWS_LAMBDA_FUNCTION_TIMEOUT from the "
                  "function's or this program's environment, the template's Timeout, else 300)")
      ->check(CLI::Range(0.001, 900.0));
  cmd->add_option("--init-timeout", f.init_timeout_s, "Longest on-demand init in seconds")
      ->check(CLI::Range(0.001, 900.0))
      ->capture_default_str();
}

struct RunFlags {
  FunctionFlags function;
  std::vector<std::string> events;
  int count = 1;
  std::string log_level = "warn";
};

void AddRunFlags(CLI::App* run, RunFlags& f) {
  AddFunctionFlags(run, f.function, /*with_init_type=*/true);
  run->add_option("--event", f.events,
                  "A file holding one event, or - for stdin; repeatable (default: one {})")
      ->type_name("FILE|-")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--count", f.count, "Send each event this many times")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  run->add_option("--log-level", f.log_level, "anysnap-local's own log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
}

int Run(const RunFlags& f) {
  if (auto level = ParseLogLevel(f.log_level)) Log().set_level(*level);
  FunctionSetup setup;
  Status built = setup.Build(f.function, EnvFromEnviron(environ), ProgramDirectory());
  if (!built.ok()) return Fail(built.message());

  LocalRunOptions options;
  std::vector<std::string> sources = f.events;
  if (std::count(sources.begin(), sources.end(), "-") > 1) {
    return Fail("--event -: stdin can be read only once");
  }
  std::vector<std::string> bodies;
  if (sources.empty()) bodies.push_back("{}");
  for (const std::string& source : sources) {
    auto body = ReadEvent(source);
    if (!body.ok()) return Fail(body.status().message());
    bodies.push_back(std::move(*body));
  }
  for (const std::string& body : bodies) {
    for (int i = 0; i < f.count; ++i) options.events.push_back(body);
  }

  for (const std::string& note : setup.notes()) Write(stderr, "anysnap-local: " + note + "\n");
  options.function = setup.options();
  options.function.environment.output_fd = STDERR_FILENO;
  options.function.stop_grace = std::chrono::seconds(2);
  options.function.on_log = [](std::string_view line) { Write(stderr, line); };
  options.on_outcome = [](const InvokeResult& outcome) {
    std::string text = outcome.body;
    if (text.empty() || text.back() != '\n') text += '\n';
    Write(stdout, text);
  };
  options.stop_requested = &g_stop_requested;

  auto result = RunLocally(options);
  if (!result.ok()) return Fail(result.status().message());
  size_t succeeded = 0;
  for (const InvokeResult& o : result->invokes) succeeded += o.ok ? 1 : 0;
  std::string summary = "anysnap-local: " + std::to_string(succeeded) + " of " +
                        std::to_string(options.events.size()) + " invokes succeeded";
  if (result->interrupted) summary += " (interrupted)";
  Write(stderr, summary + "\n");
  return result->all_succeeded(options.events.size()) ? 0 : kExitFailedInvoke;
}

struct ServeFlags {
  FunctionFlags function;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string log_level = "warn";
};

int Serve(ServeFlags& flags) {
  if (auto level = ParseLogLevel(flags.log_level)) Log().set_level(*level);
  FunctionSetup setup;
  Status built = setup.Build(flags.function, EnvFromEnviron(environ), ProgramDirectory());
  if (!built.ok()) return Fail(built.message());
  LocalFunctionOptions& options = setup.options();
  options.environment.output_fd = STDERR_FILENO;
  options.on_log = [](std::string_view line) { Write(stderr, line); };

  LocalFunction function(options);
  InvokeEndpoint endpoint(&function);
  HttpServer http(&endpoint);
  Status listening = http.Listen(HostPort{flags.host, static_cast<uint16_t>(flags.port)});
  if (!listening.ok()) {
    return Fail("--port " + std::to_string(flags.port) + ": " + listening.message());
  }
  for (const std::string& note : setup.notes()) Write(stderr, "anysnap-local: " + note + "\n");
  InitFailure failure;
  Status started = function.Start(&failure);
  if (!started.ok()) {
    Write(stderr, "anysnap-local: " + started.message() +
                      (failure.body.empty() ? "" : ": " + failure.body) + "\n");
    return kExitFailedInvoke;
  }
  http.Start();
  Write(stderr, "anysnap-local: serving " + options.environment.function.function_name + " (" +
                    (options.snap_start
                         ? "snap-start, " + std::string(function.backend()->name()) + " backend"
                         : std::string("on-demand")) +
                    ") at http://" + http.address().ToString() + std::string(kInvokePath) + "\n");
  while (!g_stop_requested.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Write(stderr, "anysnap-local: stopping\n");
  http.Stop();
  function.Stop();
  return 0;
}

struct InvokeFlags {
  std::string address = "127.0.0.1:8080";
  std::string function = "function";
  std::string event;
};

// One invoke of a running `anysnap-local serve` (or any Runtime Interface
// Emulator): the response body to stdout; a failed invoke (X-Amz-Function-Error)
// also says so on stderr and exits 1.
int Invoke(const InvokeFlags& flags) {
  auto address = ParseHostPort(flags.address);
  if (!address.ok()) return Fail("--address " + flags.address + ": " + address.status().message());
  std::string event = "{}";
  if (!flags.event.empty()) {
    auto text = ReadEvent(flags.event);
    if (!text.ok()) return Fail(text.status().message());
    event = std::move(*text);
  }
  UpstreamClient client(*address);
  auto r = client.Call("POST", "/2015-03-31/functions/" + flags.function + "/invocations",
                       {{"Content-Type", "application/json"}}, event);
  if (!r.ok()) return Fail("invoking " + flags.address + ": " + r.status().message());
  std::fwrite(r->body.data(), 1, r->body.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (r->status != 200) {
    Write(stderr, "anysnap-local: the endpoint answered " + std::to_string(r->status) + "\n");
    return 1;
  }
  if (const std::string* error = FindHeader(r->headers, "X-Amz-Function-Error")) {
    Write(stderr, "anysnap-local: the invoke failed (X-Amz-Function-Error: " + *error + ")\n");
    return 1;
  }
  return 0;
}

struct CompareFlags {
  FunctionFlags function;
  int runs = 10;
  std::string event;
  std::string chart = "anysnap-compare.svg";
};

// What compare and check share: the snap-start function (its backend chosen
// for it) and the event, read before anything runs.
Status SetUpRuns(FunctionFlags& function, const std::string& event_source, FunctionSetup& setup,
                 std::string& event) {
  Log().set_level(LogLevel::kWarn);
  function.init_type = "snap-start";
  ANYSNAP_RETURN_IF_ERROR(setup.Build(function, EnvFromEnviron(environ), ProgramDirectory()));
  event = "{}";
  if (!event_source.empty()) {
    auto text = ReadEvent(event_source);
    if (!text.ok()) return text.status();
    event = std::move(*text);
  }
  return Status::Ok();
}

// The function's output and the platform's lines would drown what is printed.
LocalFunctionOptions QuietOptions(FunctionSetup& setup) {
  for (const std::string& note : setup.notes()) Write(stderr, "anysnap-local: " + note + "\n");
  LocalFunctionOptions options = setup.options();
  options.environment.output_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  options.on_log = nullptr;
  return options;
}

int Compare(CompareFlags& flags) {
  FunctionSetup setup;
  std::string event;
  Status ready = SetUpRuns(flags.function, flags.event, setup, event);
  if (!ready.ok()) return Fail(ready.message());
  LocalFunctionOptions options = QuietOptions(setup);
  Write(stderr, "anysnap-local: " + std::to_string(flags.runs) + " cold runs, then " +
                    std::to_string(flags.runs) + " restored runs\n");
  auto result = RunCompare(options, flags.runs, event);
  ::close(options.environment.output_fd);
  if (!result.ok()) {
    Write(stderr, "anysnap-local: " + result.status().message() + "\n");
    return kExitFailedInvoke;
  }
  Write(stdout, CompareTable(*result));
  std::FILE* chart = std::fopen(flags.chart.c_str(), "w");
  if (chart == nullptr) return Fail("--chart " + flags.chart + ": " + std::strerror(errno));
  Write(chart, CompareChart(*result, options.environment.function.function_name));
  std::fclose(chart);
  Write(stdout, "chart: " + flags.chart + "\n");
  return 0;
}

struct CheckFlags {
  FunctionFlags function;
  int runs = 3;
  std::string event;
  std::vector<std::string> allow;
  std::string responses;
};

// `check`'s exit statuses besides 0 (no cloned value) and kExitUsage.
constexpr int kExitClonedFound = 1;
constexpr int kExitCannotSeeClones = 3;  // the freeze backend
constexpr int kExitFunctionFailed = 4;   // an init or an invoke failed

int Check(CheckFlags& flags) {
  FunctionSetup setup;
  std::string event;
  Status ready = SetUpRuns(flags.function, flags.event, setup, event);
  if (!ready.ok()) return Fail(ready.message());
  if (Status can = CheckCanSeeClones(setup.options().snapshot); !can.ok()) {
    Write(stderr, "anysnap-local: " + can.message() + "\n");
    return kExitCannotSeeClones;
  }
  std::FILE* responses = nullptr;
  if (!flags.responses.empty()) {
    responses = std::fopen(flags.responses.c_str(), "w");
    if (responses == nullptr)
      return Fail("--responses " + flags.responses + ": " + std::strerror(errno));
  }
  LocalFunctionOptions options = QuietOptions(setup);
  Write(stderr, "anysnap-local: " + std::to_string(flags.runs) + " cold runs, then " +
                    std::to_string(flags.runs) + " restored runs, the same event\n");
  auto result = RunCloneCheck(options, flags.runs, event, flags.allow);
  ::close(options.environment.output_fd);
  if (!result.ok()) {
    if (responses != nullptr) std::fclose(responses);
    Write(stderr, "anysnap-local: " + result.status().message() + "\n");
    return kExitFunctionFailed;
  }
  Write(stdout, CloneCheckReport(*result));
  if (responses != nullptr) {
    Write(responses, CloneCheckResponses(*result));
    std::fclose(responses);
  }
  return result->fields.cloned.empty() ? 0 : kExitClonedFound;
}

struct SandboxInitFlags {
  SandboxSpec spec;
  std::string netns;
};

int SandboxInit(SandboxInitFlags& flags) {
  if (!flags.netns.empty()) {
    flags.spec.netns_fd = ::open(flags.netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (flags.spec.netns_fd < 0)
      return Fail("sandbox-init: open " + flags.netns + ": " + std::strerror(errno));
  }
  return RunSandboxInit(flags.spec);
}

int Main(int argc, char** argv) {
  Log().Configure("anysnap-local", LogLevel::kWarn, LogFormat::kText);
  // A closed stdout must not kill anysnap-local before it stops the runtime.
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction stop {};
  stop.sa_handler = OnStopSignal;
  sigemptyset(&stop.sa_mask);
  ::sigaction(SIGINT, &stop, nullptr);
  ::sigaction(SIGTERM, &stop, nullptr);

  CLI::App app{"anysnap-local: a local Lambda for functions that use anysnap"};
  app.set_version_flag("--version", "anysnap-local " ANYSNAP_VERSION);
  app.require_subcommand(1);
  // Bad input: one line.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "anysnap-local: " + std::string(e.what()) + " (see --help)\n";
  });
  RunFlags run_flags;
  CLI::App* run = app.add_subcommand(
      "run",
      "Start the function as Lambda's java21 runtime does (through the exec wrapper), send "
      "it the events one by one, print each response and Lambda's START/END/REPORT lines, "
      "then stop it (SIGTERM, then SIGKILL after 2 seconds)");
  AddRunFlags(run, run_flags);

  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Serve the function until stopped (SIGINT/SIGTERM) behind an invoke endpoint compatible "
      "with the Runtime Interface Emulator: POST /2015-03-31/functions/function/invocations. "
      "Failed invokes carry X-Amz-Function-Error; a dying runtime answers Runtime.ExitError, a "
      "timeout Sandbox.Timedout (the environment is then re-initialised); concurrent invokes "
      "queue (or run at once with AWS_LAMBDA_MAX_CONCURRENCY); streamed responses go out "
      "chunked. START/END/REPORT lines and the function's output go to stderr");
  AddFunctionFlags(serve, serve_flags.function, /*with_init_type=*/true);
  serve->add_option("--port", serve_flags.port, "Port of the invoke endpoint")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve->add_option("--host", serve_flags.host, "Address of the invoke endpoint")
      ->capture_default_str();
  serve->add_flag("--eager-init", serve_flags.function.eager_init,
                  "on-demand: run init at start rather than at the first invoke");
  serve->add_option("--log-level", serve_flags.log_level, "anysnap-local's own log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();

  CompareFlags compare_flags;
  CLI::App* compare = app.add_subcommand(
      "compare",
      "Run the function N times cold (on-demand: new environment, init, invoke) and N times "
      "restored (snap-start: new environment restored from one snapshot, invoke); print a table "
      "of time to first response (median, p90, speed-up) and write an SVG chart");
  AddFunctionFlags(compare, compare_flags.function, /*with_init_type=*/false);
  compare->add_option("-n,--runs", compare_flags.runs, "Runs of each kind")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  compare
      ->add_option("--event", compare_flags.event,
                   "A file holding the event, or - for stdin "
                   "(default: {})")
      ->type_name("FILE|-");
  compare->add_option("--chart", compare_flags.chart, "Where the SVG chart goes")
      ->capture_default_str();

  CheckFlags check_flags;
  CLI::App* check = app.add_subcommand(
      "check",
      "Prove by restoring whether the function's responses carry values the snapshot cloned: "
      "run it N times cold and N times restored from one snapshot with the same event, and list "
      "the response's JSON fields that differ between cold starts but are the same in every "
      "restore, with path and value. Exit status: 0 none, 1 some, 2 usage or setup error, 3 the "
      "snapshot backend is freeze (it cannot see cloned state), 4 an init or invoke failed");
  AddFunctionFlags(check, check_flags.function, /*with_init_type=*/false);
  check->add_option("-n,--runs", check_flags.runs, "Runs of each kind")
      ->check(CLI::Range(2, 100))
      ->capture_default_str();
  check
      ->add_option("--event", check_flags.event,
                   "A file holding the event, or - for stdin "
                   "(default: {})")
      ->type_name("FILE|-");
  check
      ->add_option("--allow", check_flags.allow,
                   "A field expected to be cloned (e.g. an id made during init on purpose): "
                   "listed, but no failure; repeatable")
      ->type_name("PATH")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  check
      ->add_option("--responses", check_flags.responses,
                   "Write every response there, one JSON line each: "
                   "{\"run\":\"cold\"|\"restored\",\"n\":1,\"body\":\"...\"}")
      ->type_name("FILE");

  InvokeFlags invoke_flags;
  CLI::App* invoke = app.add_subcommand(
      "invoke",
      "Invoke a running `anysnap-local serve` (or any Runtime Interface Emulator) once: the "
      "response body goes to stdout; exit status 1 when the invoke failed "
      "(X-Amz-Function-Error) or the endpoint answered other than 200, 2 when it cannot be "
      "reached");
  invoke->add_option("--address", invoke_flags.address, "host:port of the invoke endpoint")
      ->capture_default_str();
  invoke->add_option("--function", invoke_flags.function, "Function name in the path")
      ->capture_default_str();
  invoke
      ->add_option("--event", invoke_flags.event,
                   "A file holding the event, or - for stdin (default: {})")
      ->type_name("FILE|-");

  SandboxInitFlags sandbox_flags;
  CLI::App* sandbox = app.add_subcommand("sandbox-init", "");  // internal: no description, hidden
  sandbox->group("");
  sandbox->add_option("--cgroup-procs", sandbox_flags.spec.cgroup_procs);
  sandbox->add_option("--netns", sandbox_flags.netns);
  sandbox->add_flag("--pid-ns", sandbox_flags.spec.pid_namespace);
  sandbox->add_option("--enter-mount-ns", sandbox_flags.spec.enter_mount_ns);
  sandbox->add_flag("--mount-ns", sandbox_flags.spec.mount_namespace);
  sandbox->add_flag("--host-proc", sandbox_flags.spec.host_proc);
  sandbox->add_flag("--deny-io-uring", sandbox_flags.spec.deny_io_uring);
  sandbox->add_flag("--namespaces-made", sandbox_flags.spec.namespaces_made);
  sandbox->add_option("--task-root", sandbox_flags.spec.task_root);
  sandbox->add_option("--layer", sandbox_flags.spec.layer_dir);
  sandbox->add_option("--cwd", sandbox_flags.spec.cwd);
  sandbox->add_option("argv", sandbox_flags.spec.argv)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (sandbox->parsed()) return SandboxInit(sandbox_flags);
  if (serve->parsed()) return Serve(serve_flags);
  if (compare->parsed()) return Compare(compare_flags);
  if (check->parsed()) return Check(check_flags);
  if (invoke->parsed()) return Invoke(invoke_flags);
  return Run(run_flags);
}

}  // namespace
}  // namespace anysnap

int main(int argc, char** argv) { return anysnap::Main(argc, argv); }
