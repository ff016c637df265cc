#include "anysnap/upstream_client.h"

#include <http_parser.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "anysnap/log.h"
#include "anysnap/runtime_api.h"
#include "http_parsing.h"

namespace anysnap {

namespace {

using std::chrono::milliseconds;

// Bytes moved per read and send of a streamed body, and per read of an answer.
constexpr size_t kIoBufferBytes = 64 * 1024;

// How often a bounded Call() looks at its cancel flag.
constexpr milliseconds kCancelCheck{50};

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

// Parses one upstream answer with http_parser and relays it to a
// ResponseWriter as it arrives: the head once complete (through
// BeginRelayedAnswer), body bytes as they come. Interim (1xx) answers are
// skipped. The caller ends the runtime's copy with trailers() once complete().
class AnswerRelay {
 public:
  // `error_prefix` begins the messages of the upstream side's errors.
  AnswerRelay(bool head_request, ResponseWriter* out, std::string_view error_prefix)
      : head_request_(head_request), out_(out), error_prefix_(error_prefix) {
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
  // The last piece of a Content-Length body, held back from the runtime until
  // the caller has returned the upstream connection to the pool: a runtime
  // that has its whole answer may send its next request at once, and that
  // request should find the connection there rather than open another.
  const std::string& held_tail() const { return held_tail_; }
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
  const std::string_view error_prefix_;
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
  std::string held_tail_;
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
    r->error_ = Status::ProtocolError(std::string(r->error_prefix_) + "switched protocols unasked");
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
  // http_parser has already counted this piece: none left means it is the last.
  if ((p->flags & F_CHUNKED) == 0 && p->content_length == 0) {
    r->held_tail_.assign(at, len);
    return 0;
  }
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
                   ? Status::ProtocolError(
                         std::string(error_prefix_) + "answer header section exceeds " +
                         std::to_string(UpstreamClient::kMaxAnswerHeaderBytes) + " bytes")
                   : Status::ProtocolError(std::string(error_prefix_) +
                                           "malformed answer: " + http_errno_description(err));
    }
    return false;
  }
  if (len == 0) {
    error_ = Status::Unavailable(std::string(error_prefix_) +
                                 (any_byte_ ? "connection closed in the middle of the answer"
                                            : "connection closed before any answer"));
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

// Returns true iff `s` is a Call() giving up (deadline or cancel), which no
// retry can mend.
bool GaveUp(const Status& s) {
  return s.code() == Status::Code::kTimedOut || s.code() == Status::Code::kAborted;
}

// Waits on a socket within a Call()'s deadline and cancel flag; without
// either it waits as long as it takes.
class Waiter {
 public:
  // `error_prefix` begins the messages of the socket's errors.
  Waiter(const CallOptions& options, std::string_view error_prefix)
      : options_(options), error_prefix_(error_prefix) {}

  std::string_view error_prefix() const { return error_prefix_; }

  // Returns true iff the options bound the wait.
  bool bounded() const { return options_.deadline.has_value() || options_.cancel != nullptr; }

  // Polls `p` until an event arrives. Fails with TimedOut once the deadline
  // passed, Aborted once the cancel flag is set.
  Status Poll(pollfd& p) const {
    for (;;) {
      int timeout = -1;
      if (options_.cancel != nullptr) {
        if (options_.cancel->load()) return Status::Aborted("cancelled");
        timeout = static_cast<int>(kCancelCheck.count());
      }
      if (options_.deadline) {
        auto left =
            std::chrono::ceil<milliseconds>(*options_.deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return Status::TimedOut("timed out");
        int left_ms = static_cast<int>(std::min<int64_t>(left.count(), INT_MAX));
        timeout = timeout < 0 ? left_ms : std::min(timeout, left_ms);
      }
      int n = ::poll(&p, 1, timeout);
      if (n > 0) return Status::Ok();
      if (n < 0 && errno != EINTR) return PosixError(std::string(error_prefix_) + "poll", errno);
    }
  }

 private:
  const CallOptions& options_;
  const std::string_view error_prefix_;
};

// Reads the answer from `fd` into `relay` until the relay wants no more.
Status ReceiveAnswer(int fd, AnswerRelay& relay, const Waiter& waiter) {
  char buffer[kIoBufferBytes];
  for (bool more = true; more;) {
    if (waiter.bounded()) {
      pollfd p{fd, POLLIN, 0};
      Status ready = waiter.Poll(p);
      if (!ready.ok()) return ready;
    }
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(std::string(waiter.error_prefix()) + "recv", errno);
    }
    more = relay.Feed(buffer, static_cast<size_t>(n));
  }
  return Status::Ok();
}

// How sending a request went.
struct Sent {
  bool all = false;          // every byte of the request left
  bool answer_over = false;  // the relay wants no more input (an early answer)
  Status error;              // sending failed, or the Call() gave up
};

// Sends `iov` on `fd` while watching for an answer that arrives before the
// request is complete (a 413 in the middle of a 7 MB body): whatever arrives
// goes to `relay` at once, and once the relay wants no more the sending
// stops.
Sent SendWatching(int fd, iovec* iov, size_t count, AnswerRelay& relay, const Waiter& waiter) {
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  char buffer[kIoBufferBytes];
  Sent sent;
  while (msg.msg_iovlen > 0) {
    pollfd p{fd, POLLIN | POLLOUT, 0};
    sent.error = waiter.Poll(p);
    if (!sent.error.ok()) return sent;
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n >= 0) {
        if (!relay.Feed(buffer, static_cast<size_t>(n))) {
          sent.answer_over = true;
          return sent;
        }
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        sent.error = PosixError("recv", errno);
        return sent;
      }
    }
    if ((p.revents & POLLOUT) == 0) continue;
    ssize_t n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      sent.error = PosixError("send", errno);
      return sent;
    }
    ConsumeIov(msg, static_cast<size_t>(n));
  }
  sent.all = true;
  return sent;
}

