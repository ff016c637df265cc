// The lifecycle step by step, behind its seams: a fake time source the tests
// advance, a fake hook runner that records and scripts every configured hook,
// and a scripted Runtime API on loopback as the upstream. Every test follows
// the whole sequence of events (hooks, snapshot point, upstream calls, exit),
// so a step that runs out of order, twice, or not at all turns it red.
#include "lifecycle.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "anysnap/runtime_api.h"
#include "scripted_upstream.h"

namespace anysnap {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using testing::ScriptedUpstream;

// What happened, in the order it happened, from every thread.
class EventLog {
 public:
  void Add(std::string event) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> events_;
};

// Time stands still until Advance(). It starts far from the real steady
// clock, so that a deadline taken on it and waited for on the real clock
// would never pass: a timeout happens only through this source.
class FakeTimeSource final : public TimeSource {
 public:
  SteadyTime Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  WallTime WallNow() override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }
  bool WaitUntil(std::condition_variable& changed, std::unique_lock<std::mutex>& lock,
                 SteadyTime deadline, const std::function<bool()>& done) override {
    const Waiter me{&changed, lock.mutex()};
    {
      std::lock_guard<std::mutex> g(mu_);
      waiters_.push_back(me);
    }
    while (!done() && Now() < deadline) changed.wait(lock);
    {
      std::lock_guard<std::mutex> g(mu_);
      std::erase_if(waiters_, [&](const Waiter& w) { return w.changed == me.changed; });
    }
    return done();
  }

  // Moves both clocks on and wakes every WaitUntil() to look at its deadline.
  void Advance(std::chrono::nanoseconds by) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now_ += by;
      wall_ += std::chrono::duration_cast<WallTime::duration>(by);
      waiters = waiters_;
    }
    // Taking the waiter's mutex orders this after its look at the time, or
    // after it went to sleep: the wakeup cannot be lost.
    for (const Waiter& w : waiters) {
      std::lock_guard<std::mutex> g(*w.mutex);
      w.changed->notify_all();
    }
  }

 private:
  struct Waiter {
    std::condition_variable* changed;
    std::mutex* mutex;
  };
  std::mutex mu_;
  SteadyTime now_ = std::chrono::steady_clock::now() + hours(1000);
  WallTime wall_ = WallTime(milliseconds(1'700'000'000'000));
  std::vector<Waiter> waiters_;
};

// Records each hook as "hook <name> <phase>" with the deadline it was given,
// and runs what the test scripted for it (success by default).
class FakeHookRunner final : public HookRunner {
 public:
  using Script = std::function<Status(TimeSource::SteadyTime deadline)>;

  explicit FakeHookRunner(EventLog* log) : log_(log) {}

  Status Run(const HookSpec& hook, std::string_view phase, const EnvMap& /*env*/,
             TimeSource::SteadyTime deadline, const std::atomic<bool>& /*cancel*/) override {
    log_->Add("hook " + hook.text + " " + std::string(phase));
    Script script;
    {
      std::lock_guard<std::mutex> lock(mu_);
      deadlines_[hook.text].push_back(deadline);
      if (auto it = scripts_.find(hook.text); it != scripts_.end()) script = it->second;
    }
    return script ? script(deadline) : Status::Ok();
  }

  void Program(const std::string& name, Script script) {
    std::lock_guard<std::mutex> lock(mu_);
    scripts_[name] = std::move(script);
  }
  std::vector<TimeSource::SteadyTime> deadlines(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return deadlines_[name];
  }

 private:
  EventLog* const log_;
  std::mutex mu_;
  std::map<std::string, Script> scripts_;
  std::map<std::string, std::vector<TimeSource::SteadyTime>> deadlines_;
};

class StringBody final : public RequestBody {
 public:
  explicit StringBody(std::string data) : data_(std::move(data)) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    size_t n = std::min(cap, data_.size() - offset_);
    std::copy_n(data_.data() + offset_, n, buf);
    offset_ += n;
    return n;
  }
  const HttpHeaders& trailers() const override { return trailers_; }

 private:
  std::string data_;
  size_t offset_ = 0;
  HttpHeaders trailers_;
};

