#include "runtime_api_server.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/base64.h"
#include "anysnap/net.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kNext = "/2018-06-01/runtime/invocation/next";
// Bounds every wait so that a broken server fails a test instead of hanging
// it; never a performance expectation.
constexpr auto kPatience = 60s;

class CurlEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { curl_global_init(CURL_GLOBAL_DEFAULT); }
  void TearDown() override { curl_global_cleanup(); }
};
::testing::Environment* const curl_environment =
    ::testing::AddGlobalTestEnvironment(new CurlEnvironment);

// One answer as a client saw it.
struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  HttpHeaders headers;
  std::string body;

  std::string header(std::string_view name) const {
    const std::string* v = FindHeader(headers, name);
    return v ? *v : "<absent>";
  }
};

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<HttpHeaders*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    headers->clear();  // a 100 Continue came first
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
  headers->push_back({std::string(line.substr(0, colon)), std::string(value)});
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Sends one request on a fresh connection; `body` (when set) goes out with
// its exact length.
Reply Send(const std::string& method, const std::string& url, const std::string* body = nullptr,
           const HttpHeaders& headers = {}) {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  std::unique_ptr<curl_slist, SlistDeleter> list;
  for (const auto& h : headers) {
    std::string line = h.name + (h.value.empty() ? ";" : ": " + h.value);
    list.reset(curl_slist_append(list.release(), line.c_str()));
  }
  Reply reply;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(kPatience / 1ms));
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  if (method != "GET" && method != "POST") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (method == "POST" && body == nullptr) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply.headers);
  reply.code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

// A response read off a raw socket (the server answers with Content-Length).
struct RawReply {
  int status = 0;
  std::string head;
  std::string body;
};

RawReply ReadReply(int fd) {
  RawReply reply;
  std::string got;
  char buf[4096];
  size_t head_end;
  while ((head_end = got.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return reply;
    got.append(buf, static_cast<size_t>(n));
  }
  reply.head = got.substr(0, head_end);
  reply.status = std::stoi(reply.head.substr(9, 3));
  size_t length = 0;
  if (size_t at = reply.head.find("Content-Length: "); at != std::string::npos)
    length = std::stoul(reply.head.substr(at + 16));
  reply.body = got.substr(head_end + 4);
  while (reply.body.size() < length) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    reply.body.append(buf, static_cast<size_t>(n));
  }
  return reply;
}

std::string Chunk(std::string_view data) {
  char size[24];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

std::string BinaryBlob(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + 7) % 256);
  return s;
}

// Returns the members of a JSON object document as strings.
std::map<std::string, std::string> JsonFields(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  std::map<std::string, std::string> out;
  if (doc.HasParseError() || !doc.IsObject()) return out;
  for (auto& m : doc.GetObject()) {
    if (m.value.IsString()) out[m.name.GetString()] = m.value.GetString();
  }
  return out;
}

// Returns true iff `s` has `shape`: '%' stands for a lower-case hex digit, '&'
// for one of 8, 9, a, b (a UUID variant), '$' for a decimal digit; anything
// else for itself.
bool HasShape(std::string_view s, std::string_view shape) {
  if (s.size() != shape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool digit = c >= '0' && c <= '9';
    bool ok = shape[i] == '%'   ? digit || (c >= 'a' && c <= 'f')
              : shape[i] == '&' ? c == '8' || c == '9' || c == 'a' || c == 'b'
              : shape[i] == '$' ? digit
                                : c == shape[i];
    if (!ok) return false;
  }
  return true;
}

// An event with just a body and a request id.
Invocation Event(std::string event, std::string request_id) {
  Invocation inv;
  inv.event = std::move(event);
  inv.request_id = std::move(request_id);
  return inv;
}

template <typename T>
bool Ready(std::future<T>& f) {
  return f.wait_for(kPatience) == std::future_status::ready;
}

class RuntimeApiServerTest : public ::testing::Test {
 protected:
  void StartServer(RuntimeApiServer::Options options = {}) {
    server_ = std::make_unique<RuntimeApiServer>(std::move(options));
    ASSERT_TRUE(server_->Start({"127.0.0.1", 0}).ok());
  }
  std::string Url(std::string_view path) const { return server_->base_url() + std::string(path); }
  std::string RuntimeUrl(std::string_view rest) const {
    return Url("/2018-06-01/runtime/" + std::string(rest));
  }
  Reply Next() const { return Send("GET", Url(kNext)); }
  Reply Post(std::string_view rest, const std::string& body, const HttpHeaders& headers = {}) {
    return Send("POST", RuntimeUrl(rest), &body, headers);
  }
  Reply Respond(const std::string& id, const std::string& body, const HttpHeaders& headers = {}) {
    return Post("invocation/" + id + "/response", body, headers);
  }
  UniqueFd Connect() const {
    auto fd = ConnectTcp(server_->address());
    EXPECT_TRUE(fd.ok());
    return std::move(fd.value());
  }
  // Waits until the call log holds `count` calls.
  bool WaitForCalls(size_t count) {
    return server_->WaitFor([&](const auto& calls) { return calls.size() >= count; }, kPatience);
  }

  std::unique_ptr<RuntimeApiServer> server_;
};

