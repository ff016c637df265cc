#include "hook_channel.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <optional>

#include "anysnap/ascii.h"
#include "anysnap/log.h"
#include "hook_runner.h"

namespace anysnap {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxBody = 64 * 1024;
const HttpHeaders kJson = {{"Content-Type", "application/json"}};

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  AppendJsonEscaped(out, s);
  return out + "\"";
}

// Reads a JSON object body; nullopt after answering 400/413 itself.
std::optional<rapidjson::Document> ReadObject(RequestBody& body, ResponseWriter& out) {
  auto text = body.ReadAll(kMaxBody);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kTooLarge) {
      out.RespondError(413, "Anysnap.BadRequest", "the body is over 64 KiB");
    } else {
      out.RespondError(400, "Anysnap.BadRequest", text.status().message());
      out.CloseAfterResponse();
    }
    return std::nullopt;
  }
  rapidjson::Document doc;
  doc.Parse(text->data(), text->size());
  if (text->empty()) doc.SetObject();
  if (doc.HasParseError() || !doc.IsObject()) {
    out.RespondError(400, "Anysnap.BadRequest", "the body is not a JSON object");
    return std::nullopt;
  }
  return doc;
}

std::string StringMember(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// The strings of an array member (at most 32, each cut at 200 bytes); other
// elements are skipped.
std::vector<std::string> StringsMember(const rapidjson::Value& v, const char* name) {
  std::vector<std::string> out;
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& item : it->value.GetArray()) {
    if (!item.IsString() || out.size() == 32) continue;
    out.emplace_back(item.GetString(), std::min<size_t>(item.GetStringLength(), 200));
  }
  return out;
}

// Splits "clients/1/phase/x?q" into its parts, without the query.
std::vector<std::string_view> PathParts(std::string_view path) {
  return SplitOn(path.substr(0, path.find('?')), '/');
}

}  // namespace

struct HookChannel::Client {
  std::string id;
  std::string name;              // "nodejs pid 42 (client 1)", for log lines and messages
  std::string asked;             // phase asked for and not reported yet
  std::optional<Status> report;  // the report for `asked`
  int hooks_run = 0;             // from the last report
  bool reseed = false;           // a reseed client (asked for after-restore only)
  std::vector<std::string> reseeded, not_reseeded;  // from the last report
  bool done = false;                                // no phase left: polls answer "done"
  uint64_t poll_generation = 0;                     // a newer poll supersedes an older one
};

HookChannel::HookChannel(std::vector<std::string> phases) : phases_(std::move(phases)) {}

HookChannel::~HookChannel() = default;

void HookChannel::Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out) {
  std::vector<std::string_view> parts =
      PathParts(std::string_view(request.target).substr(kHookChannelPrefix.size()));
  if (parts.size() == 1 && parts[0] == "clients") {
    if (request.method != "POST") {
      out.RespondError(405, "Anysnap.MethodNotAllowed", "register with POST");
      return;
    }
    Register(body, out);
    return;
  }
  if (parts.size() >= 3 && parts[0] == "clients" && parts[2] == "phase" && parts.size() <= 4) {
    Client* client;
    {
      std::lock_guard<std::mutex> lock(mu_);
      client = Find(parts[1]);
    }
    if (client == nullptr) {
      out.RespondError(404, "Anysnap.UnknownClient",
                       "no hook client " + std::string(parts[1]) + " is registered");
      return;
    }
    if (parts.size() == 3 && request.method == "GET") {
      Poll(*client, out);
      return;
    }
    if (parts.size() == 4 && request.method == "POST") {
      Report(*client, parts[3], body, out);
      return;
    }
    out.RespondError(405, "Anysnap.MethodNotAllowed",
                     "poll a phase with GET, report one with POST");
    return;
  }
  out.RespondError(404, "Anysnap.NotFound", "no such hook channel resource: " + request.target);
}