// The answer the lifecycle gave to a runtime's request, if it gave one.
struct Answer {
  bool intercepted = false;  // false: the request is to be forwarded
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

class RecordingWriter final : public ResponseWriter {
 public:
  explicit RecordingWriter(Answer* answer) : answer_(answer) {}
  Status Begin(int status, const HttpHeaders& headers, std::optional<uint64_t>) override {
    answer_->status = status;
    answer_->headers = headers;
    started_ = true;
    return Status::Ok();
  }
  Status Write(std::string_view data) override {
    answer_->body += data;
    return Status::Ok();
  }
  Status End(const HttpHeaders&) override { return Status::Ok(); }
  bool started() const override { return started_; }
  void CloseAfterResponse() override {}

 private:
  Answer* const answer_;
  bool started_ = false;
};

HookSpec Hook(const std::string& name) {
  HookSpec hook;
  hook.kind = HookSpec::Kind::kCommand;
  hook.text = name;
  hook.argv = {name};
  return hook;
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.set_script([this](HttpRequest& req, RequestBody& body, ResponseWriter& out) {
      auto all = body.ReadAll(1 << 20);
      api_.Record(req, all.ok() ? *all : "", {});
      std::string event = "upstream " + req.method + " " + req.target;
      if (const std::string* type = FindHeader(req.headers, kErrorTypeHeader)) {
        event += " " + *type;
      }
      log_.Add(event);
      if (req.target == kRestoreNextPath) {
        if (on_restore_next_) on_restore_next_();
        out.Respond(restore_status_, {{"Content-Type", "application/json"}}, restore_body_);
        return;
      }
      out.Respond(202, {{"Content-Type", "application/json"}}, "{\"status\":\"OK\"}");
    });
    server_ = std::make_unique<HttpServer>(&api_);
    ASSERT_TRUE(server_->Listen({"127.0.0.1", 0}).ok());
    server_->Start();
    upstream_ = std::make_unique<UpstreamClient>(server_->address());
  }

  // Starts a lifecycle with `options`, the fixture's seams and its callbacks:
  // the snapshot point and a fatal exit are logged too.
  Lifecycle& Start(LifecycleOptions options) {
    options.start = clock_.Now();
    options.on_fatal = [this](int status) { log_.Add("exit " + std::to_string(status)); };
    options.at_snapshot_point = [this](std::string_view point) {
      log_.Add("snapshot point: " + std::string(point));
      return snapshot_point_status_;
    };
    lifecycle_ = std::make_unique<Lifecycle>(std::move(options), upstream_.get(), &clock_, &hooks_);
    return *lifecycle_;
  }

  // A runtime's request to the lifecycle, answered or passed on.
  Answer Call(std::string method, std::string target, std::string body = "",
              HttpHeaders headers = {}) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.headers = std::move(headers);
    request.content_length = body.size();
    StringBody source(std::move(body));
    Answer answer;
    RecordingWriter out(&answer);
    answer.intercepted =
        lifecycle_->Intercept(ClassifyRuntimeTarget(request.target), request, source, out);
    return answer;
  }
  // The runtime's invocation/next, which may be held: on a thread of its own.
  // Logs "next forwarded" when the lifecycle lets it go upstream.
  std::future<Answer> Next() {
    return std::async(std::launch::async, [this] {
      Answer answer = Call("GET", std::string(kNextPath));
      if (!answer.intercepted) log_.Add("next forwarded");
      return answer;
    });
  }
  // Takes the priming event a held next was given, logging its request id.
  std::string TakePrimingEvent(std::future<Answer> next, const std::string& body) {
    Answer event = next.get();
    EXPECT_TRUE(event.intercepted);
    EXPECT_EQ(event.status, 200);
    EXPECT_EQ(event.body, body);
    const std::string* id = FindHeader(event.headers, kRequestIdHeader);
    if (id == nullptr) return "";
    log_.Add("priming event " + *id);
    return *id;
  }

  // The errorMessage of the one document posted to `path`.
  std::string ReportedMessage(std::string_view path) {
    std::string message;
    int found = 0;
    for (const auto& seen : api_.seen()) {
      if (seen.target != path) continue;
      ++found;
      auto document = ParseRuntimeErrorDocument(seen.body);
      if (document.ok()) message = document->message;
    }
    EXPECT_EQ(found, 1) << path;
    return message;
  }

  EventLog log_;
  FakeTimeSource clock_;
  FakeHookRunner hooks_{&log_};
  Status snapshot_point_status_;
  int restore_status_ = 200;
  std::string restore_body_ = "{\"restored\":true}";
  std::function<void()> on_restore_next_;
  ScriptedUpstream api_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<UpstreamClient> upstream_;
  std::unique_ptr<Lifecycle> lifecycle_;  // destroyed first: it uses all of the above
};

