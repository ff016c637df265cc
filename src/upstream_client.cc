#include "anysnap/upstream_client.h"

#include <curl/curl.h>

#include <cstring>
#include <mutex>

#include "anysnap/log.h"
#include "anysnap/runtime_api.h"

namespace anysnap {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_NOTHING); });
}

// One libcurl easy handle and the connection it keeps alive.
class UpstreamClient::Handle {
 public:
  explicit Handle(uint64_t generation) : curl_(curl_easy_init()), generation_(generation) {}
  ~Handle() {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  CURL* get() const { return curl_; }
  uint64_t generation() const { return generation_; }

 private:
  CURL* const curl_;
  const uint64_t generation_;
};

namespace {

// Owns a curl_slist.
class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList() { curl_slist_free_all(list_); }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  void Add(const std::string& line) { list_ = curl_slist_append(list_, line.c_str()); }
  curl_slist* get() const { return list_; }
  curl_slist** address() { return &list_; }

 private:
  curl_slist* list_ = nullptr;
};

Status CurlError(CURLcode code, const char* detail) {
  std::string msg = "upstream: ";
  msg += (detail != nullptr && *detail != '\0') ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return Status::Unavailable(msg);
    case CURLE_OPERATION_TIMEDOUT:
      return Status::TimedOut(msg);
    case CURLE_ABORTED_BY_CALLBACK:
      return Status::Aborted(msg);
    default:
      return Status::ProtocolError(msg);
  }
}

// Errors that mean the connection died before the upstream said anything.
bool IsDeadConnection(CURLcode code) {
  return code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING ||
         code == CURLE_COULDNT_CONNECT;
}

std::string_view TrimLine(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// Parses "Name: value" into `into`; folded continuation lines join the last one.
void AddHeaderLine(std::string_view line, HttpHeaders& into) {
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && !into.empty()) {
    into.back().value += ' ';
    into.back().value += TrimLine(line);
    return;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  into.push_back(
      {std::string(line.substr(0, colon)), std::string(TrimLine(line.substr(colon + 1)))});
}

// The state of one request/response exchange driven by curl's callbacks.
struct Exchange {
  const HttpRequest* request = nullptr;
  RequestBody* body = nullptr;
  ResponseWriter* out = nullptr;
  const std::atomic<bool>* aborting = nullptr;
  const std::atomic<int64_t>* abort_deadline_ns = nullptr;
  bool long_poll = false;

  // Request body, with what was sent kept for a replay while it fits.
  std::string replay;
  bool replayable = true;
  size_t replay_pos = 0;
  bool body_eof = false;
  Status body_error;

  // Response.
  int status = 0;
  HttpHeaders headers;
  HttpHeaders trailers;
  bool any_response_byte = false;
  bool head_done = false;
  Status client_error;

  void ResetResponse() {
    status = 0;
    headers.clear();
    trailers.clear();
    any_response_byte = false;
    head_done = false;
  }
};

size_t ReadBody(char* buffer, size_t size, size_t nitems, void* userp) {
  auto* ex = static_cast<Exchange*>(userp);
  size_t cap = size * nitems;
  if (ex->replay_pos < ex->replay.size()) {
    size_t n = std::min(cap, ex->replay.size() - ex->replay_pos);
    std::memcpy(buffer, ex->replay.data() + ex->replay_pos, n);
    ex->replay_pos += n;
    return n;
  }
  if (ex->body_eof) return 0;
  auto n = ex->body->Read(buffer, cap);
  if (!n.ok()) {
    ex->body_error = n.status();
    return CURL_READFUNC_ABORT;
  }
  if (*n == 0) {
    ex->body_eof = true;
    return 0;
  }
  if (ex->replayable) {
    if (ex->replay.size() + *n <= UpstreamClient::kReplayLimit) {
      ex->replay.append(buffer, *n);
      ex->replay_pos = ex->replay.size();
    } else {
      ex->replayable = false;
      std::string().swap(ex->replay);
      ex->replay_pos = 0;
    }
  }
  return *n;
}

int SeekBody(void* userp, curl_off_t offset, int origin) {
  auto* ex = static_cast<Exchange*>(userp);
  if (origin == SEEK_SET && offset == 0 && ex->replayable) {
    ex->replay_pos = 0;
    return CURL_SEEKFUNC_OK;
  }
  return CURL_SEEKFUNC_CANTSEEK;
}

int SendTrailers(curl_slist** list, void* userp) {
  auto* ex = static_cast<Exchange*>(userp);
  for (const auto& t : ex->body->trailers()) {
    std::string line = t.name + ": " + t.value;
    curl_slist* grown = curl_slist_append(*list, line.c_str());
    if (grown == nullptr) return CURL_TRAILERFUNC_ABORT;
    *list = grown;
  }
  return CURL_TRAILERFUNC_OK;
}

bool BeginClientResponse(Exchange* ex) {
  HttpHeaders pass;
  pass.reserve(ex->headers.size());
  std::optional<uint64_t> length;
  bool chunked = false;
  for (const auto& h : ex->headers) {
    if (EqualsIgnoreCase(h.name, "Content-Length")) {
      length = ParseContentLength(h.value);
      continue;
    }
    if (EqualsIgnoreCase(h.name, "Transfer-Encoding")) chunked = true;
    if (IsHopByHop(h.name, ex->headers)) continue;
    pass.push_back(h);
  }
  if (chunked) length.reset();
  Status s = ex->out->Begin(ex->status, pass, length);
  if (!s.ok()) {
    ex->client_error = s;
    return false;
  }
  return true;
}

size_t OnHeader(char* buffer, size_t size, size_t nitems, void* userp) {
  auto* ex = static_cast<Exchange*>(userp);
  size_t total = size * nitems;
  std::string_view line(buffer, total);
  ex->any_response_byte = true;
  if (ex->head_done) {  // Trailers of a chunked answer.
    if (!TrimLine(line).empty()) AddHeaderLine(line, ex->trailers);
    return total;
  }
  if (line.substr(0, 5) == "HTTP/") {
    ex->headers.clear();
    size_t sp = line.find(' ');
    ex->status =
        sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return total;
  }
  if (TrimLine(line).empty()) {
    if (ex->status >= 100 && ex->status < 200) return total;  // An interim answer.
    ex->head_done = true;
    return BeginClientResponse(ex) ? total : 0;
  }
  AddHeaderLine(line, ex->headers);
  return total;
}

size_t OnBody(char* data, size_t size, size_t nmemb, void* userp) {
  auto* ex = static_cast<Exchange*>(userp);
  size_t total = size * nmemb;
  Status s = ex->out->Write(std::string_view(data, total));
  if (!s.ok()) {
    ex->client_error = s;
    return 0;
  }
  return total;
}

int OnProgress(void* userp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* ex = static_cast<Exchange*>(userp);
  if (!ex->aborting->load(std::memory_order_relaxed)) return 0;
  if (ex->long_poll) return 1;
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  return now >= ex->abort_deadline_ns->load() ? 1 : 0;
}

// A RequestBody over a string, for Call().
class StringBody final : public RequestBody {
 public:
  explicit StringBody(std::string_view data) : data_(data) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    size_t n = std::min(cap, data_.size());
    std::memcpy(buf, data_.data(), n);
    data_.remove_prefix(n);
    return n;
  }
  const HttpHeaders& trailers() const override { return trailers_; }

 private:
  std::string_view data_;
  HttpHeaders trailers_;
};