TEST_F(RuntimeApiServerTest, DeliversEventWithEveryHeader) {
  RuntimeApiServer::Options options;
  options.wall_clock = [] { return std::chrono::system_clock::time_point(1700000000000ms); };
  StartServer(options);
  Invocation inv;
  inv.event = "{\"k\":\"v\"}" + std::string("\0\x01\xff", 3);
  inv.content_type = "application/octet-stream";
  inv.request_id = "req-1";
  inv.timeout = 3000ms;
  inv.client_context = R"({"custom":{"a":"b"}})";
  inv.cognito_identity = R"({"cognitoIdentityId":"id"})";
  inv.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
  inv.tenant_id = "tenant-7";
  auto result = server_->Invoke(inv);

  Reply r = Next();
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, inv.event);
  EXPECT_EQ(r.header("Lambda-Runtime-Aws-Request-Id"), "req-1");
  EXPECT_EQ(r.header("Lambda-Runtime-Deadline-Ms"), "1700000003000");
  EXPECT_EQ(r.header("Lambda-Runtime-Invoked-Function-Arn"), options.function_arn);
  EXPECT_EQ(r.header("Lambda-Runtime-Trace-Id"), inv.trace_id);
  EXPECT_EQ(r.header("Lambda-Runtime-Client-Context"), inv.client_context);
  EXPECT_EQ(r.header("Lambda-Runtime-Cognito-Identity"), inv.cognito_identity);
  EXPECT_EQ(r.header("Lambda-Runtime-Aws-Tenant-Id"), "tenant-7");
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(Respond("req-1", "ok").status, 202);
  ASSERT_TRUE(Ready(result));
}

TEST_F(RuntimeApiServerTest, GeneratesIdsAndLeavesOutEmptyHeaders) {
  StartServer();
  auto result = server_->Invoke({});
  Reply r = Next();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_TRUE(
      HasShape(r.header("Lambda-Runtime-Aws-Request-Id"), "%%%%%%%%-%%%%-4%%%-&%%%-%%%%%%%%%%%%"))
      << r.header("Lambda-Runtime-Aws-Request-Id");
  EXPECT_TRUE(HasShape(r.header("Lambda-Runtime-Trace-Id"),
                       "Root=1-%%%%%%%%-%%%%%%%%%%%%%%%%%%%%%%%%;Sampled=0"))
      << r.header("Lambda-Runtime-Trace-Id");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.header("Lambda-Runtime-Client-Context"), "<absent>");
  EXPECT_EQ(r.header("Lambda-Runtime-Cognito-Identity"), "<absent>");
  EXPECT_EQ(r.header("Lambda-Runtime-Aws-Tenant-Id"), "<absent>");
  EXPECT_TRUE(HasShape(r.header("Lambda-Runtime-Deadline-Ms"), "$$$$$$$$$$$$$"));
  std::string id = r.header("Lambda-Runtime-Aws-Request-Id");
  EXPECT_EQ(Respond(id, "{}").status, 202);
  ASSERT_TRUE(Ready(result));
  EXPECT_EQ(result.get().request_id, id);

  // Every generated id is distinct.
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    auto f = server_->Invoke({});
    Reply n = Next();
    ids.insert(n.header("Lambda-Runtime-Aws-Request-Id"));
    Respond(n.header("Lambda-Runtime-Aws-Request-Id"), "");
  }
  EXPECT_EQ(ids.size(), 50u);
}

TEST_F(RuntimeApiServerTest, CapturesBinaryResponseByteForByte) {
  StartServer();
  auto result = server_->Invoke(Event("{}", "bin"));
  ASSERT_EQ(Next().status, 200);
  const std::string body = BinaryBlob(300000);
  Reply r = Respond("bin", body, {{"Content-Type", "image/png"}, {"X-Extra", "1"}});
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(JsonFields(r.body), (std::map<std::string, std::string>{{"status", "OK"}}));
  EXPECT_EQ(r.body, R"({"status":"OK"})");
  ASSERT_TRUE(Ready(result));
  InvocationResult res = result.get();
  EXPECT_EQ(res.kind, InvocationResult::Kind::kResponse);
  EXPECT_EQ(res.request_id, "bin");
  EXPECT_EQ(res.body.size(), body.size());
  EXPECT_TRUE(res.body == body);
  EXPECT_EQ(res.body_bytes, body.size());
  EXPECT_FALSE(res.streamed);
  EXPECT_EQ(res.error_type, "");
  ASSERT_NE(FindHeader(res.headers, "content-type"), nullptr);
  EXPECT_EQ(*FindHeader(res.headers, "content-type"), "image/png");
  ASSERT_NE(FindHeader(res.headers, "X-Extra"), nullptr);
}

TEST_F(RuntimeApiServerTest, CapturesErrorVerbatim) {
  StartServer();
  auto result = server_->Invoke(Event("{}", "e1"));
  ASSERT_EQ(Next().status, 200);
  const std::string doc =
      R"json({"errorMessage":"boom","errorType":"Error","trace":["at a (/var/task/x.js:1)"]})json";
  const std::string cause = R"({"working_directory":"/var/task","exceptions":[],"paths":[]})";
  Reply r = Post("invocation/e1/error", doc,
                 {{"Content-Type", "application/json"},
                  {"Lambda-Runtime-Function-Error-Type", "Function.MyError"},
                  {"Lambda-Runtime-Function-XRay-Error-Cause", cause}});
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, R"({"status":"OK"})");
  ASSERT_TRUE(Ready(result));
  InvocationResult res = result.get();
  EXPECT_EQ(res.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(res.error_type, "Function.MyError");
  EXPECT_EQ(res.body, doc);
  ASSERT_NE(FindHeader(res.headers, "Lambda-Runtime-Function-XRay-Error-Cause"), nullptr);
  EXPECT_EQ(*FindHeader(res.headers, "Lambda-Runtime-Function-XRay-Error-Cause"), cause);
}

