#include "priming.h"

#include <gtest/gtest.h>

namespace anysnap {
namespace {

TEST(ParsePrimeEvents, RawAndWrappedEvents) {
  auto events = ParsePrimeEvents(R"([
    {"path": "/orders", "n": 1},
    "plain",
    {"event": {"n": 2}, "headers": {"Lambda-Runtime-Client-Context": "{}"}},
    {"event": [1, 2]}
  ])");
  ASSERT_TRUE(events.ok()) << events.status().message();
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].body, R"({"path":"/orders","n":1})");
  EXPECT_EQ((*events)[1].body, R"("plain")");
  EXPECT_EQ((*events)[2].body, R"({"n":2})");
  ASSERT_EQ((*events)[2].headers.size(), 1u);
  EXPECT_EQ((*events)[2].headers[0].name, "Lambda-Runtime-Client-Context");
  EXPECT_EQ((*events)[3].body, "[1,2]");
}

TEST(ParsePrimeEvents, AnObjectWithOtherMembersBesideEventIsTheEventItself) {
  auto events = ParsePrimeEvents(R"([{"event": "click", "user": 3}])");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ((*events)[0].body, R"({"event":"click","user":3})");
  EXPECT_TRUE((*events)[0].headers.empty());
}

std::string ErrorOf(std::string_view json) {
  auto events = ParsePrimeEvents(json);
  return events.ok() ? "ok" : events.status().message();
}

TEST(ParsePrimeEvents, ErrorsNameTheEvent) {
  EXPECT_EQ(ErrorOf("{"), "not JSON: Missing a name for object member. at byte 1");
  EXPECT_EQ(ErrorOf("{}"), "expected a JSON array of events");
  EXPECT_EQ(ErrorOf("[]"), "the array holds no events");
  EXPECT_EQ(ErrorOf(R"([1, {"event": 1, "headers": []}])"),
            "event 2: \"headers\" must be an object of strings");
  EXPECT_EQ(ErrorOf(R"([{"event": 1, "headers": {"X-N": 1}}])"),
            "event 1: header X-N must be a string");
  EXPECT_EQ(ErrorOf(R"([{"event": 1, "headers": {"Bad Name": "x"}}])"),
            "event 1: \"Bad Name\" is not a header name");
  EXPECT_EQ(ErrorOf(R"([{"event": 1, "headers": {"X-A": "a\r\nX-B: b"}}])"),
            "event 1: header X-A holds a line break");
  EXPECT_EQ(ErrorOf(R"([{"event": 1, "headers": {"Lambda-Runtime-Aws-Request-Id": "x"}}])"),
            "event 1: header Lambda-Runtime-Aws-Request-Id is set by anysnap");
  EXPECT_EQ(ErrorOf(R"([{"event": 1, "headers": {"transfer-encoding": "chunked"}}])"),
            "event 1: header transfer-encoding is set by anysnap");
}

}  // namespace
}  // namespace anysnap
