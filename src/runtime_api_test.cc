#include "anysnap/runtime_api.h"

#include <gtest/gtest.h>

namespace anysnap {
namespace {

TEST(RuntimeApiTest, ClassifiesEveryEndpoint) {
  EXPECT_EQ(ClassifyRuntimeTarget("/2018-06-01/runtime/invocation/next").endpoint,
            RuntimeEndpoint::kNext);
  EXPECT_EQ(ClassifyRuntimeTarget("/2018-06-01/runtime/init/error").endpoint,
            RuntimeEndpoint::kInitError);
  EXPECT_EQ(ClassifyRuntimeTarget("/2018-06-01/runtime/restore/next").endpoint,
            RuntimeEndpoint::kRestoreNext);
  EXPECT_EQ(ClassifyRuntimeTarget("/2018-06-01/runtime/restore/error").endpoint,
            RuntimeEndpoint::kRestoreError);
  RuntimeTarget r = ClassifyRuntimeTarget("/2018-06-01/runtime/invocation/abc-1/response");
  EXPECT_EQ(r.endpoint, RuntimeEndpoint::kResponse);
  EXPECT_EQ(r.request_id, "abc-1");
  r = ClassifyRuntimeTarget("/2018-06-01/runtime/invocation/abc-2/error?x=1");
  EXPECT_EQ(r.endpoint, RuntimeEndpoint::kInvocationError);
  EXPECT_EQ(r.request_id, "abc-2");
}

TEST(RuntimeApiTest, EverythingElseIsOther) {
  for (const char* t :
       {"/", "/2020-01-01/extension/register", "/2018-06-01/runtime/invocation//response",
        "/2018-06-01/runtime/invocation/x/other", "/2018-06-01/runtime/invocation/next/x",
        "/2018-06-01/runtime/invocation/x"}) {
    EXPECT_EQ(ClassifyRuntimeTarget(t).endpoint, RuntimeEndpoint::kOther) << t;
  }
}

TEST(RuntimeApiTest, ErrorDocumentEscapes) {
  EXPECT_EQ(RuntimeErrorDocument("Runtime.ExitError", "exit \"1\"\n"),
            "{\"errorMessage\":\"exit \\\"1\\\"\\n\",\"errorType\":\"Runtime.ExitError\","
            "\"stackTrace\":[]}");
}

}  // namespace
}  // namespace anysnap
