// The hook channel (/anysnap/v1/) on any request: the input's first line is
// "METHOD PATH" (PATH under /anysnap/v1/), the rest the body. Requests reach
// HookChannel::Handle as the delegator passes them, after a client has
// registered; every answer is a complete response with a JSON error document
// or a JSON body. The channel announces no phase, so a poll answers at once.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "anysnap/http.h"
#include "hook_channel.h"

namespace {

class StringBody final : public anysnap::RequestBody {
 public:
  explicit StringBody(std::string_view data) : data_(data) {}
  anysnap::Result<size_t> Read(char* buf, size_t cap) override {
    size_t n = std::min(cap, data_.size());
    std::copy(data_.begin(), data_.begin() + static_cast<ptrdiff_t>(n), buf);
    data_.remove_prefix(n);
    return n;
  }
  const anysnap::HttpHeaders& trailers() const override { return trailers_; }

 private:
  std::string_view data_;
  anysnap::HttpHeaders trailers_;
};

class Recorder final : public anysnap::ResponseWriter {
 public:
  anysnap::Status Begin(int status, const anysnap::HttpHeaders&, std::optional<uint64_t>) override {
    if (started_ || status < 200 || status > 599) std::abort();
    started_ = true;
    return anysnap::Status::Ok();
  }
  anysnap::Status Write(std::string_view) override {
    if (!started_) std::abort();
    return anysnap::Status::Ok();
  }
  anysnap::Status End(const anysnap::HttpHeaders&) override {
    ended_ = true;
    return anysnap::Status::Ok();
  }
  bool started() const override { return started_; }
  void CloseAfterResponse() override {}
  bool ended() const { return ended_; }

 private:
  bool started_ = false;
  bool ended_ = false;
};

void Send(anysnap::HookChannel& channel, std::string method, std::string target,
          std::string_view body) {
  anysnap::HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.content_length = body.size();
  StringBody source(body);
  Recorder out;
  channel.Handle(request, source, out);
  if (!out.ended()) std::abort();  // every request gets a whole answer
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t eol = input.find('\n');
  std::string_view line = input.substr(0, eol);
  std::string_view body = eol == std::string_view::npos ? "" : input.substr(eol + 1);
  size_t space = line.find(' ');
  std::string method(line.substr(0, space));
  std::string path(space == std::string_view::npos ? "" : line.substr(space + 1));

  anysnap::HookChannel channel({});
  Send(channel, "POST", "/anysnap/v1/clients", R"({"language":"fuzz","pid":1})");
  Send(channel, method, std::string(anysnap::kHookChannelPrefix) + path, body);
  return 0;
}
