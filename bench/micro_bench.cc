// anysnap-bench-micro: Google Benchmark micro-benchmarks of the hot paths
// every invoke or every start goes through.
//
//  - Request parsing: the head of a runtime's `GET next` and `POST response`
//    (with a 1 KB body) fed to http_parser with the callbacks HttpServer uses
//    (HeaderAssembler, FindHeader, ParseContentLength); and the same requests
//    through a real HttpServer over loopback, which adds the two system calls
//    and the wake-up of the connection thread a proxy pays per request.
//  - Header forwarding: the hop-by-hop filter (IsHopByHop) over the headers of
//    a Runtime API answer, and HeaderAssembler putting fields together from the
//    pieces http_parser hands out.
//  - Configuration: LoadConfig over a Lambda-sized environment and an
//    anysnap.json file (served by a ReadFileFn seam, so no disk in the loop).
//  - Shell words: SplitShellWords on a typical ANYSNAP_RUNTIME.
//
// Run: build/bin/anysnap-bench-micro (Google Benchmark flags apply, e.g.
// --benchmark_format=json). bench/run_all.sh records its table.
#include <benchmark/benchmark.h>
#include <http_parser.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "anysnap/config.h"
#include "anysnap/http.h"
#include "anysnap/http_server.h"
#include "anysnap/net.h"
#include "anysnap/shell_words.h"
#include "http_parsing.h"

