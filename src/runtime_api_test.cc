#include "anysnap/runtime_api.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

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

TEST(RuntimeApiTest, InvocationPathsClassifyBackToTheirId) {
  EXPECT_EQ(InvocationResponsePath("id-1"), "/2018-06-01/runtime/invocation/id-1/response");
  EXPECT_EQ(InvocationErrorPath("id-1"), "/2018-06-01/runtime/invocation/id-1/error");
  RuntimeTarget r = ClassifyRuntimeTarget(InvocationErrorPath("id-2"));
  EXPECT_EQ(r.endpoint, RuntimeEndpoint::kInvocationError);
  EXPECT_EQ(r.request_id, "id-2");
  EXPECT_EQ(ClassifyRuntimeTarget(InvocationResponsePath("id-3")).endpoint,
            RuntimeEndpoint::kResponse);
}

TEST(RuntimeApiTest, EverythingElseIsOther) {
  for (const char* t :
       {"/", "/2020-01-01/extension/register", "/2018-06-01/runtime/invocation//response",
        "/2018-06-01/runtime/invocation/x/other", "/2018-06-01/runtime/invocation/next/x",
        "/2018-06-01/runtime/invocation/x"}) {
    EXPECT_EQ(ClassifyRuntimeTarget(t).endpoint, RuntimeEndpoint::kOther) << t;
  }
}

TEST(RuntimeApiTest, EachEndpointTakesOneMethod) {
  EXPECT_EQ(RuntimeEndpointMethod(RuntimeEndpoint::kNext), "GET");
  EXPECT_EQ(RuntimeEndpointMethod(RuntimeEndpoint::kRestoreNext), "GET");
  EXPECT_EQ(RuntimeEndpointMethod(RuntimeEndpoint::kResponse), "POST");
  EXPECT_EQ(RuntimeEndpointMethod(RuntimeEndpoint::kInvocationError), "POST");
  EXPECT_EQ(RuntimeEndpointMethod(RuntimeEndpoint::kInitError), "POST");
  EXPECT_EQ(RuntimeEndpointMethod(RuntimeEndpoint::kRestoreError), "POST");
  EXPECT_EQ(RuntimeEndpointMethod(RuntimeEndpoint::kOther), "");
}

TEST(RuntimeApiTest, RequestIdsAreDistinctVersion4Uuids) {
  RequestIdGenerator ids;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = ids.Next();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string_view("89ab").find(id[19]), std::string_view::npos) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
  // A second generator starts from a seed of its own.
  EXPECT_EQ(seen.count(RequestIdGenerator().Next()), 0u);
}

TEST(RuntimeApiTest, ErrorDocumentEscapes) {
  EXPECT_EQ(RuntimeErrorDocument("Runtime.ExitError", "exit \"1\"\n"),
            "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"exit \\\"1\\\"\\n\"}");
}

TEST(RuntimeApiTest, ErrorDocumentReadsBackWhatWasWritten) {
  const std::string message = "line 1\nline \"2\" \xe2\x9c\x93 \x01";
  auto fields = ParseRuntimeErrorDocument(RuntimeErrorDocument("Function.Boom", message));
  ASSERT_TRUE(fields.ok()) << fields.status().message();
  EXPECT_EQ(fields->type, "Function.Boom");
  EXPECT_EQ(fields->message, message);
}

TEST(RuntimeApiTest, ErrorDocumentFieldsThatAreAbsentOrNotStringsAreEmpty) {
  auto fields = ParseRuntimeErrorDocument(
      "{\"errorMessage\":42,\"stackTrace\":[\"at x\"],\"errorType\":\"Custom\"}");
  ASSERT_TRUE(fields.ok());
  EXPECT_EQ(fields->type, "Custom");
  EXPECT_EQ(fields->message, "");
  fields = ParseRuntimeErrorDocument("{}");
  ASSERT_TRUE(fields.ok());
  EXPECT_EQ(fields->type, "");
}

TEST(RuntimeApiTest, ErrorDocumentThatIsNoJsonObjectIsRefused) {
  for (const char* document : {"", "boom", "[\"errorType\"]", "\"x\"", "{\"errorType\":"}) {
    EXPECT_FALSE(ParseRuntimeErrorDocument(document).ok()) << document;
  }
}

}  // namespace
}  // namespace anysnap
