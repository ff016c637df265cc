#include "anysnap/shell_words.h"

#include <cstring>
#include <optional>
#include <string>

namespace anysnap {

namespace {

// The default IFS: the only field separators a shell uses when IFS is unset.
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n'; }
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsSpecialParameter(char c) {
  return (c >= '0' && c <= '9') || std::strchr("@*#?-$!", c) != nullptr;
}
// Unquoted characters that make a shell pipe, redirect, separate or group.
bool IsOperator(char c) { return std::strchr("|&;<>()", c) != nullptr; }

const char* OperatorName(char c) {
  switch (c) {
    case '|':
      return "a pipe";
    case '&':
      return "a background or and-list operator";
    case ';':
      return "a command separator";
    case '<':
    case '>':
      return "a redirection";
    default:
      return "a subshell or grouping";
  }
}

// WordSplitter is one pass over `text`. The parse functions are entered with
// pos_ on the character that starts their construct and leave it just past it.
// `emit` false parses without producing words: the unused default of a ${...}
// is still checked for syntax but not expanded.
class WordSplitter {
 public:
  WordSplitter(std::string_view text, const EnvMap& env) : text_(text), env_(env) {}

  Result<std::vector<std::string>> Run() {
    size_t nul = text_.find('\0');
    if (nul != std::string_view::npos) return Error("NUL byte", nul, "");
    Status s = ParseUnquoted(/*brace_start=*/std::nullopt, /*emit=*/true);
    if (!s.ok()) return s;
    EndWord();
    return std::move(words_);
  }

 private:
  static Status Error(std::string_view what, size_t pos, std::string_view detail) {
    std::string msg = std::string(what) + " at position " + std::to_string(pos + 1);
    if (!detail.empty()) msg += ": " + std::string(detail);
    return Status::InvalidArgument(msg);
  }

  bool AtEnd() const { return pos_ >= text_.size(); }

  // Adds text that is not subject to field splitting to the current word.
  void AddLiteral(std::string_view s, bool emit) {
    if (!emit) return;
    cur_ += s;
    have_word_ = true;
  }
  void AddLiteral(char c, bool emit) { AddLiteral(std::string_view(&c, 1), emit); }

  // Adds an expansion's value: unquoted ones are field-split.
  void AddExpansion(std::string_view value, bool quoted, bool emit) {
    if (!emit) return;
    if (quoted) {
      cur_ += value;
      return;  // The enclosing quotes already made a word.
    }
    for (char c : value) {
      if (IsBlank(c)) {
        EndWord();
      } else {
        cur_ += c;
        have_word_ = true;
      }
    }
  }

  void EndWord() {
    if (!have_word_) return;
    words_.push_back(std::move(cur_));
    cur_.clear();
    have_word_ = false;
  }