const std::string kRestoreNext = "upstream GET " + std::string(kRestoreNextPath);
const std::string kInitError =
    "upstream POST " + std::string(kInitErrorPath) + " Runtime.BeforeSnapshotError";
const std::string kRestoreError =
    "upstream POST " + std::string(kRestoreErrorPath) + " Runtime.AfterRestoreError";

TEST(ParseInitTypeTest, NamesTheTwoHeldTypesAndTakesEverythingElseForOnDemand) {
  EXPECT_EQ(ParseInitType("snap-start"), InitType::kSnapStart);
  EXPECT_EQ(ParseInitType("provisioned-concurrency"), InitType::kProvisioned);
  EXPECT_EQ(ParseInitType("on-demand"), InitType::kOnDemand);
  EXPECT_EQ(ParseInitType("lambda-managed-instances"), InitType::kOnDemand);
  EXPECT_EQ(ParseInitType(""), InitType::kOnDemand);
}

TEST_F(LifecycleTest, OnDemandHoldsNothingAndRunsNothing) {
  LifecycleOptions options;
  options.init_type = InitType::kOnDemand;
  options.before_snapshot = {Hook("before")};
  options.after_restore = {Hook("after")};
  options.prime_events = {{"{\"warm\":1}", {}}};
  Start(std::move(options));

  EXPECT_FALSE(Next().get().intercepted);
  // Init still ends there (the audit's snapshot point), but nothing is held.
  EXPECT_EQ(log_.events(), (std::vector<std::string>{"snapshot point: the first invocation/next",
                                                     "next forwarded"}));
}

TEST_F(LifecycleTest, SnapStartWithNothingToRunLetsTheFirstNextEndInit) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  Start(std::move(options));

  EXPECT_FALSE(Next().get().intercepted);
  EXPECT_EQ(log_.events(), (std::vector<std::string>{"snapshot point: the first invocation/next",
                                                     "next forwarded"}));
}

TEST_F(LifecycleTest, SnapStartHeldNextRunsEveryStepInOrder) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1"), Hook("b2")};
  options.after_restore = {Hook("a1"), Hook("a2")};
  options.prime_events = {{"{\"warm\":1}", {}}, {"{\"warm\":2}", {}}};
  Lifecycle& lifecycle = Start(std::move(options));

  for (const std::string body : {"{\"warm\":1}", "{\"warm\":2}"}) {
    const std::string id = TakePrimingEvent(Next(), body);
    Answer taken = Call("POST", "/2018-06-01/runtime/invocation/" + id + "/response", "{}");
    EXPECT_TRUE(taken.intercepted);
    EXPECT_EQ(taken.status, 202);
  }
  EXPECT_FALSE(Next().get().intercepted);

  // Before-snapshot hooks run in the reverse of their configured order.
  EXPECT_EQ(
      log_.events(),
      (std::vector<std::string>{
          "priming event anysnap-prime-r1-e1", "priming event anysnap-prime-r1-e2",
          "hook b2 before-snapshot", "hook b1 before-snapshot", "snapshot point: restore/next",
          kRestoreNext, "hook a1 after-restore", "hook a2 after-restore", "next forwarded"}));
  EXPECT_TRUE(lifecycle.state().init_ended);
  EXPECT_FALSE(lifecycle.state().restoring);
}

