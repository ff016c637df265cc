#include "anysnap/upstream_client.h"

#include <curl/curl.h>
#include <http_parser.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "anysnap/log.h"
#include "anysnap/runtime_api.h"
#include "http_parsing.h"

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

// ---- What both paths share.

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Returns true iff request field `h` goes upstream: hop-by-hop fields stay
// behind, and so do those the forwarding connection sets itself.
bool IsForwardedRequestHeader(const HttpHeader& h, const HttpHeaders& all) {
  return !IsHopByHop(h.name, all) && !EqualsIgnoreCase(h.name, "Host") &&
         !EqualsIgnoreCase(h.name, "Content-Length") && !EqualsIgnoreCase(h.name, "Expect");
}

// Begins the runtime's copy of an upstream answer: its fields minus hop-by-hop
// ones, framed by `out` (a known length stays a Content-Length).
Status BeginRelayedAnswer(ResponseWriter& out, int status, const HttpHeaders& headers) {
  HttpHeaders pass;
  pass.reserve(headers.size());
  std::optional<uint64_t> length;
  bool chunked = false;
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, "Content-Length")) {
      length = ParseContentLength(h.value);
      continue;
    }
    if (EqualsIgnoreCase(h.name, "Transfer-Encoding")) chunked = true;
    if (IsHopByHop(h.name, headers)) continue;
    pass.push_back(h);
  }
  if (chunked) length.reset();
  return out.Begin(status, pass, length);
}

// How an attempt that brought no complete answer ended.
struct FailedAttempt {
  int answer_status = 0;   // the upstream's, when its answer had begun
  bool retryable = false;  // dead before any byte of the answer, body replayable
  Status body_error;       // the client's body broke off
  Status error;            // why: relaying to the runtime, else the upstream side
};

// Settles `outcome` after a failed attempt by the rules both paths share.
// Returns true iff the request is to be sent again on a fresh connection.
bool SettleFailedAttempt(const FailedAttempt& failed, const HttpRequest& request,
                         ResponseWriter& out, int attempt, bool aborting, const HostPort& upstream,
                         ForwardOutcome& outcome) {
  if (out.started()) {
    // The answer had begun: it cannot be taken back or sent again. Closing
    // the connection tells the runtime the answer is incomplete.
    outcome.status = failed.answer_status;
    outcome.answered_by_upstream = true;
    outcome.error = failed.error;
    out.CloseAfterResponse();
    return false;
  }
  if (!failed.body_error.ok()) {
    outcome.error = failed.body_error;
    outcome.status = 400;
    out.CloseAfterResponse();
    out.RespondError(400, "InvalidRequest", failed.body_error.message());
    return false;
  }
  if (aborting) {
    outcome.error = Status::Aborted("delegator is shutting down");
    outcome.status = 503;
    out.CloseAfterResponse();
    out.RespondError(503, "Delegator.ShuttingDown", outcome.error.message());
    return false;
  }
  if (attempt == 0 && failed.retryable) {
    Log().Debug("upstream connection dead before any answer (" + failed.error.message() +
                "), sending " + request.method + " " + request.target +
                " again on a fresh connection");
    outcome.retried = true;
    return true;
  }
  outcome.error = failed.error;
  outcome.status = 502;
  out.RespondError(502, "Delegator.UpstreamUnavailable",
                   "Runtime API at " + upstream.ToString() + " failed: " + failed.error.message());
  return false;
}

// Settles `outcome` for a complete answer and ends the runtime's copy.
void SettleAnswer(int status, HttpHeaders headers, const HttpHeaders& trailers, ResponseWriter& out,
                  ForwardOutcome& outcome) {
  outcome.status = status;
  outcome.answered_by_upstream = true;
  outcome.response_headers = std::move(headers);
  Status s = out.End(trailers);
  if (!s.ok()) outcome.error = s.WithContext("answering the runtime");
}

// ---- The libcurl path.

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
  Status s = BeginRelayedAnswer(*ex->out, ex->status, ex->headers);
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
  return SteadyNowNs() >= ex->abort_deadline_ns->load() ? 1 : 0;
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

