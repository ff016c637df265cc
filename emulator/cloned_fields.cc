#include "cloned_fields.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace anysnap {

namespace {

using Leaves = std::vector<std::pair<std::string, std::string>>;

std::string JsonText(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  value.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

bool IsIdentifier(const std::string& key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$';
    if (!ok) return false;
  }
  return true;
}

std::string KeyStep(const rapidjson::Value& key) {
  std::string name(key.GetString(), key.GetStringLength());
  return IsIdentifier(name) ? "." + name : ".[" + JsonText(key) + "]";
}

// `prefix` is "" at the root, so that a root array's elements are ".[i]".
void Flatten(const rapidjson::Value& value, const std::string& prefix, Leaves& out) {
  if (value.IsObject() && value.MemberCount() > 0) {
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it)
      Flatten(it->value, prefix + KeyStep(it->name), out);
    return;
  }
  if (value.IsArray() && !value.Empty()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i)
      Flatten(value[i], (prefix.empty() ? "." : prefix) + "[" + std::to_string(i) + "]", out);
    return;
  }
  out.emplace_back(prefix.empty() ? "." : prefix, JsonText(value));
}

}  // namespace

Leaves FlattenResponse(const std::string& body) {
  Leaves out;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    out.emplace_back(".", body);  // not JSON: the whole text is one value
    return out;
  }
  Flatten(doc, "", out);
  return out;
}

FieldComparison CompareFields(const std::vector<std::string>& cold,
                              const std::vector<std::string>& restored) {
  FieldComparison result;
  const size_t responses = cold.size() + restored.size();
  std::vector<std::string> order;  // paths as first seen
  // path -> its value in each response (cold first), nullopt where absent
  std::map<std::string, std::vector<std::optional<std::string>>> values;
  size_t index = 0;
  for (const auto* group : {&cold, &restored}) {
    for (const std::string& body : *group) {
      for (auto& [path, value] : FlattenResponse(body)) {
        auto& per_response = values[path];
        if (per_response.empty()) {
          order.push_back(path);
          per_response.resize(responses);
        }
        // A key twice in one body: its last value, as JSON.parse keeps.
        per_response[index] = std::move(value);
      }
      ++index;
    }
  }
  for (const std::string& path : order) {
    const auto& v = values[path];
    if (std::find(v.begin(), v.end(), std::nullopt) != v.end()) {
      result.not_in_every_response.push_back(path);
      continue;
    }
    ++result.compared;
    if (cold.size() < 2 || restored.size() < 2) continue;
    const auto split = v.begin() + static_cast<std::ptrdiff_t>(cold.size());
    std::set<std::string> cold_values, restored_values;
    for (auto it = v.begin(); it != split; ++it) cold_values.insert(**it);
    for (auto it = split; it != v.end(); ++it) restored_values.insert(**it);
    if (cold_values.size() > 1 && restored_values.size() == 1)
      result.cloned.push_back({path, *restored_values.begin()});
  }
  return result;
}

}  // namespace anysnap
