#include "invoke_report.h"

#include <gtest/gtest.h>

namespace anysnap {
namespace {

using namespace std::chrono_literals;

const SteadyTime kT0{};

RuntimeApiCall Call(std::string method, std::string path, int status, SteadyTime received,
                    SteadyTime answered) {
  RuntimeApiCall c;
  c.method = std::move(method);
  c.path = std::move(path);
  c.status = status;
  c.received = received;
  c.answered = answered;
  return c;
}

constexpr const char* kNext = "/2018-06-01/runtime/invocation/next";

TEST(InvokeReportTest, LinesLookLikeLambdas) {
  EXPECT_EQ(StartLine("abc"), "START RequestId: abc Version: $LATEST\n");
  EXPECT_EQ(EndLine("abc"), "END RequestId: abc\n");
  ReportFigures f;
  f.duration_ms = 12.344;
  f.memory_size_mb = 256;
  f.max_memory_used_bytes = 40 * 1024 * 1024 + 1;
  f.init_duration_ms = 2031.5;
  EXPECT_EQ(ReportLine("abc", f),
            "REPORT RequestId: abc\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 "
            "MB\tMax Memory Used: 41 MB\tInit Duration: 2031.50 ms\n");
  f.init_duration_ms.reset();
  f.status = {InvokeStatus::Kind::kError, "Runtime.ExitError"};
  EXPECT_EQ(ReportLine("abc", f),
            "REPORT RequestId: abc\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 "
            "MB\tMax Memory Used: 41 MB\tStatus: error\tError Type: Runtime.ExitError\n");
  f.status = {InvokeStatus::Kind::kTimeout, ""};
  EXPECT_NE(ReportLine("abc", f).find("\tStatus: timeout\n"), std::string::npos);
}

TEST(InvokeReportTest, RoundsBilledDurationAndMemoryUp) {
  EXPECT_EQ(BilledMilliseconds(12.0), 12u);
  EXPECT_EQ(BilledMilliseconds(12.001), 13u);
  EXPECT_EQ(BilledMilliseconds(0.2), 1u);
  EXPECT_EQ(BilledMilliseconds(0), 0u);
  EXPECT_EQ(MemoryMegabytes(0), 0u);
  EXPECT_EQ(MemoryMegabytes(1), 1u);
  EXPECT_EQ(MemoryMegabytes(1024 * 1024), 1u);
  EXPECT_EQ(MemoryMegabytes(1024 * 1024 + 1), 2u);
}

TEST(InvokeReportTest, SpanRunsFromTheDeliveringNextToTheAnswer) {
  std::vector<RuntimeApiCall> calls = {
      // The previous invoke: delivered and answered before `queued`.
      Call("GET", kNext, 200, kT0 + 1ms, kT0 + 2ms),
      Call("POST", "/2018-06-01/runtime/invocation/old/response", 202, kT0 + 3ms, kT0 + 4ms),
      // The runtime waits on next before the event is queued at 10 ms.
      Call("GET", kNext, 200, kT0 + 5ms, kT0 + 11ms),
      Call("POST", "/2018-06-01/runtime/invocation/other/response", 400, kT0 + 12ms, kT0 + 12ms),
      Call("POST", "/2018-06-01/runtime/invocation/new/error", 202, kT0 + 15ms, kT0 + 16ms),
      Call("GET", kNext, 0, kT0 + 17ms, SteadyTime{}),
  };
  InvokeSpan span = FindInvokeSpan(calls, "new", kT0 + 10ms);
  ASSERT_TRUE(span.delivered && span.answered);
  EXPECT_EQ(*span.delivered, kT0 + 11ms);
  EXPECT_EQ(*span.answered, kT0 + 16ms);
  EXPECT_DOUBLE_EQ(MillisecondsBetween(*span.delivered, *span.answered), 5.0);

  InvokeSpan pending = FindInvokeSpan(calls, "later", kT0 + 17ms);
  EXPECT_FALSE(pending.delivered.has_value());
  EXPECT_FALSE(pending.answered.has_value());
}

TEST(InvokeReportTest, InitEndsAtTheFirstNextArrival) {
  std::vector<RuntimeApiCall> calls = {
      Call("POST", "/2018-06-01/runtime/init/error", 202, kT0 + 1ms, kT0 + 1ms),
      Call("GET", kNext, 200, kT0 + 7ms, kT0 + 9ms),
      Call("GET", kNext, 200, kT0 + 20ms, kT0 + 21ms),
  };
  EXPECT_EQ(FirstNextArrival(calls), kT0 + 7ms);
  EXPECT_EQ(FirstNextArrival({}), std::nullopt);
  EXPECT_DOUBLE_EQ(MillisecondsBetween(kT0, kT0 + 1500us), 1.5);
}

}  // namespace
}  // namespace anysnap