  std::optional<std::string_view> Lookup(std::string_view name) const {
    auto it = env_.find(std::string(name));
    if (it == env_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

  // Unquoted text: the whole input when `brace_start` is empty, else the default
  // word of an unquoted ${VAR:-...} opened at `brace_start`, up to its '}'.
  Status ParseUnquoted(std::optional<size_t> brace_start, bool emit) {
    const bool top = !brace_start.has_value();
    bool word_start = true;  // For comments: a '#' only starts one at a word's start.
    while (!AtEnd()) {
      char c = text_[pos_];
      if (IsBlank(c)) {
        if (emit) EndWord();
        ++pos_;
        word_start = true;
        continue;
      }
      if (!top && c == '}') {
        ++pos_;
        return Status::Ok();
      }
      if (top && word_start && c == '#') {
        while (!AtEnd() && text_[pos_] != '\n') ++pos_;
        continue;
      }
      word_start = false;
      Status s;
      switch (c) {
        case '\'':
          s = ParseSingleQuoted(emit);
          break;
        case '"':
          s = ParseDoubleQuoted(emit);
          break;
        case '\\':
          if (pos_ + 1 >= text_.size())
            return Error("trailing backslash", pos_, "there is nothing to escape");
          if (text_[pos_ + 1] != '\n') AddLiteral(text_[pos_ + 1], emit);
          pos_ += 2;  // A backslash-newline joins lines: both go.
          break;
        case '$':
          s = ParseDollar(/*quoted=*/false, emit);
          break;
        case '`':
          return Error("backtick", pos_, "command substitution is not supported (no shell runs)");
        default:
          if (top && IsOperator(c)) {
            return Error(std::string("'") + c + "'", pos_,
                         std::string(OperatorName(c)) +
                             " needs a shell, and none runs; quote it to pass it literally");
          }
          AddLiteral(c, emit);
          ++pos_;
      }
      if (!s.ok()) return s;
    }
    if (!top) return Error("unterminated ${", *brace_start, "");
    return Status::Ok();
  }

  Status ParseSingleQuoted(bool emit) {
    size_t start = pos_;
    size_t close = text_.find('\'', start + 1);
    if (close == std::string_view::npos) return Error("unterminated single quote", start, "");
    AddLiteral(text_.substr(start + 1, close - start - 1), emit);
    pos_ = close + 1;
    return Status::Ok();
  }

  // A backslash inside double quotes (or a double-quoted ${...} default, where
  // it may also escape '}'): escapes only the characters POSIX lists.
  void ParseQuotedBackslash(bool emit, bool in_brace) {
    char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    if (next == '\n') {
      pos_ += 2;
    } else if (next == '$' || next == '`' || next == '"' || next == '\\' ||
               (in_brace && next == '}')) {
      AddLiteral(next, emit);
      pos_ += 2;
    } else {
      AddLiteral('\\', emit);
      ++pos_;
    }
  }

  Status ParseDoubleQuoted(bool emit) {
    size_t start = pos_++;
    if (emit) have_word_ = true;  // Even "" is a word.
    while (!AtEnd()) {
      char c = text_[pos_];
      Status s;
      switch (c) {
        case '"':
          ++pos_;
          return Status::Ok();
        case '\\':
          ParseQuotedBackslash(emit, /*in_brace=*/false);
          break;
        case '$':
          s = ParseDollar(/*quoted=*/true, emit);
          break;
        case '`':
          return Error("backtick", pos_, "command substitution is not supported (no shell runs)");
        default:
          AddLiteral(c, emit);
          ++pos_;
      }
      if (!s.ok()) return s;
    }
    return Error("unterminated double quote", start, "");
  }

  // The default word of a ${VAR:-...} inside double quotes, up to its '}'.
  // Nested "..." are allowed (as bash does); single quotes are literal here.
  Status ParseQuotedBraceWord(size_t brace_start, bool emit) {
    while (!AtEnd()) {
      char c = text_[pos_];
      Status s;
      switch (c) {
        case '}':
          ++pos_;
          return Status::Ok();
        case '"':
          s = ParseDoubleQuoted(emit);
          break;
        case '\\':
          ParseQuotedBackslash(emit, /*in_brace=*/true);
          break;
        case '$':
          s = ParseDollar(/*quoted=*/true, emit);
          break;
        case '`':
          return Error("backtick", pos_, "command substitution is not supported (no shell runs)");
        default:
          AddLiteral(c, emit);
          ++pos_;
      }
      if (!s.ok()) return s;
    }
    return Error("unterminated ${", brace_start, "");
  }

  Status ParseDollar(bool quoted, bool emit) {
    size_t start = pos_++;
    if (AtEnd()) {
      AddLiteral('$', emit);
      return Status::Ok();
    }
    char c = text_[pos_];
    if (c == '{') return ParseBrace(start, quoted, emit);
    if (c == '(') {
      return Error("$(", start, "command substitution is not supported (no shell runs)");
    }
    if (IsNameStart(c)) {
      size_t name_start = pos_;
      while (!AtEnd() && IsNameChar(text_[pos_])) ++pos_;
      auto value = Lookup(text_.substr(name_start, pos_ - name_start));
      AddExpansion(value.value_or(""), quoted, emit);
      return Status::Ok();
    }
    if (IsSpecialParameter(c)) {
      return Error(std::string("$") + c, start,
                   "special parameters are not supported (no shell runs)");
    }
    if (c == '\'' && !quoted) return Error("$'", start, "$'...' quoting is not supported");
    AddLiteral('$', emit);  // "$", "$/", "a$ b": a shell keeps these literally too.
    return Status::Ok();
  }

  // ${VAR}, ${VAR-default} or ${VAR:-default}; pos_ is on the '{'.
  Status ParseBrace(size_t start, bool quoted, bool emit) {
    ++pos_;
    size_t name_start = pos_;
    if (!AtEnd() && IsNameStart(text_[pos_])) {
      while (!AtEnd() && IsNameChar(text_[pos_])) ++pos_;
    }
    std::string_view name = text_.substr(name_start, pos_ - name_start);
    if (AtEnd()) return Error("unterminated ${", start, "");
    char c = text_[pos_];
    bool colon = c == ':' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '-';
    if (name.empty() || (c != '}' && c != '-' && !colon)) {
      if (text_.find('}', pos_) == std::string_view::npos)
        return Error("unterminated ${", start, "");
      return Error("${", start, "only ${VAR}, ${VAR-default} and ${VAR:-default} are supported");
    }
    auto value = Lookup(name);
    if (c == '}') {
      ++pos_;
      AddExpansion(value.value_or(""), quoted, emit);
      return Status::Ok();
    }
    pos_ += colon ? 2 : 1;
    bool use_default = !value.has_value() || (colon && value->empty());
    if (!use_default) AddExpansion(*value, quoted, emit);
    if (quoted) return ParseQuotedBraceWord(start, emit && use_default);
    return ParseUnquoted(start, emit && use_default);
  }

  std::string_view text_;
  const EnvMap& env_;
  size_t pos_ = 0;
  std::vector<std::string> words_;
  std::string cur_;
  bool have_word_ = false;  // cur_ is a word even if empty (it had quotes).
};

}  // namespace

Result<std::vector<std::string>> SplitShellWords(std::string_view text, const EnvMap& env) {
  return WordSplitter(text, env).Run();
}

}  // namespace anysnap