// A ResponseWriter that keeps the answer, for Call().
class CapturingWriter final : public ResponseWriter {
 public:
  Status Begin(int status, const HttpHeaders& headers, std::optional<uint64_t>) override {
    response.status = status;
    response.headers = headers;
    started_ = true;
    return Status::Ok();
  }
  Status Write(std::string_view data) override {
    if (response.body.size() + data.size() > kLimit)
      return Status::TooLarge("upstream answer exceeds " + std::to_string(kLimit) + " bytes");
    response.body.append(data);
    return Status::Ok();
  }
  Status End(const HttpHeaders&) override { return Status::Ok(); }
  bool started() const override { return started_; }
  void CloseAfterResponse() override {}

  static constexpr size_t kLimit = 16 * 1024 * 1024;
  UpstreamResponse response;

 private:
  bool started_ = false;
};

}  // namespace

UpstreamClient::UpstreamClient(HostPort upstream)
    : upstream_(std::move(upstream)), base_url_("http://" + upstream_.ToString()) {
  InitCurlOnce();
}

UpstreamClient::~UpstreamClient() = default;

std::unique_ptr<UpstreamClient::Handle> UpstreamClient::Checkout() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!idle_.empty()) {
    std::unique_ptr<Handle> h = std::move(idle_.back());
    idle_.pop_back();
    return h;
  }
  return std::make_unique<Handle>(generation_);
}

void UpstreamClient::Checkin(std::unique_ptr<Handle> handle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (handle->generation() == generation_) idle_.push_back(std::move(handle));
  // else: made before DropConnections(); its destructor closes the connection.
}

void UpstreamClient::DropConnections() {
  std::vector<std::unique_ptr<Handle>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    doomed.swap(idle_);
  }
}

void UpstreamClient::Abort(std::chrono::milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  abort_deadline_ns_.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count());
  aborting_.store(true);
}