// A request body relayed upstream as it arrives from the runtime: chunked
// bodies chunk by chunk with their trailers, large Content-Length bodies as
// they are. What was read is kept while it fits in kReplayLimit, so that a
// retry on a fresh connection can send it again.
class StreamedBody {
 public:
  StreamedBody(const HttpRequest& request, RequestBody& body)
      : chunked_(request.chunked), length_(request.content_length), body_(body) {}
  StreamedBody(const StreamedBody&) = delete;
  StreamedBody& operator=(const StreamedBody&) = delete;

  // Sends `head` and then the body (what was kept first, on a retry) to `fd`.
  Sent Send(int fd, std::string_view head, AnswerRelay& relay, const Waiter& waiter);

  // Returns true iff everything read so far can be sent again.
  bool replayable() const { return replayable_; }
  // Why the runtime's body broke off, if it did.
  const Status& body_error() const { return body_error_; }

 private:
  // Sends one piece of the body, framed as a chunk when the body is chunked.
  Sent SendPiece(int fd, std::string_view piece, AnswerRelay& relay, const Waiter& waiter);
  // Keeps `piece` for a replay while everything read still fits.
  void Keep(std::string_view piece);

  const bool chunked_;
  const std::optional<uint64_t> length_;
  RequestBody& body_;
  std::string kept_;
  bool replayable_ = true;
  uint64_t read_ = 0;
  bool eof_ = false;
  Status body_error_;
};

Sent StreamedBody::SendPiece(int fd, std::string_view piece, AnswerRelay& relay,
                             const Waiter& waiter) {
  char size_line[24];
  int size_len = std::snprintf(size_line, sizeof(size_line), "%zx\r\n", piece.size());
  static constexpr char kCrlf[] = "\r\n";
  iovec framed[3] = {{size_line, static_cast<size_t>(size_len)},
                     {const_cast<char*>(piece.data()), piece.size()},
                     {const_cast<char*>(kCrlf), 2}};
  if (chunked_) return SendWatching(fd, framed, 3, relay, waiter);
  return SendWatching(fd, &framed[1], 1, relay, waiter);
}

void StreamedBody::Keep(std::string_view piece) {
  if (!replayable_) return;
  if (kept_.size() + piece.size() <= UpstreamClient::kReplayLimit) {
    kept_.append(piece);
    return;
  }
  replayable_ = false;
  std::string().swap(kept_);
}

Sent StreamedBody::Send(int fd, std::string_view head, AnswerRelay& relay, const Waiter& waiter) {
  iovec head_iov = {const_cast<char*>(head.data()), head.size()};
  Sent sent = SendWatching(fd, &head_iov, 1, relay, waiter);
  if (!sent.all) return sent;
  if (!kept_.empty()) {
    sent = SendPiece(fd, kept_, relay, waiter);
    if (!sent.all) return sent;
  }
  std::string buffer(kIoBufferBytes, '\0');
  while (!eof_) {
    auto n = body_.Read(buffer.data(), buffer.size());
    if (!n.ok()) {
      body_error_ = n.status();
      return Sent{};
    }
    if (*n == 0) {
      eof_ = true;
      break;
    }
    const std::string_view piece(buffer.data(), *n);
    read_ += piece.size();
    Keep(piece);
    sent = SendPiece(fd, piece, relay, waiter);
    if (!sent.all) return sent;
  }
  if (!chunked_) {
    if (length_ && read_ != *length_) {
      body_error_ = Status::ProtocolError("request body shorter than its Content-Length");
      return Sent{};
    }
    return sent;
  }
  std::string last = "0\r\n";
  for (const auto& t : body_.trailers()) {
    last += t.name;
    last += ": ";
    last += t.value;
    last += "\r\n";
  }
  last += "\r\n";
  iovec last_iov = {last.data(), last.size()};
  return SendWatching(fd, &last_iov, 1, relay, waiter);
}

