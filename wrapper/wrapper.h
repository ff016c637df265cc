// The exec wrapper's job, from argv and environment to an exit status:
// validate the configuration, start the delegator, launch the runtime host
// behind it, forward signals, and when the runtime host ends, report what only
// anysnap knows (an end while it held the runtime, or right after a restore)
// and end the way the runtime host ended, so that the platform reports any
// other end in its own words, as without the wrapper.
//
// Exit statuses: the runtime host's own, or death by its signal; 64
// after a before-snapshot failure (hooks, priming, restore/next), 65 after an
// after-restore failure, the runtime host stopped in both cases; 126
// when the runtime host cannot be executed, 127 when it does not exist; 78
// (EX_CONFIG) for a configuration error; 70 (EX_SOFTWARE) when anysnap itself
// cannot start (the delegator cannot listen, fork fails).
#ifndef ANYSNAP_WRAPPER_WRAPPER_H_
#define ANYSNAP_WRAPPER_WRAPPER_H_

#include <string>
#include <string_view>
#include <vector>

#include "anysnap/config.h"
#include "anysnap/environment.h"
#include "anysnap/net.h"
#include "lifecycle.h"

namespace anysnap {

inline constexpr int kExitConfigError = 78;
inline constexpr int kExitInternalError = 70;
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;

// Where Lambda unpacks layers.
inline constexpr std::string_view kLayerRoot = "/opt";

// The environment of the runtime host: the wrapper's own, with
// AWS_LAMBDA_RUNTIME_API pointing at the delegator, the log group and stream
// names filled in where the platform left them out (it does under SnapStart;
// Node's aws-lambda-ric refuses to start without them), and the layer's hook
// clients findable: /opt/nodejs/node_modules appended to NODE_PATH and
// /opt/python to PYTHONPATH, as Lambda's own Node.js and Python runtimes have
// them, unless already listed.
// `stream_suffix` is the random part of the stream name (32 hex digits).
// `today` is "YYYY/MM/DD".
EnvMap RuntimeEnvironment(const EnvMap& env, const HostPort& delegator, std::string_view today,
                          std::string_view stream_suffix);

// The SnapStart lifecycle's options from the configuration and the platform's
// environment (AWS_LAMBDA_INITIALIZATION_TYPE), reading the priming events
// file through `read_file`. A bad events file is InvalidArgument naming
// ANYSNAP_PRIME_EVENTS. `start` and `on_fatal` are left for the caller.
Result<LifecycleOptions> LifecycleFromConfig(const Config& config, const EnvMap& env,
                                             const ReadFileFn& read_file);

// The runtime host's argv: the chained exec wrapper's words, then the runtime's.
std::vector<std::string> RuntimeCommand(const Config& config);

// Runs the wrapper; returns the process exit status (a runtime host killed by
// a signal makes it raise that signal on itself first). `argv` is the wrapper's
// whole argv (argv[0] is the wrapper). Signals SIGTERM, SIGINT, SIGHUP,
// SIGQUIT, SIGUSR1, SIGUSR2 and SIGCHLD must be blocked in every thread before
// it is called (main does so before any thread exists).
int RunWrapper(const std::vector<std::string>& argv, char** envp);

}  // namespace anysnap

#endif  // ANYSNAP_WRAPPER_WRAPPER_H_