// ---- The direct path.

// Parses one upstream answer with http_parser and relays it to a
// ResponseWriter as it arrives: the head once complete (through
// BeginRelayedAnswer), body bytes as they come. Interim (1xx) answers are
// skipped. The caller ends the runtime's copy with trailers() once complete().
class AnswerRelay {
 public:
  AnswerRelay(bool head_request, ResponseWriter* out) : head_request_(head_request), out_(out) {
    http_parser_init(&parser_, HTTP_RESPONSE);
    parser_.data = this;
  }
  AnswerRelay(const AnswerRelay&) = delete;
  AnswerRelay& operator=(const AnswerRelay&) = delete;

  // Feeds `len` received bytes, or the end of the stream when `len` is 0.
  // Returns true while more of the answer is expected.
  bool Feed(const char* data, size_t len);

  // Returns true iff the whole answer has been parsed and relayed.
  bool complete() const { return complete_; }
  // Returns true iff the connection may carry another exchange.
  bool reusable() const { return complete_ && keep_alive_ && !trailing_bytes_; }
  // Returns true iff any byte of an answer arrived.
  bool any_byte() const { return any_byte_; }
  int status() const { return status_; }
  HttpHeaders& headers() { return headers_; }
  const HttpHeaders& trailers() const { return trailers_; }
  // Why the exchange failed: relaying to the runtime, else the upstream side.
  Status error() const {
    return !client_error_.ok() ? client_error_.WithContext("answering the runtime") : error_;
  }

 private:
  static AnswerRelay* Self(http_parser* p) { return static_cast<AnswerRelay*>(p->data); }
  bool CountHeaderBytes(size_t n) {
    header_bytes_ += n;
    return header_bytes_ <= UpstreamClient::kMaxAnswerHeaderBytes;
  }

  static int OnMessageBegin(http_parser* p);
  static int OnStatus(http_parser* p, const char* at, size_t len);
  static int OnHeaderField(http_parser* p, const char* at, size_t len);
  static int OnHeaderValue(http_parser* p, const char* at, size_t len);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t len);
  static int OnMessageComplete(http_parser* p);
  static const http_parser_settings kSettings;

  const bool head_request_;
  ResponseWriter* const out_;
  http_parser parser_;
  HeaderAssembler fields_;
  size_t header_bytes_ = 0;
  bool in_head_ = false;
  bool interim_ = false;
  bool any_byte_ = false;
  bool complete_ = false;
  bool keep_alive_ = false;
  bool trailing_bytes_ = false;
  int status_ = 0;
  HttpHeaders headers_;
  HttpHeaders trailers_;
  Status client_error_;
  Status error_;
};

const http_parser_settings AnswerRelay::kSettings = [] {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_message_begin = &AnswerRelay::OnMessageBegin;
  s.on_status = &AnswerRelay::OnStatus;
  s.on_header_field = &AnswerRelay::OnHeaderField;
  s.on_header_value = &AnswerRelay::OnHeaderValue;
  s.on_headers_complete = &AnswerRelay::OnHeadersComplete;
  s.on_body = &AnswerRelay::OnBody;
  s.on_message_complete = &AnswerRelay::OnMessageComplete;
  return s;
}();

int AnswerRelay::OnMessageBegin(http_parser* p) {
  AnswerRelay* r = Self(p);
  r->in_head_ = true;
  r->header_bytes_ = 0;
  r->headers_.clear();
  r->headers_.reserve(kTypicalHeaderCount);
  r->fields_.Clear();
  return 0;
}

int AnswerRelay::OnStatus(http_parser* p, const char*, size_t len) {
  return Self(p)->CountHeaderBytes(len) ? 0 : 1;
}

int AnswerRelay::OnHeaderField(http_parser* p, const char* at, size_t len) {
  AnswerRelay* r = Self(p);
  if (!r->CountHeaderBytes(len)) return 1;
  r->fields_.OnField({at, len}, r->in_head_ ? r->headers_ : r->trailers_);
  return 0;
}