TEST_F(RuntimeApiServerTest, BufferedLimitPassesExactlyAndRejectsMore) {
  StartServer();
  const size_t limit = RuntimeApiServer::Options().max_buffered_response;
  auto first = server_->Invoke(Event("{}", "at-limit"));
  ASSERT_EQ(Next().status, 200);
  const std::string exact = BinaryBlob(limit);
  EXPECT_EQ(Respond("at-limit", exact).status, 202);
  ASSERT_TRUE(Ready(first));
  EXPECT_TRUE(first.get().body == exact);

  auto second = server_->Invoke(Event("{}", "too-big"));
  ASSERT_EQ(Next().status, 200);
  Reply r = Respond("too-big", BinaryBlob(7 * 1024 * 1024));
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.body,
            R"({"errorType":"RequestEntityTooLarge","errorMessage":"Exceeded maximum allowed )"
            R"(payload size (6291556 bytes)."})");
  ASSERT_TRUE(Ready(second));
  InvocationResult res = second.get();
  EXPECT_EQ(res.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(res.error_type, "Function.ResponseSizeTooLarge");
  // Lambda's document, word for word, naming the response's size and the limit in bytes.
  EXPECT_EQ(res.body,
            R"({"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload )"
            R"(size (7340032 bytes) exceeded maximum allowed payload size (6291556 bytes)."})");
  EXPECT_EQ(res.body_bytes, 7u * 1024 * 1024);

  // The invocation is over: the runtime carries on with the next one.
  auto third = server_->Invoke(Event("third", "after"));
  Reply n = Next();
  EXPECT_EQ(n.status, 200);
  EXPECT_EQ(n.body, "third");
  EXPECT_EQ(Respond("too-big", "late").status, 403);
  EXPECT_EQ(Respond("after", "fine").status, 202);
  ASSERT_TRUE(Ready(third));
  EXPECT_EQ(third.get().body, "fine");
}

TEST_F(RuntimeApiServerTest, UnknownRequestIdGets400) {
  StartServer();
  auto queued = server_->Invoke(Event("{}", "not-yet-delivered"));
  for (const char* id : {"nope", "not-yet-delivered"}) {
    Reply r = Respond(id, "x");
    EXPECT_EQ(r.status, 400) << id;
    EXPECT_EQ(r.body, R"({"errorType":"InvalidRequestID","errorMessage":"Invalid request ID"})");
    EXPECT_EQ(Post(std::string("invocation/") + id + "/error", "{}").status, 400) << id;
  }
  // The queued invocation is untouched.
  EXPECT_EQ(server_->queued(), 1u);
  EXPECT_EQ(Next().header("Lambda-Runtime-Aws-Request-Id"), "not-yet-delivered");
}

TEST_F(RuntimeApiServerTest, SecondAnswerForFinishedIdGets403) {
  StartServer();
  auto result = server_->Invoke(Event("{}", "once"));
  ASSERT_EQ(Next().status, 200);
  EXPECT_EQ(Respond("once", "first").status, 202);
  Reply again = Respond("once", "second");
  EXPECT_EQ(again.status, 403);
  EXPECT_EQ(JsonFields(again.body)["errorType"], "InvalidStateTransition");
  EXPECT_EQ(Post("invocation/once/error", "{}").status, 403);
  ASSERT_TRUE(Ready(result));
  EXPECT_EQ(result.get().body, "first");
}

TEST_F(RuntimeApiServerTest, RepeatsUnansweredEventToASecondNext) {
  StartServer();
  auto a = server_->Invoke(Event("A", "a"));
  auto b = server_->Invoke(Event("B", "b"));
  Reply first = Next();
  Reply second = Next();
  EXPECT_EQ(first.body, "A");
  EXPECT_EQ(second.body, "A");
  EXPECT_EQ(second.header("Lambda-Runtime-Aws-Request-Id"), "a");
  EXPECT_EQ(second.header("Lambda-Runtime-Deadline-Ms"),
            first.header("Lambda-Runtime-Deadline-Ms"));
  EXPECT_EQ(Respond("a", "ra").status, 202);
  Reply third = Next();
  EXPECT_EQ(third.body, "B");
  EXPECT_EQ(Respond("b", "rb").status, 202);
  ASSERT_TRUE(Ready(a));
  ASSERT_TRUE(Ready(b));
}