namespace anysnap {
namespace {

const std::string kRequestId = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

// What aws-lambda-ric (Node.js) sends for `next`.
const std::string kNextRequest =
    "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
    "Host: 127.0.0.1:9001\r\n"
    "User-Agent: aws-lambda-nodejs/18.20.4-4.0.0\r\n"
    "Accept: */*\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

std::string ResponseRequest(size_t body_bytes) {
  return "POST /2018-06-01/runtime/invocation/" + kRequestId +
         "/response HTTP/1.1\r\n"
         "Host: 127.0.0.1:9001\r\n"
         "User-Agent: aws-lambda-nodejs/18.20.4-4.0.0\r\n"
         "Content-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body_bytes) +
         "\r\n"
         "Connection: keep-alive\r\n"
         "\r\n" +
         std::string(body_bytes, 'x');
}

// The header fields of the Runtime API's answer to `next`.
HttpHeaders NextAnswerHeaders() {
  return {{"Content-Type", "application/json"},
          {"Lambda-Runtime-Aws-Request-Id", kRequestId},
          {"Lambda-Runtime-Deadline-Ms", "1732329600000"},
          {"Lambda-Runtime-Invoked-Function-Arn",
           "arn:aws:lambda:us-east-1:123456789012:function:anysnap"},
          {"Lambda-Runtime-Trace-Id",
           "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"},
          {"Date", "Sat, 23 Nov 2026 01:33:00 GMT"},
          {"Content-Length", "1024"},
          {"Connection", "keep-alive"},
          {"Keep-Alive", "timeout=5"}};
}

// ---- Request parsing: http_parser with HttpServer's callbacks.

// The state HttpServer's connection keeps while it parses one request head.
struct HeadParse {
  HttpRequest request;
  HeaderAssembler fields;
  size_t body_bytes = 0;
  bool complete = false;
};

HeadParse* State(http_parser* p) { return static_cast<HeadParse*>(p->data); }

const http_parser_settings kRequestCallbacks = [] {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_message_begin = [](http_parser* p) {
    State(p)->request.headers.reserve(kTypicalHeaderCount);
    return 0;
  };
  s.on_url = [](http_parser* p, const char* at, size_t len) {
    State(p)->request.target.append(at, len);
    return 0;
  };
  s.on_header_field = [](http_parser* p, const char* at, size_t len) {
    State(p)->fields.OnField({at, len}, State(p)->request.headers);
    return 0;
  };
  s.on_header_value = [](http_parser* p, const char* at, size_t len) {
    State(p)->fields.OnValue({at, len});
    return 0;
  };
  s.on_headers_complete = [](http_parser* p) {
    HttpRequest& r = State(p)->request;
    State(p)->fields.Finish(r.headers);
    FillRequestHead(p, r);
    return 0;
  };
  s.on_body = [](http_parser* p, const char*, size_t len) {
    State(p)->body_bytes += len;
    return 0;
  };
  s.on_message_complete = [](http_parser* p) {
    State(p)->complete = true;
    return 0;
  };
  return s;
}();

void ParseRequest(benchmark::State& state, const std::string& raw) {
  LiftHttpParserHeaderLimit();
  for (auto _ : state) {
    HeadParse parse;
    http_parser parser;
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = &parse;
    size_t n = http_parser_execute(&parser, &kRequestCallbacks, raw.data(), raw.size());
    if (n != raw.size() || !parse.complete) state.SkipWithError("request did not parse");
    benchmark::DoNotOptimize(parse);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
}

void BM_ParseNextRequest(benchmark::State& state) { ParseRequest(state, kNextRequest); }
BENCHMARK(BM_ParseNextRequest);

void BM_ParseResponseRequest1KB(benchmark::State& state) {
  ParseRequest(state, ResponseRequest(1024));
}
BENCHMARK(BM_ParseResponseRequest1KB);

// ---- Request parsing through a real HttpServer over loopback.

// Answers every request with 202 and a fixed small body, reading the request
// body in full first, as the Runtime API does.
class AcceptingHandler : public HttpHandler {
 public:
  void Handle(HttpRequest&, RequestBody& body, ResponseWriter& out) override {
    auto read = body.ReadAll(1 << 20);
    if (!read.ok()) {
      out.RespondError(400, "InvalidRequest", read.status().message());
      return;
    }
    out.Respond(202, {{"Content-Type", "application/json"}}, R"({"status":"OK"})");
  }
};

// One keep-alive request and answer per iteration; the answer's size is
// learnt from the first exchange (the handler's answers are all alike).
void ServerRoundTrip(benchmark::State& state, const std::string& raw) {
  AcceptingHandler handler;
  HttpServer server(&handler);
  if (Status s = server.Listen(HostPort{"127.0.0.1", 0}); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  server.Start();
  auto fd = ConnectTcp(server.address());
  if (!fd.ok()) {
    state.SkipWithError(fd.status().ToString().c_str());
    return;
  }
  SetNoDelay(fd->get());
  char buf[4096];
  auto exchange = [&](size_t expect) -> size_t {
    if (!SendAll(fd->get(), raw).ok()) return 0;
    size_t got = 0;
    do {
      ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
      if (n <= 0) return 0;
      got += static_cast<size_t>(n);
      if (expect == 0 && std::string_view(buf, got).find("\r\n\r\n") != std::string_view::npos &&
          std::string_view(buf, got).ends_with("}"))
        return got;
    } while (got < expect);
    return got;
  };
  const size_t answer = exchange(0);
  if (answer == 0) {
    state.SkipWithError("no answer from the server");
    return;
  }
  for (auto _ : state) {
    if (exchange(answer) != answer) {
      state.SkipWithError("short answer");
      break;
    }
  }
  server.Stop();
}

void BM_ServerNextRoundTrip(benchmark::State& state) { ServerRoundTrip(state, kNextRequest); }
BENCHMARK(BM_ServerNextRoundTrip)->UseRealTime();

void BM_ServerResponse1KBRoundTrip(benchmark::State& state) {
  ServerRoundTrip(state, ResponseRequest(1024));
}
BENCHMARK(BM_ServerResponse1KBRoundTrip)->UseRealTime();

// ---- Header forwarding.

// The filter both directions of the proxy apply to every field.
void BM_FilterHopByHop(benchmark::State& state) {
  const HttpHeaders headers = NextAnswerHeaders();
  for (auto _ : state) {
    HttpHeaders pass;
    pass.reserve(headers.size());
    for (const auto& h : headers)
      if (!IsHopByHop(h.name, headers)) pass.push_back(h);
    benchmark::DoNotOptimize(pass);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * headers.size()));
}
BENCHMARK(BM_FilterHopByHop);

// A `Connection` header naming extra fields makes each lookup scan its list.
void BM_FilterHopByHopConnectionList(benchmark::State& state) {
  HttpHeaders headers = NextAnswerHeaders();
  headers.push_back({"Connection", "X-Upstream-Hint, X-Other"});
  headers.push_back({"X-Upstream-Hint", "1"});
  for (auto _ : state) {
    HttpHeaders pass;
    pass.reserve(headers.size());
    for (const auto& h : headers)
      if (!IsHopByHop(h.name, headers)) pass.push_back(h);
    benchmark::DoNotOptimize(pass);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * headers.size()));
}
BENCHMARK(BM_FilterHopByHopConnectionList);

// Fields assembled from pieces as http_parser hands them out; each name and
// value arrives in two pieces, as when a head spans two reads.
void BM_AssembleHeaders(benchmark::State& state) {
  const HttpHeaders headers = NextAnswerHeaders();
  for (auto _ : state) {
    HeaderAssembler assembler;
    HttpHeaders into;
    into.reserve(kTypicalHeaderCount);
    for (const auto& h : headers) {
      std::string_view name = h.name, value = h.value;
      assembler.OnField(name.substr(0, name.size() / 2), into);
      assembler.OnField(name.substr(name.size() / 2), into);
      assembler.OnValue(value.substr(0, value.size() / 2));
      assembler.OnValue(value.substr(value.size() / 2));
    }
    assembler.Finish(into);
    benchmark::DoNotOptimize(into);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * headers.size()));
}
BENCHMARK(BM_AssembleHeaders);

// ---- Configuration.

// The environment Lambda gives a java21 function, plus anysnap's settings.
EnvMap LambdaEnvironment() {
  return {
      {"AWS_DEFAULT_REGION", "us-east-1"},
      {"AWS_REGION", "us-east-1"},
      {"AWS_EXECUTION_ENV", "AWS_Lambda_java21"},
      {"AWS_LAMBDA_FUNCTION_NAME", "anysnap-demo"},
      {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"},
      {"AWS_LAMBDA_FUNCTION_VERSION", "3"},
      {"AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"},
      {"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/anysnap-demo"},
      {"AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[3]0123456789abcdef0123456789abcdef"},
      {"AWS_LAMBDA_LOG_FORMAT", "Text"},
      {"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"},
      {"AWS_LAMBDA_EXEC_WRAPPER", "/opt/anysnap/bin/anysnap-wrapper"},
      {"AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR"},
      {"AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"},
      {"JAVA_HOME", "/var/lang"},
      {"LAMBDA_RUNTIME_DIR", "/var/runtime"},
      {"LAMBDA_TASK_ROOT", "/var/task"},
      {"LANG", "en_US.UTF-8"},
      {"LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/task:/opt/lib"},
      {"PATH", "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"},
      {"TZ", ":UTC"},
      {"_HANDLER", "index.handler"},
      {"_AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129"},
      {"_AWS_XRAY_DAEMON_PORT", "2000"},
      {"ANYSNAP_RUNTIME",
       "/opt/nodejs/bin/node --max-old-space-size=${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-512} "
       "/opt/nodejs/lib/aws-lambda-ric/index.mjs \"${_HANDLER}\""},
      {"ANYSNAP_AFTER_RESTORE", "http://127.0.0.1:8080/anysnap/after-restore"},
      {"ANYSNAP_LOG_LEVEL", "info"},
  };
}

// The rest of the settings, in $LAMBDA_TASK_ROOT/anysnap.json.
constexpr std::string_view kConfigFile = R"({
  "$schema": "https://example.com/anysnap.schema.json",
  "// hooks": "close the pool before the snapshot",
  "ANYSNAP_BEFORE_SNAPSHOT": ["/var/task/bin/drain-pool --phase $ANYSNAP_PHASE"],
  "ANYSNAP_HOOK_TIMEOUT_MS": "before=30000,after=5000",
  "ANYSNAP_PRIME_EVENTS": "/var/task/prime-events.json",
  "ANYSNAP_PRIME_ROUNDS": 20,
  "ANYSNAP_PRELOAD": ["/var/task/node_modules", "/opt/nodejs/lib"],
  "ANYSNAP_AUDIT": "log",
  "ANYSNAP_AUDIT_FAIL_ON": ["random", "connect"]
})";