// The request head: the runtime's fields minus hop-by-hop ones, and the
// framing of the body that follows.
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
  if (request.chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (request.content_length) {
    head += "Content-Length: ";
    head += std::to_string(*request.content_length);
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

// Returns true iff `request`'s body leaves whole, with its head.
bool SendsWholeBody(const HttpRequest& request) {
  return !request.chunked && request.content_length.value_or(0) <= UpstreamClient::kReplayLimit;
}

}  // namespace

UpstreamClient::UpstreamClient(HostPort upstream, std::string_view peer)
    : upstream_(std::move(upstream)),
      host_header_(upstream_.ToString()),
      error_prefix_(peer.empty() ? std::string() : std::string(peer) + ": ") {
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
  if (!fd.ok()) return Status::Unavailable(error_prefix_ + fd.status().message());
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
  std::vector<Lease> doomed_sockets;
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  doomed_sockets.swap(idle_sockets_);
}

void UpstreamClient::Abort(std::chrono::milliseconds grace) {
  int64_t deadline =
      SteadyNowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(grace).count();
  std::vector<Lease> doomed_sockets;
  std::lock_guard<std::mutex> lock(mu_);
  // A second Abort() may shorten the grace, never lengthen it.
  if (!aborting_.load() || deadline < abort_deadline_ns_.load()) abort_deadline_ns_.store(deadline);
  aborting_.store(true);
  // Blocking reads and polls end when their socket is shut down.
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
  CallOptions options;
  options.long_poll = long_poll;
  return Exchange(request, body, out, options);
}

ForwardOutcome UpstreamClient::Exchange(const HttpRequest& request, RequestBody& body,
                                        ResponseWriter& out, const CallOptions& options) {
  ForwardOutcome outcome;
  const Waiter waiter(options, error_prefix_);
  const bool whole = SendsWholeBody(request);
  std::string payload;
  if (whole && request.content_length.value_or(0) > 0) {
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
  std::optional<StreamedBody> streamed;
  if (!whole) streamed.emplace(request, body);
  const std::string head = RequestHead(request, host_header_);

  // Whether every body byte sent so far can be sent again.
  auto replayable = [&] { return whole || streamed->replayable(); };

  for (int attempt = 0;; ++attempt) {
    FailedAttempt failed;
    auto lease = Acquire(/*fresh=*/attempt > 0, options.long_poll);
    if (!lease.ok()) {
      failed.retryable = lease.status().code() == Status::Code::kUnavailable && replayable();
      failed.error = lease.status();
    } else {
      const int fd = lease->fd.get();
      AnswerRelay relay(request.method == "HEAD", &out, error_prefix_);
      Sent sent;
      if (whole) {
        sent.error = SendAll(fd, head, payload);
        sent.all = sent.error.ok();
      } else {
        sent = streamed->Send(fd, head, relay, waiter);
        if (!streamed->body_error().ok()) failed.body_error = streamed->body_error();
      }
      // Even when sending failed, an answer may have come (an early refusal
      // before the upstream closed): read until the stream says.
      Status received;
      if (!sent.answer_over && failed.body_error.ok() && !GaveUp(sent.error)) {
        received = ReceiveAnswer(fd, relay, waiter);
      }
      Release(std::move(lease.value()), sent.all && relay.reusable());
      if (relay.complete()) {
        Status tail = relay.held_tail().empty() ? Status::Ok() : out.Write(relay.held_tail());
        SettleAnswer(relay.status(), std::move(relay.headers()), relay.trailers(), out, outcome);
        if (!tail.ok()) outcome.error = tail.WithContext("answering the runtime");
        return outcome;
      }
      failed.answer_status = relay.status();
      failed.retryable = !relay.any_byte() && replayable();
      failed.error = relay.error();
      if (GaveUp(sent.error) || GaveUp(received)) {
        failed.error = GaveUp(sent.error) ? sent.error : received;
        failed.retryable = false;
      } else if (!relay.any_byte() && !sent.error.ok()) {
        failed.error = Status::Unavailable(error_prefix_ + sent.error.message());
      } else if (!received.ok() && (!relay.any_byte() || failed.error.ok())) {
        failed.error = Status::Unavailable(received.message());
      }
    }
    if (!SettleFailedAttempt(failed, request, out, attempt, aborting_.load(), upstream_, outcome))
      return outcome;
  }
}

Result<UpstreamResponse> UpstreamClient::Call(std::string_view method, std::string_view target,
                                              const HttpHeaders& headers, std::string_view body,
                                              const CallOptions& options) {
  HttpRequest request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.headers = headers;
  if (method != "GET" && method != "HEAD") request.content_length = body.size();
  StringBody source(body);
  CapturingWriter sink;
  ForwardOutcome outcome = Exchange(request, source, sink, options);
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
