#include "priming.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "anysnap/ascii.h"
#include "anysnap/runtime_api.h"

namespace anysnap {

namespace {

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  v.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

// True for {"event": ...} and {"event": ..., "headers": {...}}.
bool IsWrapped(const rapidjson::Value& v) {
  if (!v.IsObject() || !v.HasMember("event")) return false;
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    std::string_view name(m->name.GetString(), m->name.GetStringLength());
    if (name != "event" && name != "headers") return false;
  }
  return true;
}

}  // namespace

Result<std::vector<PrimeEvent>> ParsePrimeEvents(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return Status::InvalidArgument(
        "not JSON: " + std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at byte " +
        std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsArray()) return Status::InvalidArgument("expected a JSON array of events");
  if (doc.Empty()) return Status::InvalidArgument("the array holds no events");
  std::vector<PrimeEvent> events;
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
    const rapidjson::Value& item = doc[i];
    const std::string where = "event " + std::to_string(i + 1) + ": ";
    PrimeEvent event;
    if (!IsWrapped(item)) {
      event.body = Serialize(item);
      events.push_back(std::move(event));
      continue;
    }
    event.body = Serialize(item["event"]);
    if (item.HasMember("headers")) {
      const rapidjson::Value& headers = item["headers"];
      if (!headers.IsObject())
        return Status::InvalidArgument(where + "\"headers\" must be an object of strings");
      for (auto m = headers.MemberBegin(); m != headers.MemberEnd(); ++m) {
        std::string name(m->name.GetString(), m->name.GetStringLength());
        if (!IsFieldName(name))
          return Status::InvalidArgument(where + "\"" + name + "\" is not a header name");
        if (!m->value.IsString())
          return Status::InvalidArgument(where + "header " + name + " must be a string");
        std::string value(m->value.GetString(), m->value.GetStringLength());
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
          return Status::InvalidArgument(where + "header " + name + " holds a line break");
        if (EqualsIgnoreCase(name, kRequestIdHeader) || EqualsIgnoreCase(name, "Content-Length") ||
            IsHopByHop(name, {})) {
          return Status::InvalidArgument(where + "header " + name + " is set by anysnap");
        }
        event.headers.push_back({std::move(name), std::move(value)});
      }
    }
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace anysnap