// The loop of the LoadConfig benchmarks.
void RunLoadConfig(benchmark::State& state, const EnvMap& env, const ReadFileFn& read,
                   const std::function<bool(const std::string&)>& exists) {
  for (auto _ : state) {
    auto config = LoadConfig(env, read, exists);
    if (!config.ok()) {
      state.SkipWithError(config.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(config);
  }
}

void BM_LoadConfig(benchmark::State& state) {
  const EnvMap env = LambdaEnvironment();
  ReadFileFn read = [](const std::string&) -> Result<std::string> {
    return std::string(kConfigFile);
  };
  auto exists = [](const std::string& path) { return path == "/var/task/anysnap.json"; };
  RunLoadConfig(state, env, read, exists);
}
BENCHMARK(BM_LoadConfig);

// The environment alone, no file: what most functions configure.
void BM_LoadConfigEnvironmentOnly(benchmark::State& state) {
  const EnvMap env = LambdaEnvironment();
  ReadFileFn read = [](const std::string& path) -> Result<std::string> {
    return Status::NotFound("open " + path);
  };
  auto exists = [](const std::string&) { return false; };
  RunLoadConfig(state, env, read, exists);
}
BENCHMARK(BM_LoadConfigEnvironmentOnly);

// ---- Shell words.

void BM_SplitShellWords(benchmark::State& state) {
  const EnvMap env = LambdaEnvironment();
  const std::string& runtime = env.at("ANYSNAP_RUNTIME");
  for (auto _ : state) {
    auto words = SplitShellWords(runtime, env);
    if (!words.ok() || words->size() != 4) {
      state.SkipWithError("unexpected split");
      break;
    }
    benchmark::DoNotOptimize(words);
  }
}
BENCHMARK(BM_SplitShellWords);

}  // namespace
}  // namespace anysnap

BENCHMARK_MAIN();