int AnswerRelay::OnHeaderValue(http_parser* p, const char* at, size_t len) {
  AnswerRelay* r = Self(p);
  if (!r->CountHeaderBytes(len)) return 1;
  r->fields_.OnValue({at, len});
  return 0;
}

// Returns 1 for answers without a body: http_parser would otherwise take the
// Content-Length of a HEAD, 204 or 304 answer as the size of one to come.
int AnswerRelay::OnHeadersComplete(http_parser* p) {
  AnswerRelay* r = Self(p);
  r->fields_.Finish(r->headers_);
  r->in_head_ = false;
  r->header_bytes_ = 0;  // trailers get a budget of their own
  r->status_ = p->status_code;
  if (r->status_ == 101) {
    r->error_ = Status::ProtocolError("upstream: switched protocols unasked");
    return -1;
  }
  r->interim_ = r->status_ >= 100 && r->status_ < 200;
  if (r->interim_) return 1;
  Status s = BeginRelayedAnswer(*r->out_, r->status_, r->headers_);
  if (!s.ok()) {
    r->client_error_ = s;
    return -1;
  }
  return r->head_request_ || r->status_ == 204 || r->status_ == 304 ? 1 : 0;
}

int AnswerRelay::OnBody(http_parser* p, const char* at, size_t len) {
  AnswerRelay* r = Self(p);
  Status s = r->out_->Write({at, len});
  if (!s.ok()) {
    r->client_error_ = s;
    return -1;
  }
  return 0;
}

int AnswerRelay::OnMessageComplete(http_parser* p) {
  AnswerRelay* r = Self(p);
  if (r->interim_) return 0;  // the final answer follows on the same stream
  r->fields_.Finish(r->trailers_);
  r->complete_ = true;
  r->keep_alive_ = http_should_keep_alive(p) != 0;
  http_parser_pause(p, 1);
  return 0;
}

bool AnswerRelay::Feed(const char* data, size_t len) {
  if (len > 0) any_byte_ = true;
  size_t parsed = http_parser_execute(&parser_, &kSettings, data, len);
  if (complete_) {
    trailing_bytes_ = parsed < len;  // never expected: the upstream does not pipeline
    return false;
  }
  enum http_errno err = HTTP_PARSER_ERRNO(&parser_);
  if (err != HPE_OK) {
    if (error_.ok() && client_error_.ok()) {
      error_ = err == HPE_CB_header_field || err == HPE_CB_header_value || err == HPE_CB_status
                   ? Status::ProtocolError("upstream: answer header section exceeds " +
                                           std::to_string(UpstreamClient::kMaxAnswerHeaderBytes) +
                                           " bytes")
                   : Status::ProtocolError(std::string("upstream: malformed answer: ") +
                                           http_errno_description(err));
    }
    return false;
  }
  if (len == 0) {
    error_ =
        Status::Unavailable(any_byte_ ? "upstream: connection closed in the middle of the answer"
                                      : "upstream: connection closed before any answer");
    return false;
  }
  return true;
}

// Reads exactly `length` body bytes.
Result<std::string> ReadBodyOfLength(RequestBody& body, size_t length) {
  std::string data(length, '\0');
  size_t got = 0;
  while (got < length) {
    auto n = body.Read(data.data() + got, length - got);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::ProtocolError("request body shorter than its Content-Length");
    got += *n;
  }
  return data;
}

// The request head as the direct path sends it.
std::string RequestHead(const HttpRequest& request, std::string_view host) {
  size_t size = request.method.size() + request.target.size() + host.size() + 64;
  for (const auto& h : request.headers) size += h.name.size() + h.value.size() + 4;
  std::string head;
  head.reserve(size);
  head += request.method;
  head += ' ';
  head += request.target;
  head += " HTTP/1.1\r\nHost: ";
  head += host;
  head += "\r\n";
  for (const auto& h : request.headers) {
    if (!IsForwardedRequestHeader(h, request.headers)) continue;
    head += h.name;
    head += h.value.empty() ? ":" : ": ";
    head += h.value;
    head += "\r\n";
  }
  if (request.content_length) {
    head += "Content-Length: ";
    head += std::to_string(*request.content_length);
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

// Returns true iff the direct path carries `request`.
bool TakesDirectPath(const HttpRequest& request) {
  return !request.chunked && request.content_length.value_or(0) <= UpstreamClient::kReplayLimit;
}

}  // namespace

UpstreamClient::UpstreamClient(HostPort upstream)
    : upstream_(std::move(upstream)),
      base_url_("http://" + upstream_.ToString()),
      host_header_(upstream_.ToString()) {
  InitCurlOnce();
  LiftHttpParserHeaderLimit();  // AnswerRelay counts against kMaxAnswerHeaderBytes
}

UpstreamClient::~UpstreamClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    destroying_ = true;
  }
  abort_changed_.notify_all();
  if (grace_timer_.joinable()) grace_timer_.join();
}

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