TEST_F(LifecycleTest, PrimingRoundsRepeatTheEventsAndNeverReachUpstream) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.prime_events = {{"{\"warm\":1}", {{"Lambda-Runtime-Client-Context", "{\"c\":1}"}}}};
  options.prime_rounds = 2;
  options.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
  Start(std::move(options));

  for (int round = 1; round <= 2; ++round) {
    Answer event = Next().get();
    ASSERT_TRUE(event.intercepted);
    const std::string* id = FindHeader(event.headers, kRequestIdHeader);
    ASSERT_NE(id, nullptr);
    EXPECT_EQ(*id, "anysnap-prime-r" + std::to_string(round) + "-e1");
    const std::string* context = FindHeader(event.headers, kClientContextHeader);
    ASSERT_NE(context, nullptr);
    EXPECT_EQ(*context, "{\"c\":1}");
    const std::string* arn = FindHeader(event.headers, kFunctionArnHeader);
    ASSERT_NE(arn, nullptr);
    EXPECT_EQ(*arn, "arn:aws:lambda:us-east-1:123456789012:function:f");
    EXPECT_TRUE(
        Call("POST", "/2018-06-01/runtime/invocation/" + *id + "/response", "{}").intercepted);
  }
  EXPECT_FALSE(Next().get().intercepted);
  for (const auto& seen : api_.seen()) EXPECT_EQ(seen.target, kRestoreNextPath);
}

TEST_F(LifecycleTest, RuntimeThatCallsRestoreNextGetsTheHooksAroundIt) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1")};
  options.after_restore = {Hook("a1")};
  options.prime_events = {{"{\"warm\":1}", {}}};  // skipped: no event before the snapshot
  Start(std::move(options));

  Answer restored = Call("GET", std::string(kRestoreNextPath));
  EXPECT_TRUE(restored.intercepted);
  EXPECT_EQ(restored.status, 200);
  EXPECT_EQ(restored.body, restore_body_);
  EXPECT_FALSE(Next().get().intercepted);

  EXPECT_EQ(log_.events(),
            (std::vector<std::string>{"hook b1 before-snapshot", "snapshot point: restore/next",
                                      kRestoreNext, "hook a1 after-restore", "next forwarded"}));
}

TEST_F(LifecycleTest, RuntimeThatCallsRestoreNextGetsAnErrorAnswerAsItCame) {
  restore_status_ = 500;
  restore_body_ = "{\"errorType\":\"Internal\"}";
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1")};
  options.after_restore = {Hook("a1")};
  Start(std::move(options));

  Answer restored = Call("GET", std::string(kRestoreNextPath));
  EXPECT_TRUE(restored.intercepted);
  EXPECT_EQ(restored.status, 500);
  EXPECT_EQ(restored.body, restore_body_);
  // Not a failure of the lifecycle's: the runtime decides; no after-restore hook.
  EXPECT_EQ(log_.events(),
            (std::vector<std::string>{"hook b1 before-snapshot", "snapshot point: restore/next",
                                      kRestoreNext}));
}

TEST_F(LifecycleTest, HeldNextFailsTheInitWhenRestoreNextAnswersAnError) {
  restore_status_ = 500;
  restore_body_ = "boom";
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.after_restore = {Hook("a1")};
  Start(std::move(options));

  Answer next = Next().get();
  EXPECT_TRUE(next.intercepted);
  EXPECT_EQ(next.status, 503);
  EXPECT_EQ(log_.events(), (std::vector<std::string>{"snapshot point: restore/next", kRestoreNext,
                                                     kInitError, "exit 64"}));
  EXPECT_EQ(ReportedMessage(kInitErrorPath), "restore/next answered 500: boom");
}