HookChannel::Client* HookChannel::Find(std::string_view id) {
  for (auto& c : clients_) {
    if (c->id == id) return c.get();
  }
  return nullptr;
}

void HookChannel::Register(RequestBody& body, ResponseWriter& out) {
  auto doc = ReadObject(body, out);
  if (!doc) return;
  std::string language = StringMember(*doc, "language");
  int64_t pid = 0;
  if (auto it = doc->FindMember("pid"); it != doc->MemberEnd() && it->value.IsInt64())
    pid = it->value.GetInt64();
  bool reseed = false;
  if (auto it = doc->FindMember("reseed"); it != doc->MemberEnd() && it->value.IsBool())
    reseed = it->value.GetBool();
  // A reseed client runs after restore only, and only where there is a restore.
  std::vector<std::string> phases;
  for (const std::string& phase : phases_) {
    if (!reseed || phase == kAfterRestorePhase) phases.push_back(phase);
  }
  std::string id;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!open_) {
      out.RespondError(409, "Anysnap.TooLate",
                       "init has ended: hooks registered now would never run");
      return;
    }
    auto client = std::make_unique<Client>();
    client->id = id = std::to_string(clients_.size() + 1);
    client->name = (language.empty() ? std::string("process") : language) +
                   (pid > 0 ? " pid " + std::to_string(pid) : std::string()) +
                   (reseed ? " (reseed client " : " (hook client ") + id + ")";
    client->reseed = reseed;
    client->done = phases.empty();
    name = client->name;
    clients_.push_back(std::move(client));
  }
  std::string answer = "{\"id\":" + Quoted(id) + ",\"phases\":[";
  for (size_t i = 0; i < phases.size(); ++i) {
    if (i) answer += ',';
    answer += Quoted(phases[i]);
  }
  answer += "]}";
  Log().Info((reseed ? "reseed registered: " : "in-process hooks registered: ") + name);
  out.Respond(201, kJson, answer);
}

void HookChannel::Poll(Client& client, ResponseWriter& out) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t generation = ++client.poll_generation;
  changed_.notify_all();  // an older poll of this client gives way
  changed_.wait(lock, [&] {
    return stopping_ || client.done || (!client.asked.empty() && !client.report) ||
           client.poll_generation != generation;
  });
  if (client.poll_generation != generation) {
    lock.unlock();
    out.RespondError(409, "Anysnap.Superseded", "a newer poll of this client replaced this one");
    return;
  }
  std::string phase;
  if (!client.asked.empty() && !client.report) {
    phase = client.asked;
  } else if (client.done) {
    phase = "done";
  } else {
    lock.unlock();
    out.RespondError(503, "Anysnap.ShuttingDown", "anysnap is shutting down");
    out.CloseAfterResponse();
    return;
  }
  lock.unlock();
  out.Respond(200, kJson, "{\"phase\":" + Quoted(phase) + "}");
}

void HookChannel::Report(Client& client, std::string_view phase, RequestBody& body,
                         ResponseWriter& out) {
  auto doc = ReadObject(body, out);
  if (!doc) return;
  auto ok = doc->FindMember("ok");
  if (ok == doc->MemberEnd() || !ok->value.IsBool()) {
    out.RespondError(400, "Anysnap.BadRequest", "the report needs \"ok\": true or false");
    return;
  }
  Status report;
  int hooks = 0;
  std::vector<std::string> reseeded = StringsMember(*doc, "reseeded");
  std::vector<std::string> not_reseeded = StringsMember(*doc, "not_reseeded");
  if (ok->value.GetBool()) {
    if (auto it = doc->FindMember("hooks"); it != doc->MemberEnd() && it->value.IsInt())
      hooks = std::max(it->value.GetInt(), 0);
  } else {
    std::string hook = StringMember(*doc, "hook");
    std::string type = StringMember(*doc, "errorType");
    std::string message = StringMember(*doc, "errorMessage");
    report =
        Status::Failed("hook " + (hook.empty() ? std::string("(unnamed)") : hook) + " failed" +
                       (type.empty() ? "" : ": " + type) + (message.empty() ? "" : ": " + message));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (client.asked != phase || client.report) {
      std::string asked = client.asked.empty() || client.report ? "none" : client.asked;
      // Answered below, outside the lock.
      report = Status::InvalidArgument(asked);
    } else {
      client.report = report;
      client.hooks_run = hooks;
      client.reseeded = std::move(reseeded);
      client.not_reseeded = std::move(not_reseeded);
      changed_.notify_all();
      report = Status::Ok();
    }
  }
  if (!report.ok()) {
    out.RespondError(
        409, "Anysnap.WrongPhase",
        "phase " + std::string(phase) + " was not asked for (asked: " + report.message() + ")");
    return;
  }
  out.Respond(204, {}, "");
}

