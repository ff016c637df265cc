#include "anysnap/shell_words.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace anysnap {
namespace {

using Words = std::vector<std::string>;

const EnvMap kEnv = {
    {"LAMBDA_TASK_ROOT", "/var/task"},
    {"EMPTY", ""},
    {"SPACED", "  a  b\tc\nd  "},
    {"ONE", "one"},
    {"STAR", "*.js"},
    {"QUOTES", "'x' \"y\""},
    {"DOLLAR", "$ONE"},
};

Words Split(std::string_view text, const EnvMap& env = kEnv) {
  auto words = SplitShellWords(text, env);
  EXPECT_TRUE(words.ok()) << text << ": " << words.status().ToString();
  return words.ok() ? *words : Words{"<error>"};
}

std::string SplitError(std::string_view text, const EnvMap& env = kEnv) {
  auto words = SplitShellWords(text, env);
  EXPECT_FALSE(words.ok()) << text;
  if (words.ok()) return "<ok>";
  EXPECT_EQ(words.status().code(), Status::Code::kInvalidArgument);
  return words.status().message();
}

TEST(ShellWordsTest, WhitespaceSeparatesWords) {
  EXPECT_EQ(Split("node index.js"), (Words{"node", "index.js"}));
  EXPECT_EQ(Split("  node \t\n  index.js  \n"), (Words{"node", "index.js"}));
  EXPECT_EQ(Split(""), Words{});
  EXPECT_EQ(Split(" \t\n "), Words{});
}

TEST(ShellWordsTest, CarriageReturnIsNotASeparator) {
  EXPECT_EQ(Split("a\rb c"), (Words{"a\rb", "c"}));
}

TEST(ShellWordsTest, SingleQuotesAreLiteral) {
  EXPECT_EQ(Split("'a b' 'c\\d' '$ONE' '\"' '`x`'"), (Words{"a b", "c\\d", "$ONE", "\"", "`x`"}));
  EXPECT_EQ(Split("'line\nbreak'"), (Words{"line\nbreak"}));
}

TEST(ShellWordsTest, QuotesJoinWithAdjacentText) {
  EXPECT_EQ(Split("a'b c'd\"e f\"g"), (Words{"ab cde fg"}));
  EXPECT_EQ(Split("--opt='x y'"), (Words{"--opt=x y"}));
}

TEST(ShellWordsTest, EmptyQuotesMakeAnEmptyWord) {
  EXPECT_EQ(Split("a '' b \"\""), (Words{"a", "", "b", ""}));
  EXPECT_EQ(Split("''"), (Words{""}));
  EXPECT_EQ(Split("\"\"\"\""), (Words{""}));
}

TEST(ShellWordsTest, DoubleQuotesEscapeOnlyFiveCharacters) {
  EXPECT_EQ(Split(R"("a\$b" "\`" "\"" "\\" "\n\t\a")"),
            (Words{"a$b", "`", "\"", "\\", "\\n\\t\\a"}));
  EXPECT_EQ(Split("\"a\\\nb\""), (Words{"ab"}));  // backslash-newline joins lines
  EXPECT_EQ(Split(R"("it's")"), (Words{"it's"}));
}

TEST(ShellWordsTest, BackslashOutsideQuotesEscapesTheNextCharacter) {
  EXPECT_EQ(Split(R"(a\ b \'c\' \"d \\ \$ONE \# \| x\y)"),
            (Words{"a b", "'c'", "\"d", "\\", "$ONE", "#", "|", "xy"}));
  EXPECT_EQ(Split("a\\\nb c"), (Words{"ab", "c"}));  // line continuation
  EXPECT_EQ(Split("a \\\n b"), (Words{"a", "b"}));
}

TEST(ShellWordsTest, ExpandsVariables) {
  EXPECT_EQ(Split("$LAMBDA_TASK_ROOT/bootstrap"), (Words{"/var/task/bootstrap"}));
  EXPECT_EQ(Split("${LAMBDA_TASK_ROOT}/bootstrap"), (Words{"/var/task/bootstrap"}));
  EXPECT_EQ(Split("x${ONE}y $ONE.js"), (Words{"xoney", "one.js"}));
  EXPECT_EQ(Split("\"$ONE ${ONE}\""), (Words{"one one"}));
  EXPECT_EQ(Split("$ONEx"), Words{});  // the name is ONEx, which is unset
  EXPECT_EQ(Split("$ONE_x"), Words{});
  EXPECT_EQ(Split("$ONE-x"), (Words{"one-x"}));
}

TEST(ShellWordsTest, ExpansionsAreNotReparsed) {
  EXPECT_EQ(Split("$QUOTES"), (Words{"'x'", "\"y\""}));
  EXPECT_EQ(Split("$DOLLAR \"$DOLLAR\""), (Words{"$ONE", "$ONE"}));
  EXPECT_EQ(Split("$STAR"), (Words{"*.js"}));  // no globbing
}

TEST(ShellWordsTest, UnsetAndEmptyVariablesExpandToNothing) {
  EXPECT_EQ(Split("a $UNSET b"), (Words{"a", "b"}));
  EXPECT_EQ(Split("$UNSET"), Words{});
  EXPECT_EQ(Split("$EMPTY ${EMPTY} ${UNSET}"), Words{});
  EXPECT_EQ(Split("x$UNSET"), (Words{"x"}));
  EXPECT_EQ(Split("\"$UNSET\""), (Words{""}));
  EXPECT_EQ(Split("''$EMPTY"), (Words{""}));
}

TEST(ShellWordsTest, UnquotedExpansionsAreFieldSplit) {
  EXPECT_EQ(Split("$SPACED"), (Words{"a", "b", "c", "d"}));
  EXPECT_EQ(Split("x${SPACED}y"), (Words{"x", "a", "b", "c", "d", "y"}));
  EXPECT_EQ(Split("\"$SPACED\""), (Words{"  a  b\tc\nd  "}));
  EXPECT_EQ(Split("''$SPACED"), (Words{"", "a", "b", "c", "d"}));
  EXPECT_EQ(Split("--x=$ONE$SPACED"), (Words{"--x=one", "a", "b", "c", "d"}));
}

TEST(ShellWordsTest, DefaultsForUnsetVariables) {
  EXPECT_EQ(Split("${UNSET-def} ${UNSET:-def}"), (Words{"def", "def"}));
  EXPECT_EQ(Split("${EMPTY-def}"), Words{});  // set, so no default
  EXPECT_EQ(Split("${EMPTY:-def}"), (Words{"def"}));
  EXPECT_EQ(Split("${ONE-def} ${ONE:-def}"), (Words{"one", "one"}));
  EXPECT_EQ(Split("${UNSET:-}"), Words{});
  EXPECT_EQ(Split("${UNSET:-''}"), (Words{""}));
  EXPECT_EQ(Split("${UNSET:-/opt/${ONE}/x}"), (Words{"/opt/one/x"}));
  EXPECT_EQ(Split("${UNSET:-${UNSET2:-deep}}"), (Words{"deep"}));
  EXPECT_EQ(Split("${UNSET:-a}b}"), (Words{"ab}"}));
}

TEST(ShellWordsTest, UnquotedDefaultsAreSplitButTheirQuotesAreKept) {
  EXPECT_EQ(Split("${UNSET:-a b}"), (Words{"a", "b"}));
  EXPECT_EQ(Split("${UNSET:-\"a b\"}"), (Words{"a b"}));
  EXPECT_EQ(Split("${UNSET:-'a }b'}"), (Words{"a }b"}));
  EXPECT_EQ(Split("${UNSET:-\\}}"), (Words{"}"}));
  EXPECT_EQ(Split("${UNSET:-$SPACED}"), (Words{"a", "b", "c", "d"}));
}

TEST(ShellWordsTest, QuotedDefaultsAreNotSplit) {
  EXPECT_EQ(Split("\"${UNSET:-a  b}\""), (Words{"a  b"}));
  EXPECT_EQ(Split("\"${UNSET:-\"a  b\"}\""), (Words{"a  b"}));
  EXPECT_EQ(Split("\"${UNSET:-'x'}\""), (Words{"'x'"}));
  EXPECT_EQ(Split("\"${UNSET:-\\}}\""), (Words{"}"}));
  EXPECT_EQ(Split("\"${UNSET:-$SPACED}\""), (Words{"  a  b\tc\nd  "}));
}

TEST(ShellWordsTest, UnusedDefaultsAreCheckedButNotExpanded) {
  EXPECT_EQ(Split("${ONE:-$UNSET x y}"), (Words{"one"}));
  EXPECT_EQ(SplitError("${ONE:-$(date)}"),
            "$( at position 8: command substitution is not supported (no shell runs)");
}

TEST(ShellWordsTest, DollarWithoutANameIsLiteral) {
  EXPECT_EQ(Split("$ a$ $/x \"$\" \"a$\" cost$"), (Words{"$", "a$", "$/x", "$", "a$", "cost$"}));
  EXPECT_EQ(Split("$\"x\""), (Words{"$x"}));
  EXPECT_EQ(Split("$%"), (Words{"$%"}));
}

TEST(ShellWordsTest, NoGlobbingOrTildeExpansion) {
  EXPECT_EQ(Split("*.js ? [ab] ~ ~/x {a,b} }"),
            (Words{"*.js", "?", "[ab]", "~", "~/x", "{a,b}", "}"}));
}

TEST(ShellWordsTest, HashStartsACommentOnlyAtAWordStart) {
  EXPECT_EQ(Split("node app.js # the app"), (Words{"node", "app.js"}));
  EXPECT_EQ(Split("a # c1\nb #c2"), (Words{"a", "b"}));
  EXPECT_EQ(Split("a#b '#c' \"#d\" \\#e $EMPTY#f"), (Words{"a#b", "#c", "#d", "#e", "#f"}));
  EXPECT_EQ(Split("# only a comment 'unterminated"), Words{});
}

TEST(ShellWordsTest, CommandSubstitutionIsAnError) {
  EXPECT_EQ(SplitError("node `which x`"),
            "backtick at position 6: command substitution is not supported (no shell runs)");
  EXPECT_EQ(SplitError("\"a`b\""),
            "backtick at position 3: command substitution is not supported (no shell runs)");
  EXPECT_EQ(SplitError("x $(pwd)"),
            "$( at position 3: command substitution is not supported (no shell runs)");
  EXPECT_EQ(SplitError("\"$((1+2))\""),
            "$( at position 2: command substitution is not supported (no shell runs)");
}

TEST(ShellWordsTest, UnterminatedQuotesNameTheOpeningPosition) {
  EXPECT_EQ(SplitError("node 'index.js"), "unterminated single quote at position 6");
  EXPECT_EQ(SplitError("a \"b\" \"c"), "unterminated double quote at position 7");
  EXPECT_EQ(SplitError("\"abc\\\""), "unterminated double quote at position 1");
  EXPECT_EQ(SplitError("\"abc\\"), "unterminated double quote at position 1");
}

TEST(ShellWordsTest, UnterminatedBraceIsAnError) {
  EXPECT_EQ(SplitError("x ${ONE"), "unterminated ${ at position 3");
  EXPECT_EQ(SplitError("${ONE:-abc"), "unterminated ${ at position 1");
  EXPECT_EQ(SplitError("\"${UNSET:-abc"), "unterminated ${ at position 2");
  // Inside a quoted ${...}, a '"' opens nested quotes, as in bash.
  EXPECT_EQ(SplitError("\"${UNSET:-abc\""), "unterminated double quote at position 14");
  EXPECT_EQ(SplitError("${"), "unterminated ${ at position 1");
  EXPECT_EQ(SplitError("${UNSET:-'}'"), "unterminated ${ at position 1");
}

TEST(ShellWordsTest, OtherParameterExpansionsAreErrors) {
  const std::string detail = ": only ${VAR}, ${VAR-default} and ${VAR:-default} are supported";
  EXPECT_EQ(SplitError("${}"), "${ at position 1" + detail);
  EXPECT_EQ(SplitError("a ${#ONE}"), "${ at position 3" + detail);
  EXPECT_EQ(SplitError("${ONE:=x}"), "${ at position 1" + detail);
  EXPECT_EQ(SplitError("${ONE:+x}"), "${ at position 1" + detail);
  EXPECT_EQ(SplitError("${ONE%.js}"), "${ at position 1" + detail);
  EXPECT_EQ(SplitError("${1}"), "${ at position 1" + detail);
  EXPECT_EQ(SplitError("${ONE X}"), "${ at position 1" + detail);
}

TEST(ShellWordsTest, SpecialParametersAreErrors) {
  EXPECT_EQ(SplitError("run $1"),
            "$1 at position 5: special parameters are not supported (no shell runs)");
  EXPECT_EQ(SplitError("\"$@\""),
            "$@ at position 2: special parameters are not supported (no shell runs)");
  EXPECT_EQ(SplitError("$$"),
            "$$ at position 1: special parameters are not supported (no shell runs)");
  EXPECT_EQ(SplitError("$?"),
            "$? at position 1: special parameters are not supported (no shell runs)");
  EXPECT_EQ(SplitError("$'\\n'"), "$' at position 1: $'...' quoting is not supported");
}

TEST(ShellWordsTest, ShellOperatorsAreErrors) {
  EXPECT_EQ(SplitError("node app.js > /tmp/log"),
            "'>' at position 13: a redirection needs a shell, and none runs; quote it to pass it "
            "literally");
  EXPECT_EQ(
      SplitError("a|b"),
      "'|' at position 2: a pipe needs a shell, and none runs; quote it to pass it literally");
  EXPECT_EQ(SplitError("a; b"),
            "';' at position 2: a command separator needs a shell, and none runs; quote it to pass "
            "it literally");
  EXPECT_EQ(SplitError("a &"),
            "'&' at position 3: a background or and-list operator needs a shell, and none runs; "
            "quote it to pass it literally");
  EXPECT_EQ(SplitError("(a)"),
            "'(' at position 1: a subshell or grouping needs a shell, and none runs; quote it to "
            "pass it literally");
  // Quoted, escaped or inside a default they are plain characters.
  EXPECT_EQ(Split("'a|b' \"<x>\" \\; ${UNSET:-a&b}"), (Words{"a|b", "<x>", ";", "a&b"}));
}

TEST(ShellWordsTest, TrailingBackslashIsAnError) {
  EXPECT_EQ(SplitError("node app\\"),
            "trailing backslash at position 9: there is nothing to escape");
}

TEST(ShellWordsTest, NulByteIsAnError) {
  EXPECT_EQ(SplitError(std::string_view("ab\0c", 4)), "NUL byte at position 3");
}

TEST(ShellWordsTest, NonAsciiBytesPassThrough) {
  EXPECT_EQ(Split("h\xC3\xA9llo '\xE2\x82\xAC'"), (Words{"h\xC3\xA9llo", "\xE2\x82\xAC"}));
}

TEST(ShellWordsTest, TypicalRuntimeCommandLines) {
  EnvMap env = kEnv;
  env["NODE_OPTIONS"] = "--enable-source-maps";
  EXPECT_EQ(Split("/opt/nodejs/bin/node $NODE_OPTIONS /var/task/node_modules/.bin/aws-lambda-ric "
                  "\"index.handler\"",
                  env),
            (Words{"/opt/nodejs/bin/node", "--enable-source-maps",
                   "/var/task/node_modules/.bin/aws-lambda-ric", "index.handler"}));
  EXPECT_EQ(Split("python3 -c 'import sys; print(sys.argv)' \"$LAMBDA_TASK_ROOT/app py\""),
            (Words{"python3", "-c", "import sys; print(sys.argv)", "/var/task/app py"}));
}

}  // namespace
}  // namespace anysnap