ForwardOutcome UpstreamClient::Forward(const HttpRequest& request, RequestBody& body,
                                       ResponseWriter& out, bool long_poll) {
  ForwardOutcome outcome;
  std::unique_ptr<Handle> handle = Checkout();
  if (handle->get() == nullptr) {
    outcome.error = Status::Internal("curl_easy_init failed");
    outcome.status = 500;
    out.RespondError(500, "Delegator.InternalError", outcome.error.message());
    return outcome;
  }
  CURL* curl = handle->get();

  HeaderList headers;
  bool has_accept = false;
  for (const auto& h : request.headers) {
    if (IsHopByHop(h.name, request.headers) || EqualsIgnoreCase(h.name, "Host") ||
        EqualsIgnoreCase(h.name, "Content-Length") || EqualsIgnoreCase(h.name, "Expect"))
      continue;
    if (EqualsIgnoreCase(h.name, "Accept")) has_accept = true;
    // curl drops "Name:" (it means "remove"); "Name;" sends an empty value.
    headers.Add(h.value.empty() ? h.name + ";" : h.name + ": " + h.value);
  }
  headers.Add("Expect:");
  if (!has_accept) headers.Add("Accept:");
  bool upload = request.chunked || request.content_length.has_value();

  Exchange ex;
  ex.request = &request;
  ex.body = &body;
  ex.out = &out;
  ex.aborting = &aborting_;
  ex.abort_deadline_ns = &abort_deadline_ns_;
  ex.long_poll = long_poll;
  std::string url = base_url_ + request.target;
  char error_buffer[CURL_ERROR_SIZE];

  for (int attempt = 0;; ++attempt) {
    curl_easy_reset(curl);
    error_buffer[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(curl, CURLOPT_PROXY, "");  // never an http_proxy from the environment
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 64L * 1024);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ex);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ex);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &ex);
    if (attempt > 0) curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (upload) {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadBody);
      curl_easy_setopt(curl, CURLOPT_READDATA, &ex);
      curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, &SeekBody);
      curl_easy_setopt(curl, CURLOPT_SEEKDATA, &ex);
      curl_easy_setopt(
          curl, CURLOPT_INFILESIZE_LARGE,
          request.chunked ? curl_off_t{-1} : static_cast<curl_off_t>(*request.content_length));
      if (request.chunked) {
        curl_easy_setopt(curl, CURLOPT_TRAILERFUNCTION, &SendTrailers);
        curl_easy_setopt(curl, CURLOPT_TRAILERDATA, &ex);
      }
    } else if (request.method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
      outcome.status = ex.status;
      outcome.answered_by_upstream = true;
      outcome.response_headers = std::move(ex.headers);
      Status s = out.End(ex.trailers);
      if (!s.ok()) outcome.error = s.WithContext("answering the runtime");
      break;
    }
    if (out.started()) {
      // The answer had begun: it cannot be taken back or sent again. Closing
      // the connection tells the runtime the answer is incomplete.
      outcome.status = ex.status;
      outcome.answered_by_upstream = true;
      outcome.error = !ex.client_error.ok() ? ex.client_error.WithContext("answering the runtime")
                                            : CurlError(rc, error_buffer);
      out.CloseAfterResponse();
      break;
    }
    if (!ex.body_error.ok()) {
      outcome.error = ex.body_error;
      outcome.status = 400;
      out.CloseAfterResponse();
      out.RespondError(400, "InvalidRequest", ex.body_error.message());
      break;
    }
    if (aborting_.load()) {
      outcome.error = Status::Aborted("delegator is shutting down");
      outcome.status = 503;
      out.CloseAfterResponse();
      out.RespondError(503, "Delegator.ShuttingDown", outcome.error.message());
      break;
    }
    if (attempt == 0 && IsDeadConnection(rc) && !ex.any_response_byte && ex.replayable) {
      Log().Debug(std::string("upstream connection dead before any answer (") +
                  curl_easy_strerror(rc) + "), sending " + request.method + " " + request.target +
                  " again on a fresh connection");
      outcome.retried = true;
      ex.replay_pos = 0;
      ex.ResetResponse();
      continue;
    }
    outcome.error = CurlError(rc, error_buffer);
    outcome.status = 502;
    out.RespondError(
        502, "Delegator.UpstreamUnavailable",
        "Runtime API at " + upstream_.ToString() + " failed: " + outcome.error.message());
    break;
  }
  Checkin(std::move(handle));
  return outcome;
}

Result<UpstreamResponse> UpstreamClient::Call(std::string_view method, std::string_view target,
                                              const HttpHeaders& headers, std::string_view body,
                                              bool long_poll) {
  HttpRequest request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.headers = headers;
  if (method != "GET" && method != "HEAD") request.content_length = body.size();
  StringBody source(body);
  CapturingWriter sink;
  ForwardOutcome outcome = Forward(request, source, sink, long_poll);
  if (!outcome.answered_by_upstream) {
    return outcome.error.ok() ? Status::Unavailable("no answer from the Runtime API")
                              : outcome.error;
  }
  if (!outcome.error.ok()) return outcome.error;
  return std::move(sink.response);
}

bool ReportRuntimeError(UpstreamClient& upstream, std::string_view path,
                        std::string_view error_type, std::string_view message) {
  auto r = upstream.Call("POST", path,
                         {{std::string(kErrorTypeHeader), std::string(error_type)},
                          {"Content-Type", "application/json"}},
                         RuntimeErrorDocument(error_type, message));
  if (!r.ok()) {
    Log().Error("could not report " + std::string(error_type) + " to " + std::string(path) + ": " +
                r.status().message());
    return false;
  }
  if (r->status != 202) {
    Log().Warn("reporting " + std::string(error_type) + " to " + std::string(path) + " got " +
               std::to_string(r->status) + ": " + r->body);
    return false;
  }
  return true;
}

}  // namespace anysnap