TEST_F(RuntimeApiServerTest, InitErrorAllowedBeforeFirstNextOnly) {
  StartServer();
  const std::string doc =
      R"({"errorMessage":"cannot load","errorType":"Runtime.ImportModuleError"})";
  Reply r = Post("init/error", doc,
                 {{"Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError"}});
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, R"({"status":"OK"})");
  auto err = server_->init_error();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->kind, InvocationResult::Kind::kError);
  EXPECT_EQ(err->error_type, "Runtime.ImportModuleError");
  EXPECT_EQ(err->body, doc);

  // The init error is the outcome of the invoke waiting for this init, and
  // of every later one.
  for (const char* id : {"i", "j"}) {
    auto result = server_->Invoke(Event("{}", id));
    ASSERT_EQ(result.wait_for(kPatience), std::future_status::ready);
    InvocationResult got = result.get();
    EXPECT_EQ(got.kind, InvocationResult::Kind::kError);
    EXPECT_EQ(got.request_id, id);
    EXPECT_EQ(got.error_type, "Runtime.ImportModuleError");
    EXPECT_EQ(got.body, doc);
  }
  Reply late = Post("init/error", doc);
  EXPECT_EQ(late.status, 403);
  EXPECT_EQ(JsonFields(late.body)["errorType"], "InvalidStateTransition");
  EXPECT_EQ(server_->init_error()->body, doc);
}

TEST_F(RuntimeApiServerTest, InitErrorAfterWaitingNextGets403) {
  StartServer();
  std::thread runtime([&] { Next(); });
  ASSERT_TRUE(server_->WaitFor(
      [](const auto& calls) { return calls.size() == 1 && calls[0].status == 0; }, kPatience));
  EXPECT_EQ(Post("init/error", "{}").status, 403);
  EXPECT_FALSE(server_->init_error().has_value());
  server_->Stop();
  runtime.join();
}

