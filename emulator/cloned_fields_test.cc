#include "cloned_fields.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace anysnap {

void PrintTo(const ClonedField& f, std::ostream* os) { *os << f.path << " = " << f.value; }

namespace {

using Leaves = std::vector<std::pair<std::string, std::string>>;
using Fields = std::vector<ClonedField>;
using Paths = std::vector<std::string>;

TEST(FlattenResponseTest, NamesEveryLeafByItsPath) {
  EXPECT_EQ(FlattenResponse(R"({"ids":{"perInvoke":"a","n":1},"list":[{"id":2},[]],"odd key":{},)"
                            R"("t":true,"z":null})"),
            (Leaves{{".ids.perInvoke", "\"a\""},
                    {".ids.n", "1"},
                    {".list[0].id", "2"},
                    {".list[1]", "[]"},
                    {".[\"odd key\"]", "{}"},
                    {".t", "true"},
                    {".z", "null"}}));
  EXPECT_EQ(FlattenResponse("[1,\"x\"]"), (Leaves{{".[0]", "1"}, {".[1]", "\"x\""}}));
  EXPECT_EQ(FlattenResponse("\"just a string\""), (Leaves{{".", "\"just a string\""}}));
  EXPECT_EQ(FlattenResponse("plain text, not JSON"), (Leaves{{".", "plain text, not JSON"}}));
  EXPECT_EQ(FlattenResponse(""), (Leaves{{".", ""}}));
}

TEST(CompareFieldsTest, NestedFieldMadeBeforeTheSnapshotIsCloned) {
  auto r = CompareFields({R"({"n":1,"ids":{"perInvoke":"c1","fresh":"f1"}})",
                          R"({"n":1,"ids":{"perInvoke":"c2","fresh":"f2"}})"},
                         {R"({"n":1,"ids":{"perInvoke":"r","fresh":"f3"}})",
                          R"({"n":1,"ids":{"perInvoke":"r","fresh":"f4"}})",
                          R"({"n":1,"ids":{"perInvoke":"r","fresh":"f5"}})"});
  // .n is the same everywhere (a constant), .ids.fresh differs between
  // restores too (made after the restore): neither is cloned.
  EXPECT_EQ(r.cloned, (Fields{{".ids.perInvoke", "\"r\""}}));
  EXPECT_TRUE(r.not_in_every_response.empty());
  EXPECT_EQ(r.compared, 3u);
}

TEST(CompareFieldsTest, ArrayElementsAreComparedByIndex) {
  auto r = CompareFields({R"([{"id":1},{"id":10}])", R"([{"id":2},{"id":10}])"},
                         {R"([{"id":3},{"id":10}])", R"([{"id":3},{"id":10}])"});
  EXPECT_EQ(r.cloned, (Fields{{".[0].id", "3"}}));
}

TEST(CompareFieldsTest, ABodyThatIsNotJsonIsComparedWhole) {
  auto r = CompareFields({"id c1", "id c2"}, {"id r", "id r"});
  EXPECT_EQ(r.cloned, (Fields{{".", "id r"}}));
  auto unique = CompareFields({"id c1", "id c2"}, {"id r1", "id r2"});
  EXPECT_TRUE(unique.cloned.empty());
}

TEST(CompareFieldsTest, AFieldMissingFromSomeResponsesIsNotJudged) {
  auto r = CompareFields({R"({"a":1,"b":"x"})", R"({"a":2})"},
                         {R"({"a":3,"b":"y"})", R"({"a":3,"b":"y"})"});
  EXPECT_EQ(r.cloned, (Fields{{".a", "3"}}));
  EXPECT_EQ(r.not_in_every_response, (Paths{".b"}));
  // Arrays of different lengths: the extra element is not in every response.
  auto lengths = CompareFields({"[1]", "[2,9]"}, {"[3,9]", "[3,9]"});
  EXPECT_EQ(lengths.cloned, (Fields{{".[0]", "3"}}));
  EXPECT_EQ(lengths.not_in_every_response, (Paths{".[1]"}));
  // JSON in one response and not in another: neither side's paths are judged.
  auto mixed = CompareFields({R"({"a":1})", "oops"}, {R"({"a":3})", R"({"a":3})"});
  EXPECT_TRUE(mixed.cloned.empty());
  EXPECT_EQ(mixed.not_in_every_response, (Paths{".a", "."}));
}

TEST(CompareFieldsTest, ValuesCompareAsJsonText) {
  // 1 and "1" are different values: the restores do not agree.
  auto r = CompareFields({R"({"v":1})", R"({"v":2})"}, {R"({"v":1})", R"({"v":"1"})"});
  EXPECT_TRUE(r.cloned.empty());
}

TEST(CompareFieldsTest, ValuesAlikeInSomeColdStartsStillDifferBetweenThem) {
  auto r = CompareFields({R"({"v":1})", R"({"v":1})", R"({"v":2})"},
                         {R"({"v":5})", R"({"v":5})", R"({"v":5})"});
  EXPECT_EQ(r.cloned, (Fields{{".v", "5"}}));
}

TEST(CompareFieldsTest, OneRunOfAKindProvesNothing) {
  EXPECT_TRUE(CompareFields({R"({"v":1})"}, {R"({"v":2})", R"({"v":2})"}).cloned.empty());
  EXPECT_TRUE(CompareFields({R"({"v":1})", R"({"v":3})"}, {R"({"v":2})"}).cloned.empty());
}

}  // namespace
}  // namespace anysnap