bool UpstreamClient::RefusesLocked(bool long_poll) const {
  if (!aborting_.load()) return false;
  return long_poll || SteadyNowNs() >= abort_deadline_ns_.load();
}

Result<UpstreamClient::Lease> UpstreamClient::Acquire(bool fresh, bool long_poll) {
  Lease lease;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (RefusesLocked(long_poll)) return Status::Aborted("delegator is shutting down");
    if (!fresh && !idle_sockets_.empty()) {
      lease = std::move(idle_sockets_.back());
      idle_sockets_.pop_back();
      sockets_in_use_.push_back({lease.fd.get(), long_poll});
      return lease;
    }
    lease.generation = generation_;
  }
  auto fd = ConnectTcp(upstream_);
  if (!fd.ok()) return Status::Unavailable("upstream: " + fd.status().message());
  lease.fd = std::move(fd.value());
  std::lock_guard<std::mutex> lock(mu_);
  if (RefusesLocked(long_poll)) return Status::Aborted("delegator is shutting down");
  sockets_in_use_.push_back({lease.fd.get(), long_poll});
  return lease;
}

void UpstreamClient::Release(Lease lease, bool reusable) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < sockets_in_use_.size(); ++i) {
    if (sockets_in_use_[i].fd == lease.fd.get()) {
      sockets_in_use_[i] = sockets_in_use_.back();
      sockets_in_use_.pop_back();
      break;
    }
  }
  if (reusable && lease.generation == generation_ && !aborting_.load()) {
    idle_sockets_.push_back(std::move(lease));
  }
  // else: the lease's descriptor closes as it goes out of scope.
}

void UpstreamClient::DropConnections() {
  std::vector<std::unique_ptr<Handle>> doomed;
  std::vector<Lease> doomed_sockets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    doomed.swap(idle_);
    doomed_sockets.swap(idle_sockets_);
  }
}

void UpstreamClient::Abort(std::chrono::milliseconds grace) {
  int64_t deadline =
      SteadyNowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(grace).count();
  std::vector<Lease> doomed_sockets;
  std::lock_guard<std::mutex> lock(mu_);
  // A second Abort() may shorten the grace, never lengthen it.
  if (!aborting_.load() || deadline < abort_deadline_ns_.load()) abort_deadline_ns_.store(deadline);
  aborting_.store(true);
  // libcurl's transfers notice aborting_ in their progress callback; the
  // direct path's blocking reads end when their socket is shut down.
  for (const InUse& in_use : sockets_in_use_) {
    if (in_use.long_poll) ::shutdown(in_use.fd, SHUT_RDWR);
  }
  doomed_sockets.swap(idle_sockets_);
  if (!grace_timer_.joinable()) grace_timer_ = std::thread([this] { ShutDownAfterGrace(); });
  abort_changed_.notify_all();
}

void UpstreamClient::ShutDownAfterGrace() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (destroying_) return;
    auto deadline = std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::nanoseconds(abort_deadline_ns_.load())));
    if (std::chrono::steady_clock::now() >= deadline) break;
    abort_changed_.wait_until(lock, deadline);
  }
  // From now on Acquire() refuses every request, so no socket joins the list.
  for (const InUse& in_use : sockets_in_use_) ::shutdown(in_use.fd, SHUT_RDWR);
}