TEST_F(LifecycleTest, BeforeSnapshotTimeoutCoversTheWholePhase) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1"), Hook("b2")};  // run b2, then b1
  options.after_restore = {Hook("a1")};
  options.before_timeout = milliseconds(5000);
  Start(std::move(options));
  const TimeSource::SteadyTime start = clock_.Now();
  // Each hook takes 3 s: together they overrun the phase's 5 s.
  auto takes_three_seconds = [this](TimeSource::SteadyTime deadline) {
    if (clock_.Now() + milliseconds(3000) > deadline) {
      clock_.Advance(deadline - clock_.Now());
      return Status::TimedOut("timed out");
    }
    clock_.Advance(milliseconds(3000));
    return Status::Ok();
  };
  hooks_.Program("b1", takes_three_seconds);
  hooks_.Program("b2", takes_three_seconds);

  Answer next = Next().get();
  EXPECT_TRUE(next.intercepted);
  EXPECT_EQ(next.status, 503);
  EXPECT_EQ(log_.events(),
            (std::vector<std::string>{"hook b2 before-snapshot", "hook b1 before-snapshot",
                                      kInitError, "exit 64"}));
  EXPECT_EQ(hooks_.deadlines("b2"), (std::vector{start + milliseconds(5000)}));
  EXPECT_EQ(hooks_.deadlines("b1"), (std::vector{start + milliseconds(5000)}));
  EXPECT_EQ(ReportedMessage(kInitErrorPath), "before-snapshot hook \"b1\" timed out after 5000 ms");
}

TEST_F(LifecycleTest, BeforeSnapshotHookFailureStopsTheInitBeforeTheSnapshot) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1"), Hook("b2")};
  options.after_restore = {Hook("a1")};
  Start(std::move(options));
  hooks_.Program("b2", [](auto) { return Status::Failed("exited with status 3"); });

  Answer next = Next().get();
  EXPECT_EQ(next.status, 503);
  EXPECT_EQ(log_.events(),
            (std::vector<std::string>{"hook b2 before-snapshot", kInitError, "exit 64"}));
  EXPECT_EQ(ReportedMessage(kInitErrorPath), "before-snapshot hook \"b2\" exited with status 3");
}

TEST_F(LifecycleTest, FailedSnapshotPointFailsTheInitWhenItMay) {
  snapshot_point_status_ = Status::Failed("the audit found a hazard");
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.snapshot_point_may_fail = true;
  Start(std::move(options));

  EXPECT_EQ(Next().get().status, 503);
  EXPECT_EQ(log_.events(),
            (std::vector<std::string>{"snapshot point: restore/next", kInitError, "exit 64"}));
  EXPECT_EQ(ReportedMessage(kInitErrorPath), "the audit found a hazard");
}

TEST_F(LifecycleTest, PrimingTimesOutWhenTheFunctionNeverAnswers) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1")};
  options.prime_events = {{"{\"warm\":1}", {}}};
  options.before_timeout = milliseconds(1000);
  Start(std::move(options));

  TakePrimingEvent(Next(), "{\"warm\":1}");
  clock_.Advance(milliseconds(1000));
  Answer next = Next().get();
  EXPECT_EQ(next.status, 503);
  EXPECT_EQ(log_.events(),
            (std::vector<std::string>{"priming event anysnap-prime-r1-e1", kInitError, "exit 64"}));
  EXPECT_EQ(ReportedMessage(kInitErrorPath),
            "priming round 1 of 1, event 1 of 1 (request id anysnap-prime-r1-e1): no answer "
            "within 1000 ms");
}

TEST_F(LifecycleTest, PrimingFailsWhenTheFunctionAnswersWithAnError) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1")};
  options.prime_events = {{"{\"warm\":1}", {}}};
  Start(std::move(options));

  const std::string id = TakePrimingEvent(Next(), "{\"warm\":1}");
  Answer taken = Call("POST", "/2018-06-01/runtime/invocation/" + id + "/error",
                      RuntimeErrorDocument("Function.Boom", "bad"),
                      {{std::string(kErrorTypeHeader), "Function.Boom"}});
  EXPECT_EQ(taken.status, 202);
  EXPECT_EQ(Next().get().status, 503);
  EXPECT_EQ(log_.events(),
            (std::vector<std::string>{"priming event anysnap-prime-r1-e1", kInitError, "exit 64"}));
  EXPECT_EQ(ReportedMessage(kInitErrorPath),
            "priming round 1 of 1, event 1 of 1: the function failed: Function.Boom: bad");
}