size_t HookChannel::CloseRegistration() {
  std::lock_guard<std::mutex> lock(mu_);
  open_ = false;
  return clients_.size();
}

size_t HookChannel::client_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

size_t HookChannel::hook_client_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(
      std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return !c->reseed; }));
}

size_t HookChannel::reseed_client_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(
      std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->reseed; }));
}

Status HookChannel::RunReseed(Clock::time_point deadline, ReseedOutcome* outcome) {
  std::vector<Client*> order;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : clients_)
      if (c->reseed) order.push_back(c.get());
  }
  for (Client* client : order) {
    Status s = RunClient(*client, kAfterRestorePhase, deadline);
    if (s.code() == Status::Code::kAborted) return s;
    std::lock_guard<std::mutex> lock(mu_);
    // "nodejs pid 42", without the client number: the line names processes.
    const std::string who = client->name.substr(0, client->name.find(" ("));
    if (!s.ok()) {
      outcome->not_reseeded.push_back(who + ": nothing (" + s.message() + ")");
      continue;
    }
    auto list = [](const std::vector<std::string>& items) {
      std::string out;
      for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
      return out;
    };
    outcome->reseeded.push_back(
        who + ": " +
        (client->reseeded.empty() ? std::string("nothing in use") : list(client->reseeded)));
    if (!client->not_reseeded.empty())
      outcome->not_reseeded.push_back(who + ": " + list(client->not_reseeded));
  }
  return Status::Ok();
}

Status HookChannel::RunPhase(std::string_view phase, bool reverse, Clock::time_point deadline) {
  std::vector<Client*> order;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : clients_)
      if (!c->reseed) order.push_back(c.get());
  }
  if (reverse) std::reverse(order.begin(), order.end());
  for (Client* client : order) ANYSNAP_RETURN_IF_ERROR(RunClient(*client, phase, deadline));
  return Status::Ok();
}

Status HookChannel::RunClient(Client& client, std::string_view phase, Clock::time_point deadline) {
  const Clock::time_point start = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  client.asked = std::string(phase);
  client.report.reset();
  changed_.notify_all();
  bool reported = changed_.wait_until(lock, deadline, [&] { return stopping_ || client.report; });
  if (stopping_ && !client.report) return Status::Aborted("stopped: anysnap is shutting down");
  if (!reported) {
    client.report = Status::TimedOut("");  // a late report gets 409
    return Status::TimedOut("in-process hooks of " + client.name + " timed out");
  }
  Status report = *client.report;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::string name = client.name;
  int hooks = client.hooks_run;
  lock.unlock();
  if (!report.ok()) return Status::Failed(report.message() + " in " + name);
  if (client.reseed) return Status::Ok();  // RunReseed says what it did
  Log().Info(std::string(phase) + ": in-process hooks of " + name + " ran " +
             std::to_string(hooks) + " hook" + (hooks == 1 ? "" : "s") + " in " +
             std::to_string(ms) + " ms");
  return Status::Ok();
}

void HookChannel::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : clients_) c->done = true;
  changed_.notify_all();
}

void HookChannel::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  open_ = false;
  changed_.notify_all();
}

}  // namespace anysnap