ForwardOutcome UpstreamClient::Forward(const HttpRequest& request, RequestBody& body,
                                       ResponseWriter& out, bool long_poll) {
  return TakesDirectPath(request) ? ForwardDirect(request, body, out, long_poll)
                                  : ForwardCurl(request, body, out, long_poll);
}

ForwardOutcome UpstreamClient::ForwardDirect(const HttpRequest& request, RequestBody& body,
                                             ResponseWriter& out, bool long_poll) {
  ForwardOutcome outcome;
  std::string payload;
  if (request.content_length.value_or(0) > 0) {
    // Read in full before sending: kept for a replay, and sent with the head.
    auto read = ReadBodyOfLength(body, *request.content_length);
    if (!read.ok()) {
      FailedAttempt failed;
      failed.body_error = read.status();
      SettleFailedAttempt(failed, request, out, 0, aborting_.load(), upstream_, outcome);
      return outcome;
    }
    payload = std::move(read.value());
  }
  const std::string head = RequestHead(request, host_header_);
  char buffer[64 * 1024];

  for (int attempt = 0;; ++attempt) {
    FailedAttempt failed;
    auto lease = Acquire(/*fresh=*/attempt > 0, long_poll);
    if (!lease.ok()) {
      failed.retryable = lease.status().code() == Status::Code::kUnavailable;
      failed.error = lease.status();
    } else {
      const int fd = lease->fd.get();
      AnswerRelay relay(request.method == "HEAD", &out);
      Status sent = SendAll(fd, head, payload);
      // Even when sending failed, an answer may have come (an early refusal
      // before the upstream closed): read until the stream says.
      Status received;
      for (bool more = true; more;) {
        ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
        if (n < 0) {
          if (errno == EINTR) continue;
          received = PosixError("upstream: recv", errno);
          break;
        }
        more = relay.Feed(buffer, static_cast<size_t>(n));
      }
      Release(std::move(lease.value()), sent.ok() && relay.reusable());
      if (relay.complete()) {
        SettleAnswer(relay.status(), std::move(relay.headers()), relay.trailers(), out, outcome);
        return outcome;
      }
      failed.answer_status = relay.status();
      failed.retryable = !relay.any_byte();
      failed.error = relay.error();
      if (!relay.any_byte() && !sent.ok()) {
        failed.error = Status::Unavailable("upstream: " + sent.message());
      } else if (!received.ok() && (!relay.any_byte() || failed.error.ok())) {
        failed.error = Status::Unavailable(received.message());
      }
    }
    if (!SettleFailedAttempt(failed, request, out, attempt, aborting_.load(), upstream_, outcome))
      return outcome;
  }
}

ForwardOutcome UpstreamClient::ForwardCurl(const HttpRequest& request, RequestBody& body,
                                           ResponseWriter& out, bool long_poll) {
  ForwardOutcome outcome;
  // libcurl 7.88 (Debian 12) overruns its upload buffer when a reused easy
  // handle sends a chunked body with a trailer callback: a chunked upload gets
  // a handle of its own, never pooled.
  std::unique_ptr<Handle> handle;
  if (request.chunked) {
    std::lock_guard<std::mutex> lock(mu_);
    handle = std::make_unique<Handle>(generation_);
  } else {
    handle = Checkout();
  }
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
    if (!IsForwardedRequestHeader(h, request.headers)) continue;
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
      SettleAnswer(ex.status, std::move(ex.headers), ex.trailers, out, outcome);
      break;
    }
    FailedAttempt failed;
    failed.answer_status = ex.status;
    failed.retryable = IsDeadConnection(rc) && !ex.any_response_byte && ex.replayable;
    failed.body_error = ex.body_error;
    failed.error = !ex.client_error.ok() ? ex.client_error.WithContext("answering the runtime")
                                         : CurlError(rc, error_buffer);
    if (!SettleFailedAttempt(failed, request, out, attempt, aborting_.load(), upstream_, outcome))
      break;
    ex.replay_pos = 0;
    ex.ResetResponse();
  }
  if (!request.chunked) Checkin(std::move(handle));
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
  ForwardOutcome outcome = ForwardCurl(request, source, sink, long_poll);
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