TEST_F(RuntimeApiServerTest, RestoreEndpointsAre404WithoutSnapStart) {
  StartServer();
  Reply r = Send("GET", RuntimeUrl("restore/next"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 page not found\n");
  EXPECT_EQ(Post("restore/error", "{}").status, 404);
}

TEST_F(RuntimeApiServerTest, AutoRestoreAnswersRestoreNextAtOnce) {
  RuntimeApiServer::Options options;
  options.snap_start = true;
  StartServer(options);
  Reply r = Send("GET", RuntimeUrl("restore/next"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("Lambda-Runtime-Aws-Request-Id"), "<absent>");
  // Init is over: init/error is refused, restore/error is accepted once.
  EXPECT_EQ(Post("init/error", "{}").status, 403);
  const std::string doc =
      R"({"errorMessage":"hook failed","errorType":"Runtime.AfterRestoreError"})";
  EXPECT_EQ(Post("restore/error", doc,
                 {{"Lambda-Runtime-Function-Error-Type", "Runtime.AfterRestoreError"}})
                .status,
            202);
  auto err = server_->restore_error();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error_type, "Runtime.AfterRestoreError");
  EXPECT_EQ(err->body, doc);
  EXPECT_EQ(Post("restore/error", doc).status, 403);
  EXPECT_EQ(Send("GET", RuntimeUrl("restore/next")).status, 403);
}

TEST_F(RuntimeApiServerTest, RestoreNextWaitsForRestore) {
  RuntimeApiServer::Options options;
  options.snap_start = true;
  options.auto_restore = false;
  StartServer(options);
  std::promise<Reply> restored;
  std::thread runtime([&] { restored.set_value(Send("GET", RuntimeUrl("restore/next"))); });
  ASSERT_TRUE(server_->WaitFor(
      [](const auto& calls) { return calls.size() == 1 && calls[0].status == 0; }, kPatience));
  // Still parked: nothing but Restore() answers it.
  EXPECT_EQ(Post("init/error", "{}").status, 403);
  EXPECT_EQ(server_->calls()[0].status, 0);
  auto future = restored.get_future();
  EXPECT_EQ(future.wait_for(0ms), std::future_status::timeout);
  server_->Restore();
  ASSERT_TRUE(Ready(future));
  Reply r = future.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  runtime.join();
  EXPECT_EQ(server_->calls()[0].status, 200);

  // Then the invocations.
  auto result = server_->Invoke(Event("after restore", "r"));
  EXPECT_EQ(Next().body, "after restore");
  EXPECT_EQ(Post("restore/error", "{}").status, 403);
  EXPECT_EQ(Respond("r", "done").status, 202);
  ASSERT_TRUE(Ready(result));
}

TEST_F(RuntimeApiServerTest, RestoreNextAfterNextGets403) {
  RuntimeApiServer::Options options;
  options.snap_start = true;
  StartServer(options);
  auto result = server_->Invoke(Event("{}", "n"));
  ASSERT_EQ(Next().status, 200);
  Reply r = Send("GET", RuntimeUrl("restore/next"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(JsonFields(r.body)["errorType"], "InvalidStateTransition");
  EXPECT_EQ(Post("restore/error", "{}").status, 403);
  EXPECT_FALSE(server_->restore_error().has_value());
  EXPECT_EQ(Respond("n", "").status, 202);
}

TEST_F(RuntimeApiServerTest, RestoreBeforeRestoreNextIsKept) {
  RuntimeApiServer::Options options;
  options.snap_start = true;
  options.auto_restore = false;
  StartServer(options);
  server_->Restore();
  EXPECT_EQ(Send("GET", RuntimeUrl("restore/next")).status, 200);
}

TEST_F(RuntimeApiServerTest, EachRestoreAdmitsOneMoreRestoreNext) {
  RuntimeApiServer::Options options;
  options.snap_start = true;
  options.auto_restore = false;
  StartServer(options);
  server_->Restore();
  EXPECT_EQ(Send("GET", RuntimeUrl("restore/next")).status, 200);
  auto first = server_->Invoke(Event("one", "r1"));
  EXPECT_EQ(Next().body, "one");
  Respond("r1", "ok");
  // A copy restored from the same snapshot asks again after its restore.
  EXPECT_EQ(Send("GET", RuntimeUrl("restore/next")).status, 403);
  server_->Restore();
  EXPECT_EQ(Send("GET", RuntimeUrl("restore/next")).status, 200);
  EXPECT_EQ(Post("restore/error", "{}").status, 202);
}

TEST_F(RuntimeApiServerTest, ATimedOutInvocationFailsAndItsLateAnswerGets410) {
  StartServer();
  Invocation inv = Event("slow", "t1");
  inv.timeout = 1ms;
  auto result = server_->Invoke(std::move(inv));
  ASSERT_EQ(Next().status, 200);
  ASSERT_EQ(result.wait_for(kPatience), std::future_status::ready);
  InvocationResult got = result.get();
  EXPECT_EQ(got.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(got.error_type, "Sandbox.Timedout");
  EXPECT_NE(JsonFields(got.body)["errorMessage"].find("Task timed out after 0.00 seconds"),
            std::string::npos);
  Reply late = Respond("t1", "too late");
  EXPECT_EQ(late.status, 410);
  EXPECT_EQ(JsonFields(late.body)["errorType"], "InvokeTimeout");
}

TEST_F(RuntimeApiServerTest, AbandonFailsQueuedDeliveredAndLaterInvocations) {
  StartServer();
  auto delivered = server_->Invoke(Event("a", "a1"));
  ASSERT_EQ(Next().status, 200);
  auto queued = server_->Invoke(Event("b", "b1"));
  server_->Abandon("Runtime.ExitError", "Runtime exited with error: exit status 3");
  auto later = server_->Invoke(Event("c", "c1"));
  for (auto* f : {&delivered, &queued, &later}) {
    ASSERT_EQ(f->wait_for(kPatience), std::future_status::ready);
    InvocationResult got = f->get();
    EXPECT_EQ(got.error_type, "Runtime.ExitError");
    EXPECT_EQ(JsonFields(got.body)["errorType"], "Runtime.ExitError");
    // Only the first went out on a next: the others no runtime ever saw.
    EXPECT_EQ(got.delivered, f == &delivered) << got.request_id;
  }
}

TEST_F(RuntimeApiServerTest, AnAnsweredInvocationWasDeliveredAndAStoppedQueuedOneWasNot) {
  StartServer();
  auto answered = server_->Invoke(Event("a", "a1"));
  ASSERT_EQ(Next().status, 200);
  ASSERT_EQ(Respond("a1", "ok").status, 202);
  ASSERT_EQ(answered.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(answered.get().delivered);
  auto queued = server_->Invoke(Event("b", "b1"));
  server_->Stop();
  ASSERT_EQ(queued.wait_for(kPatience), std::future_status::ready);
  InvocationResult stopped = queued.get();
  EXPECT_EQ(stopped.error_type, "Runtime.ServerStopped");
  EXPECT_FALSE(stopped.delivered);
}

// Sends a streamed response by hand, chunk by chunk.
class StreamingClient {
 public:
  StreamingClient(UniqueFd fd, const std::string& id, const std::string& content_type)
      : fd_(std::move(fd)) {
    Send("POST /2018-06-01/runtime/invocation/" + id +
         "/response HTTP/1.1\r\nHost: x\r\n"
         "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
         "Transfer-Encoding: chunked\r\n"
         "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
         "Content-Type: " +
         content_type + "\r\n\r\n");
  }
  void Send(const std::string& raw) { ASSERT_TRUE(SendAll(fd_.get(), raw).ok()); }
  void Piece(std::string_view data) { Send(Chunk(data)); }
  RawReply Finish(const HttpHeaders& trailers = {}) {
    std::string end = "0\r\n";
    for (const auto& t : trailers) end += t.name + ": " + t.value + "\r\n";
    Send(end + "\r\n");
    return ReadReply(fd_.get());
  }

 private:
  UniqueFd fd_;
};

// Collects what on_stream_data hands over, for a test thread to wait on.
struct StreamSink {
  std::mutex mu;
  std::condition_variable cv;
  std::string data;
  size_t pieces = 0;

  std::function<void(std::string_view)> Callback() {
    return [this](std::string_view piece) {
      std::lock_guard<std::mutex> lock(mu);
      data.append(piece);
      ++pieces;
      cv.notify_all();
    };
  }
  bool WaitForSize(size_t size) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kPatience, [&] { return data.size() >= size; });
  }
};

TEST_F(RuntimeApiServerTest, ForwardsStreamAsItArrivesAndDecodesErrorTrailer) {
  StartServer();
  StreamSink sink;
  Invocation inv = Event("{}", "s1");
  inv.on_stream_data = sink.Callback();
  auto result = server_->Invoke(std::move(inv));
  ASSERT_EQ(Next().status, 200);

  StreamingClient client(Connect(), "s1", "text/plain");
  client.Piece("first piece;");
  // The first piece reaches the callback while the body is still open.
  ASSERT_TRUE(sink.WaitForSize(12));
  EXPECT_EQ(result.wait_for(0ms), std::future_status::timeout);
  const std::string binary = BinaryBlob(1000);
  client.Piece(binary);
  const std::string doc = R"({"errorMessage":"late failure","errorType":"Error","trace":[]})";
  RawReply reply = client.Finish({{"Lambda-Runtime-Function-Error-Type", "Function.StreamError"},
                                  {"Lambda-Runtime-Function-Error-Body", Base64Encode(doc)}});
  EXPECT_EQ(reply.status, 202) << reply.head;
  EXPECT_EQ(reply.body, R"({"status":"OK"})");

  ASSERT_TRUE(Ready(result));
  InvocationResult res = result.get();
  EXPECT_TRUE(res.streamed);
  EXPECT_EQ(res.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(res.error_type, "Function.StreamError");
  EXPECT_EQ(res.body, doc);
  EXPECT_EQ(res.body_bytes, 12u + binary.size());
  EXPECT_TRUE(sink.data == "first piece;" + binary);
  ASSERT_NE(FindHeader(res.trailers, "Lambda-Runtime-Function-Error-Body"), nullptr);
  ASSERT_NE(FindHeader(res.headers, "Lambda-Runtime-Function-Response-Mode"), nullptr);
}

TEST_F(RuntimeApiServerTest, StreamWithoutErrorTrailerIsAResponse) {
  StartServer();
  auto result = server_->Invoke(Event("{}", "s2"));
  ASSERT_EQ(Next().status, 200);
  StreamingClient client(Connect(), "s2", "application/vnd.awslambda.http-integration-response");
  const std::string prelude = R"({"statusCode":200})" + std::string(8, '\0');
  client.Piece(prelude);
  client.Piece("hello");
  client.Piece(" world");
  RawReply reply = client.Finish();
  EXPECT_EQ(reply.status, 202);
  ASSERT_TRUE(Ready(result));
  InvocationResult res = result.get();
  EXPECT_EQ(res.kind, InvocationResult::Kind::kResponse);
  EXPECT_TRUE(res.streamed);
  EXPECT_TRUE(res.body == prelude + "hello world");
  EXPECT_TRUE(res.trailers.empty());
}

TEST_F(RuntimeApiServerTest, CountsLargeStreamWithoutKeepingIt) {
  RuntimeApiServer::Options options;
  options.keep_bodies = false;
  StartServer(options);
  StreamSink sink;
  auto result = server_->Invoke(Event("{}", "big"));
  ASSERT_EQ(Next().status, 200);
  StreamingClient client(Connect(), "big", "application/octet-stream");
  const std::string piece = BinaryBlob(1 << 20);
  for (int i = 0; i < 20; ++i) client.Piece(piece);
  EXPECT_EQ(client.Finish().status, 202);
  ASSERT_TRUE(Ready(result));
  InvocationResult res = result.get();
  EXPECT_EQ(res.kind, InvocationResult::Kind::kResponse);
  EXPECT_EQ(res.body_bytes, 20u << 20);
  EXPECT_TRUE(res.body.empty());
  // The call log keeps the first 64 KiB only.
  auto calls = server_->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].body_bytes, 20u << 20);
  EXPECT_EQ(calls[1].body.size(), 64u * 1024);
  EXPECT_TRUE(calls[1].body == piece.substr(0, 64 * 1024));
}

TEST_F(RuntimeApiServerTest, StreamPastItsLimitFails) {
  RuntimeApiServer::Options options;
  options.max_streamed_response = 100;
  StartServer(options);
  StreamSink sink;
  Invocation inv = Event("{}", "long");
  inv.on_stream_data = sink.Callback();
  auto result = server_->Invoke(std::move(inv));
  ASSERT_EQ(Next().status, 200);
  StreamingClient client(Connect(), "long", "text/plain");
  client.Piece(std::string(60, 'a'));
  client.Piece(std::string(60, 'b'));
  RawReply reply = client.Finish();
  EXPECT_EQ(reply.status, 413);
  ASSERT_TRUE(Ready(result));
  InvocationResult res = result.get();
  EXPECT_EQ(res.error_type, "Function.ResponseSizeTooLarge");
  EXPECT_NE(res.body.find("Response payload size (120 bytes) exceeded maximum allowed payload "
                          "size (100 bytes)."),
            std::string::npos)
      << res.body;
  EXPECT_EQ(res.body_bytes, 120u);
  EXPECT_EQ(sink.data, std::string(60, 'a') + std::string(40, 'b'));
}

TEST_F(RuntimeApiServerTest, InvalidResponseModeGets400) {
  StartServer();
  auto result = server_->Invoke(Event("{}", "m"));
  ASSERT_EQ(Next().status, 200);
  for (const char* mode : {"buffered", "Streamed"}) {
    Reply r = Respond("m", "x", {{"Lambda-Runtime-Function-Response-Mode", mode}});
    EXPECT_EQ(r.status, 400) << mode;
    EXPECT_EQ(JsonFields(r.body)["errorType"], "InvalidFunctionResponseMode") << mode;
  }
  // The invocation is still open.
  EXPECT_EQ(Respond("m", "fine").status, 202);
  ASSERT_TRUE(Ready(result));
  EXPECT_EQ(result.get().body, "fine");
}

TEST_F(RuntimeApiServerTest, CutOffBodyFailsInvocationAndGets400) {
  StartServer();
  auto result = server_->Invoke(Event("{}", "cut"));
  ASSERT_EQ(Next().status, 200);
  UniqueFd fd = Connect();
  ASSERT_TRUE(SendAll(fd.get(),
                      "POST /2018-06-01/runtime/invocation/cut/response HTTP/1.1\r\n"
                      "Host: x\r\nContent-Length: 100\r\n\r\n0123456789")
                  .ok());
  ::shutdown(fd.get(), SHUT_WR);
  RawReply reply = ReadReply(fd.get());
  EXPECT_EQ(reply.status, 400) << reply.head;
  EXPECT_EQ(JsonFields(reply.body)["errorType"], "TruncatedHTTPRequest");
  ASSERT_TRUE(Ready(result));
  InvocationResult res = result.get();
  EXPECT_EQ(res.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(res.error_type, "Runtime.TruncatedResponse");
  EXPECT_EQ(res.body_bytes, 10u);
}

TEST_F(RuntimeApiServerTest, StreamCutOffByClosedConnectionFailsInvocation) {
  StartServer();
  StreamSink sink;
  Invocation inv = Event("{}", "gone");
  inv.on_stream_data = sink.Callback();
  auto result = server_->Invoke(std::move(inv));
  ASSERT_EQ(Next().status, 200);
  {
    StreamingClient client(Connect(), "gone", "text/plain");
    client.Piece("partial");
    ASSERT_TRUE(sink.WaitForSize(7));
  }  // closes the connection mid-stream
  ASSERT_TRUE(Ready(result));
  InvocationResult res = result.get();
  EXPECT_EQ(res.error_type, "Runtime.TruncatedResponse");
  EXPECT_TRUE(res.streamed);
  EXPECT_EQ(res.body_bytes, 7u);
}

TEST_F(RuntimeApiServerTest, ManagedInstancesGiveConcurrentNextsDistinctEvents) {
  RuntimeApiServer::Options options;
  options.max_concurrency = 8;
  StartServer(options);
  std::vector<Reply> replies(8);
  std::vector<std::thread> workers;
  for (int i = 0; i < 8; ++i) workers.emplace_back([&, i] { replies[i] = Next(); });
  // All eight are parked before the events exist.
  ASSERT_TRUE(server_->WaitFor([](const auto& calls) { return calls.size() == 8; }, kPatience));
  std::vector<std::future<InvocationResult>> results;
  for (int i = 0; i < 9; ++i) {
    results.push_back(
        server_->Invoke(Event("event-" + std::to_string(i), "id-" + std::to_string(i))));
  }
  for (auto& w : workers) w.join();
  std::set<std::string> ids, events;
  for (const Reply& r : replies) {
    EXPECT_EQ(r.status, 200);
    ids.insert(r.header("Lambda-Runtime-Aws-Request-Id"));
    events.insert(r.body);
  }
  EXPECT_EQ(ids.size(), 8u);
  EXPECT_EQ(events.size(), 8u);
  EXPECT_EQ(server_->queued(), 1u);

  // Concurrent responses, matched by id.
  workers.clear();
  for (const Reply& r : replies) {
    std::string id = r.header("Lambda-Runtime-Aws-Request-Id");
    workers.emplace_back(
        [&, id, body = r.body] { EXPECT_EQ(Respond(id, "answer to " + body).status, 202); });
  }
  for (auto& w : workers) w.join();
  for (int i = 0; i < 9; ++i) {
    if (!ids.count("id-" + std::to_string(i))) {
      Reply last = Next();
      EXPECT_EQ(last.body, "event-" + std::to_string(i));
      EXPECT_EQ(Respond("id-" + std::to_string(i), "answer to " + last.body).status, 202);
    }
  }
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(Ready(results[i]));
    EXPECT_EQ(results[i].get().body, "answer to event-" + std::to_string(i));
  }
}

TEST_F(RuntimeApiServerTest, ANextWhoseConnectionClosedTakesNoEvent) {
  // Managed instances: a delivered event is never given to a second next, so
  // one handed to a dead connection would wait for its timeout.
  RuntimeApiServer::Options options;
  options.max_concurrency = 2;
  StartServer(options);
  {
    UniqueFd gone = Connect();
    ASSERT_TRUE(
        SendAll(gone.get(), "GET " + std::string(kNext) + " HTTP/1.1\r\nHost: x\r\n\r\n").ok());
    ASSERT_TRUE(WaitForCalls(1));
  }  // closed while parked
  Invocation inv = Event("for the live one", "id-live");
  inv.timeout = std::chrono::hours(1);
  auto result = server_->Invoke(std::move(inv));
  auto reply = std::async(std::launch::async, [&] { return Next(); });
  ASSERT_TRUE(Ready(reply));
  Reply r = reply.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "for the live one");
  EXPECT_EQ(Respond("id-live", "ok").status, 202);
  ASSERT_TRUE(Ready(result));
  EXPECT_EQ(result.get().body, "ok");
}

TEST_F(RuntimeApiServerTest, UnknownPathsAre404AndWrongMethods405) {
  StartServer();
  Reply r = Send("GET", Url("/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 page not found\n");
  EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  const std::string reg = R"({"events":["INVOKE","SHUTDOWN"]})";
  EXPECT_EQ(
      Send("POST", Url("/2020-01-01/extension/register"), &reg, {{"Lambda-Extension-Name", "ext"}})
          .status,
      404);
  EXPECT_EQ(Send("GET", Url("/2021-04-23/credentials")).status, 404);
  EXPECT_EQ(Send("GET", RuntimeUrl("invocation/x/nothing")).status, 404);
  EXPECT_EQ(Send("GET", RuntimeUrl("invocation//response")).status, 404);
  EXPECT_EQ(Send("GET", RuntimeUrl("invocation/next/more")).status, 404);

  EXPECT_EQ(Post("invocation/next", "").status, 405);
  EXPECT_EQ(Send("GET", RuntimeUrl("invocation/abc/response")).status, 405);
  EXPECT_EQ(Send("PUT", RuntimeUrl("invocation/abc/error"), nullptr).status, 405);
  EXPECT_EQ(Send("GET", RuntimeUrl("init/error")).status, 405);

  auto calls = server_->calls();
  ASSERT_EQ(calls.size(), 10u);
  EXPECT_EQ(calls[1].method, "POST");
  EXPECT_EQ(calls[1].path, "/2020-01-01/extension/register");
  EXPECT_EQ(calls[1].body, reg);
  EXPECT_EQ(calls[1].status, 404);
  ASSERT_NE(FindHeader(calls[1].headers, "Lambda-Extension-Name"), nullptr);
  EXPECT_EQ(calls[2].path, "/2021-04-23/credentials");
}

TEST_F(RuntimeApiServerTest, LogsEveryCallInArrivalOrder) {
  StartServer();
  auto result = server_->Invoke(Event("ev", "log"));
  Next();
  Respond("log", "resp");
  Respond("log", "again");
  Post("init/error", "{\"errorType\":\"x\"}");
  Send("GET", Url("/2020-08-15/logs?x=1"));
  auto calls = server_->calls();
  ASSERT_EQ(calls.size(), 5u);
  struct Expected {
    const char* method;
    const char* path;
    int status;
    const char* body;
  };
  const Expected expected[] = {
      {"GET", "/2018-06-01/runtime/invocation/next", 200, ""},
      {"POST", "/2018-06-01/runtime/invocation/log/response", 202, "resp"},
      {"POST", "/2018-06-01/runtime/invocation/log/response", 403, "again"},
      {"POST", "/2018-06-01/runtime/init/error", 403, "{\"errorType\":\"x\"}"},
      {"GET", "/2020-08-15/logs?x=1", 404, ""},
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].method, expected[i].method) << i;
    EXPECT_EQ(calls[i].path, expected[i].path) << i;
    EXPECT_EQ(calls[i].status, expected[i].status) << i;
    EXPECT_EQ(calls[i].body, expected[i].body) << i;
    EXPECT_EQ(calls[i].body_bytes, std::string(expected[i].body).size()) << i;
    EXPECT_LE(calls[i].received, calls[i].answered) << i;
    if (i > 0) {
      EXPECT_LE(calls[i - 1].answered, calls[i].received) << i;
    }
  }
}

TEST_F(RuntimeApiServerTest, StopWakesParkedNextsAndFailsUnfinishedInvocations) {
  RuntimeApiServer::Options options;
  options.max_concurrency = 2;
  StartServer(options);
  auto delivered = server_->Invoke(Event("{}", "open"));
  ASSERT_EQ(Next().status, 200);
  std::atomic<long> parked_status{-1};
  std::thread parked([&] { parked_status = Next().status; });
  ASSERT_TRUE(server_->WaitFor(
      [](const auto& calls) { return calls.size() == 2 && calls[1].status == 0; }, kPatience));
  server_->Stop();
  parked.join();
  EXPECT_TRUE(parked_status == 500 || parked_status == 0) << parked_status;
  ASSERT_TRUE(Ready(delivered));
  EXPECT_EQ(delivered.get().error_type, "Runtime.ServerStopped");
  auto after = server_->Invoke(Event("{}", ""));
  ASSERT_TRUE(Ready(after));
  EXPECT_EQ(after.get().error_type, "Runtime.ServerStopped");
}

TEST_F(RuntimeApiServerTest, StopWakesParkedRestoreNext) {
  RuntimeApiServer::Options options;
  options.snap_start = true;
  options.auto_restore = false;
  StartServer(options);
  std::thread parked([&] { Send("GET", RuntimeUrl("restore/next")); });
  ASSERT_TRUE(server_->WaitFor([](const auto& calls) { return calls.size() == 1; }, kPatience));
  server_->Stop();
  parked.join();
}

TEST_F(RuntimeApiServerTest, WaitForGivesUpAfterItsTimeout) {
  StartServer();
  EXPECT_FALSE(server_->WaitFor([](const auto& calls) { return !calls.empty(); }, 10ms));
}

TEST_F(RuntimeApiServerTest, DuplicateRequestIdIsRefused) {
  StartServer();
  auto first = server_->Invoke(Event("{}", "dup"));
  auto second = server_->Invoke(Event("{}", "dup"));
  ASSERT_TRUE(Ready(second));
  EXPECT_EQ(second.get().error_type, "InvalidRequestID");
  EXPECT_EQ(server_->queued(), 1u);
}

}  // namespace
}  // namespace anysnap