TEST_F(LifecycleTest, AfterRestoreFailureReportsRestoreError) {
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1")};
  options.after_restore = {Hook("a1"), Hook("a2")};
  Start(std::move(options));
  hooks_.Program("a1", [](auto) { return Status::Failed("exited with status 3"); });

  EXPECT_EQ(Next().get().status, 503);
  EXPECT_EQ(log_.events(), (std::vector<std::string>{
                               "hook b1 before-snapshot", "snapshot point: restore/next",
                               kRestoreNext, "hook a1 after-restore", kRestoreError, "exit 65"}));
  EXPECT_EQ(ReportedMessage(kRestoreErrorPath), "after-restore hook \"a1\" exited with status 3");
}

TEST_F(LifecycleTest, AfterRestoreDeadlineStartsAfterTheRestore) {
  // The environment sits frozen for a day between the snapshot and the restore.
  on_restore_next_ = [this] { clock_.Advance(hours(24)); };
  LifecycleOptions options;
  options.init_type = InitType::kSnapStart;
  options.before_snapshot = {Hook("b1")};
  options.after_restore = {Hook("a1")};
  options.before_timeout = milliseconds(5000);
  options.after_timeout = milliseconds(2000);
  Start(std::move(options));
  const TimeSource::SteadyTime start = clock_.Now();

  EXPECT_FALSE(Next().get().intercepted);
  EXPECT_EQ(hooks_.deadlines("b1"), (std::vector{start + milliseconds(5000)}));
  EXPECT_EQ(hooks_.deadlines("a1"), (std::vector{start + hours(24) + milliseconds(2000)}));
}

TEST_F(LifecycleTest, ProvisionedConcurrencyPrimesWithoutHooksOrRestore) {
  LifecycleOptions options;
  options.init_type = InitType::kProvisioned;  // ANYSNAP_PROVISIONED's default: prime only
  options.before_snapshot = {Hook("b1")};
  options.after_restore = {Hook("a1")};
  options.prime_events = {{"{\"warm\":1}", {}}};
  Start(std::move(options));

  const std::string id = TakePrimingEvent(Next(), "{\"warm\":1}");
  EXPECT_EQ(Call("POST", "/2018-06-01/runtime/invocation/" + id + "/response", "{}").status, 202);
  EXPECT_FALSE(Next().get().intercepted);
  EXPECT_EQ(log_.events(), (std::vector<std::string>{"priming event anysnap-prime-r1-e1",
                                                     "snapshot point: the first invocation/next",
                                                     "next forwarded"}));
}

TEST_F(LifecycleTest, ProvisionedConcurrencyRunsTheStepsItIsGiven) {
  LifecycleOptions options;
  options.init_type = InitType::kProvisioned;
  options.provisioned_prime = false;
  options.provisioned_before_snapshot = true;
  options.before_snapshot = {Hook("b1")};
  options.after_restore = {Hook("a1")};
  options.prime_events = {{"{\"warm\":1}", {}}};
  Start(std::move(options));

  EXPECT_FALSE(Next().get().intercepted);
  EXPECT_EQ(log_.events(), (std::vector<std::string>{"hook b1 before-snapshot",
                                                     "snapshot point: the first invocation/next",
                                                     "next forwarded"}));
}

TEST_F(LifecycleTest, ProvisionedConcurrencyHookFailureFailsTheInit) {
  LifecycleOptions options;
  options.init_type = InitType::kProvisioned;
  options.provisioned_prime = false;
  options.provisioned_before_snapshot = true;
  options.before_snapshot = {Hook("b1")};
  Start(std::move(options));
  hooks_.Program("b1", [](auto) { return Status::Failed("exited with status 1"); });

  EXPECT_EQ(Next().get().status, 503);
  EXPECT_EQ(log_.events(),
            (std::vector<std::string>{"hook b1 before-snapshot", kInitError, "exit 64"}));
}

}  // namespace
}  // namespace anysnap
