#include "anysnap/http_server.h"

#include <http_parser.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "anysnap/log.h"
#include "http_parsing.h"

namespace anysnap {

namespace {

// Why a connection stopped reading: a clean close between requests, or a fault
// that deserves an answer.
enum class ParseFault { kNone, kClosed, kMalformed, kHeadersTooLarge, kForbiddenForm, kIo };

// One client connection: parses requests with http_parser, exposes the body
// being read, and writes responses. Lives on its connection's thread only.
class Connection final : public RequestBody, public ResponseWriter {
 public:
  Connection(int fd, std::string peer, const HttpServerOptions& options)
      : fd_(fd), peer_(std::move(peer)), options_(options), buf_(options.read_buffer_bytes) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
  }

  // Serves requests until the client closes or a fault ends the connection.
  void Run(HttpHandler* handler);
  // Returns true iff Run ended by answering a malformed request (400, 431):
  // the client may still be sending.
  bool answered_fault() const { return answered_fault_; }

  // RequestBody:
  Result<size_t> Read(char* buf, size_t cap) override;
  const HttpHeaders& trailers() const override { return trailers_; }

  // ResponseWriter:
  Status Begin(int status, const HttpHeaders& headers, std::optional<uint64_t> length) override;
  Status Write(std::string_view data) override;
  Status End(const HttpHeaders& trailers) override;
  bool started() const override { return started_; }
  void CloseAfterResponse() override { close_after_ = true; }
  bool peer_gone() override;

 private:
  enum class Phase { kIdle, kHead, kBody, kComplete };

  // Feeds buffered (or freshly received) bytes to the parser until it pauses
  // at an event or fails. On failure records fault_ and returns false.
  bool Advance();
  bool ReadHead();
  void ResetForNextRequest();
  Status Flush();
  void AnswerFault();
  bool CountHeaderBytes(size_t n);

  static int OnMessageBegin(http_parser* p);
  static int OnUrl(http_parser* p, const char* at, size_t len);
  static int OnHeaderField(http_parser* p, const char* at, size_t len);
  static int OnHeaderValue(http_parser* p, const char* at, size_t len);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t len);
  static int OnMessageComplete(http_parser* p);
  static const http_parser_settings kSettings;

  const int fd_;
  const std::string peer_;
  const HttpServerOptions& options_;
  http_parser parser_;

  std::vector<char> buf_;
  size_t buf_begin_ = 0;  // unparsed bytes are buf_[buf_begin_, buf_end_)
  size_t buf_end_ = 0;
  bool eof_ = false;
  bool answered_fault_ = false;

  Phase phase_ = Phase::kIdle;
  ParseFault fault_ = ParseFault::kNone;
  std::string fault_detail_;
  size_t header_bytes_ = 0;
  HttpRequest request_;
  HttpHeaders trailers_;
  HeaderAssembler fields_;
  const char* body_at_ = nullptr;  // pending body bytes handed out by on_body
  size_t body_len_ = 0;

  // Response state.
  std::string out_;
  bool started_ = false;
  bool ended_ = false;
  bool chunked_out_ = false;
  bool head_only_ = false;
  std::optional<uint64_t> body_left_;  // of a Content-Length body
  bool close_after_ = false;
  bool write_failed_ = false;
};

const http_parser_settings Connection::kSettings = [] {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_message_begin = &Connection::OnMessageBegin;
  s.on_url = &Connection::OnUrl;
  s.on_header_field = &Connection::OnHeaderField;
  s.on_header_value = &Connection::OnHeaderValue;
  s.on_headers_complete = &Connection::OnHeadersComplete;
  s.on_body = &Connection::OnBody;
  s.on_message_complete = &Connection::OnMessageComplete;
  return s;
}();

Connection* Self(http_parser* p) { return static_cast<Connection*>(p->data); }

int Connection::OnMessageBegin(http_parser* p) {
  Connection* c = Self(p);
  c->phase_ = Phase::kHead;
  c->request_.headers.reserve(kTypicalHeaderCount);
  return 0;
}

bool Connection::CountHeaderBytes(size_t n) {
  header_bytes_ += n;
  if (header_bytes_ > options_.max_header_bytes) {
    fault_ = ParseFault::kHeadersTooLarge;
    return false;
  }
  return true;
}

int Connection::OnUrl(http_parser* p, const char* at, size_t len) {
  Connection* c = Self(p);
  if (!c->CountHeaderBytes(len)) return 1;
  c->request_.target.append(at, len);
  return 0;
}

int Connection::OnHeaderField(http_parser* p, const char* at, size_t len) {
  Connection* c = Self(p);
  if (!c->CountHeaderBytes(len)) return 1;
  c->fields_.OnField({at, len}, c->phase_ == Phase::kHead ? c->request_.headers : c->trailers_);
  return 0;
}

int Connection::OnHeaderValue(http_parser* p, const char* at, size_t len) {
  Connection* c = Self(p);
  if (!c->CountHeaderBytes(len)) return 1;
  c->fields_.OnValue({at, len});
  return 0;
}

int Connection::OnHeadersComplete(http_parser* p) {
  Connection* c = Self(p);
  c->fields_.Finish(c->request_.headers);
  HttpRequest& r = c->request_;
  FillRequestHead(p, r);
  r.peer = c->peer_;
  c->phase_ = Phase::kBody;
  c->header_bytes_ = 0;  // trailers get a budget of their own
  http_parser_pause(p, 1);
  return 0;
}

int Connection::OnBody(http_parser* p, const char* at, size_t len) {
  Connection* c = Self(p);
  c->body_at_ = at;
  c->body_len_ = len;
  http_parser_pause(p, 1);
  return 0;
}

int Connection::OnMessageComplete(http_parser* p) {
  Connection* c = Self(p);
  c->fields_.Finish(c->trailers_);
  c->phase_ = Phase::kComplete;
  http_parser_pause(p, 1);
  return 0;
}

bool Connection::Advance() {
  for (;;) {
    if (buf_begin_ == buf_end_ && !eof_) {
      buf_begin_ = buf_end_ = 0;
      ssize_t n;
      do {
        n = ::recv(fd_, buf_.data(), buf_.size(), 0);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        fault_ = ParseFault::kIo;
        fault_detail_ = std::strerror(errno);
        return false;
      }
      if (n == 0) {
        eof_ = true;
        if (phase_ == Phase::kIdle) {
          fault_ = ParseFault::kClosed;
          return false;
        }
      }
      buf_end_ = static_cast<size_t>(n);
    }
    size_t avail = buf_end_ - buf_begin_;
    if (avail == 0 && eof_) {
      // Tell the parser the stream ended: it completes a close-delimited
      // message or reports the truncation.
      http_parser_execute(&parser_, &kSettings, nullptr, 0);
      if (phase_ == Phase::kComplete) return true;
      fault_ = phase_ == Phase::kIdle ? ParseFault::kClosed : ParseFault::kMalformed;
      fault_detail_ = "connection closed in the middle of a request";
      return false;
    }
    size_t n = http_parser_execute(&parser_, &kSettings, buf_.data() + buf_begin_, avail);
    buf_begin_ += n;
    enum http_errno err = HTTP_PARSER_ERRNO(&parser_);
    if (err == HPE_PAUSED) {
      http_parser_pause(&parser_, 0);
      return true;
    }
    if (err != HPE_OK) {
      if (fault_ == ParseFault::kNone) {
        fault_ = err == HPE_HEADER_OVERFLOW ? ParseFault::kHeadersTooLarge : ParseFault::kMalformed;
        fault_detail_ = http_errno_description(err);
      }
      return false;
    }
    // All buffered bytes consumed without an event: read more.
  }
}

bool Connection::ReadHead() {
  while (phase_ != Phase::kBody && phase_ != Phase::kComplete) {
    if (!Advance()) return false;
  }
  if (parser_.upgrade) {
    // http_parser stops at the head of CONNECT and Upgrade requests.
    fault_ = ParseFault::kForbiddenForm;
    fault_detail_ = parser_.method == HTTP_CONNECT ? "CONNECT is not supported"
                                                   : "protocol upgrades are not supported";
    return false;
  }
  if (request_.target.empty() || request_.target.front() != '/') {
    fault_ = ParseFault::kForbiddenForm;
    fault_detail_ = "only origin-form request targets are accepted (not a proxy)";
    return false;
  }
  if (request_.http_major != 1) {
    fault_ = ParseFault::kMalformed;
    fault_detail_ = "unsupported HTTP version";
    return false;
  }
  // http_parser, lenient, takes "Content-Length : 3" as framing while the name
  // is not Content-Length to anyone matching names exactly: the body would go
  // one way and its length another (RFC 9112 §5.1: reject with 400).
  for (const HttpHeader& h : request_.headers) {
    if (!IsFieldName(h.name)) {
      fault_ = ParseFault::kMalformed;
      fault_detail_ = "invalid header field name";
      return false;
    }
  }
  // A transfer coding other than a final chunked leaves the body's length
  // unknown (RFC 9112 §6.3); http_parser would only say so after the head.
  if (parser_.uses_transfer_encoding && (parser_.flags & F_CHUNKED) == 0) {
    fault_ = ParseFault::kMalformed;
    fault_detail_ = "unsupported Transfer-Encoding (only chunked is accepted)";
    return false;
  }
  return true;
}

Result<size_t> Connection::Read(char* buf, size_t cap) {
  while (body_len_ == 0) {
    if (phase_ == Phase::kComplete) return size_t{0};
    if (!Advance()) {
      if (fault_ == ParseFault::kIo || fault_ == ParseFault::kClosed)
        return Status::Unavailable("client connection lost while sending the body");
      return Status::ProtocolError("malformed request body: " + fault_detail_);
    }
  }
  size_t n = std::min(cap, body_len_);
  std::memcpy(buf, body_at_, n);
  body_at_ += n;
  body_len_ -= n;
  return n;
}

Status Connection::Flush() {
  if (out_.empty()) return Status::Ok();
  Status s = SendAll(fd_, out_);
  out_.clear();
  if (!s.ok()) write_failed_ = true;
  return s;
}

Status Connection::Begin(int status, const HttpHeaders& headers, std::optional<uint64_t> length) {
  if (started_) return Status::Internal("response already started");
  started_ = true;
  bool old_client = request_.http_minor == 0;
  if (old_client && !request_.keep_alive) close_after_ = true;
  if (!request_.keep_alive) close_after_ = true;
  bool no_body_status = status == 204 || status == 304;
  head_only_ = request_.method == "HEAD" || no_body_status;
  if (!length && !no_body_status && old_client) close_after_ = true;  // close-delimited
  chunked_out_ = !length && !no_body_status && !old_client;

  out_.reserve(256);
  out_ += "HTTP/1.1 ";
  out_ += std::to_string(status);
  out_ += ' ';
  out_ += ReasonPhrase(status);
  out_ += "\r\n";
  for (const auto& h : headers) {
    out_ += h.name;
    out_ += ": ";
    out_ += h.value;
    out_ += "\r\n";
  }
  if (!no_body_status) {
    if (length) {
      out_ += "Content-Length: ";
      out_ += std::to_string(*length);
      out_ += "\r\n";
    } else if (chunked_out_) {
      out_ += "Transfer-Encoding: chunked\r\n";
    }
  }
  if (close_after_) out_ += "Connection: close\r\n";
  out_ += "\r\n";
  // A response whose last byte is written leaves now, not at End: a relayed
  // answer reaches the client before the relay has finished its bookkeeping.
  if (head_only_ || length == uint64_t{0}) return Flush();
  if (length) body_left_ = *length;
  return Status::Ok();
}

Status Connection::Write(std::string_view data) {
  if (!started_ || ended_) return Status::Internal("write outside a response");
  if (write_failed_) return Status::Unavailable("client connection lost");
  if (head_only_ || data.empty()) return Status::Ok();
  if (chunked_out_) {
    char size[24];
    int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    out_.append(size, static_cast<size_t>(n));
  }
  // Small pieces are gathered so a whole small response leaves in one send.
  if (out_.size() + data.size() <= 64 * 1024) {
    out_ += data;
  } else {
    ANYSNAP_RETURN_IF_ERROR(Flush());
    Status s = SendAll(fd_, data);
    if (!s.ok()) {
      write_failed_ = true;
      return s;
    }
  }
  if (chunked_out_) out_ += "\r\n";
  if (body_left_) {
    *body_left_ -= std::min<uint64_t>(*body_left_, data.size());
    if (*body_left_ == 0) return Flush();
  }
  return Status::Ok();
}

Status Connection::End(const HttpHeaders& trailers) {
  if (!started_ || ended_) return Status::Internal("end outside a response");
  ended_ = true;
  if (write_failed_) return Status::Unavailable("client connection lost");
  if (chunked_out_ && !head_only_) {
    out_ += "0\r\n";
    for (const auto& t : trailers) {
      out_ += t.name;
      out_ += ": ";
      out_ += t.value;
      out_ += "\r\n";
    }
    out_ += "\r\n";
  }
  return Flush();
}

void Connection::ResetForNextRequest() {
  request_ = HttpRequest();
  trailers_.clear();
  fields_.Clear();
  header_bytes_ = 0;
  body_at_ = nullptr;
  body_len_ = 0;
  phase_ = Phase::kIdle;
  started_ = ended_ = chunked_out_ = head_only_ = false;
  body_left_.reset();
  out_.clear();
}

bool Connection::peer_gone() {
  if (eof_) return true;
  char c;
  ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

void Connection::AnswerFault() {
  if (fault_ == ParseFault::kClosed || fault_ == ParseFault::kIo || started_) return;
  int status = fault_ == ParseFault::kHeadersTooLarge ? 431 : 400;
  std::string detail =
      fault_ == ParseFault::kHeadersTooLarge
          ? "request header section exceeds " + std::to_string(options_.max_header_bytes) + " bytes"
          : fault_detail_;
  Log().Warn("rejected request from " + peer_ + ": " + std::to_string(status) + " " + detail);
  request_.keep_alive = false;
  close_after_ = true;
  answered_fault_ = true;
  RespondError(status, status == 431 ? "RequestHeaderFieldsTooLarge" : "InvalidRequest", detail);
}

void Connection::Run(HttpHandler* handler) {
  for (;;) {
    if (!ReadHead()) {
      AnswerFault();
      return;
    }
    if (FindHeader(request_.headers, "Expect") != nullptr &&
        HeaderListContains(*FindHeader(request_.headers, "Expect"), "100-continue") &&
        request_.http_minor >= 1) {
      // The body is pulled as the handler needs it; let the client send it.
      if (!SendAll(fd_, "HTTP/1.1 100 Continue\r\n\r\n").ok()) return;
    }
    handler->Handle(request_, *this, *this);
    if (!started_) {
      if (fault_ != ParseFault::kNone) {
        AnswerFault();
        return;
      }
      RespondError(500, "InternalError", "the request was not answered");
    }
    if (!ended_ || write_failed_) {
      // An unfinished answer: send what there is; the close tells the client.
      if (!ended_ && !write_failed_) Flush();
      return;
    }
    // Drain what the handler left of the body so the next request parses.
    char sink[16 * 1024];
    for (;;) {
      auto n = Read(sink, sizeof(sink));
      if (!n.ok()) return;
      if (*n == 0) break;
    }
    if (close_after_ || !request_.keep_alive) return;
    ResetForNextRequest();
  }
}

// How long CloseGently waits for the client to finish sending.
constexpr int kLingerMs = 1000;

// Ends the sending side after an error answer and reads what the client still
// sends, until it closes too or kLingerMs pass. Closing a socket with unread
// input makes the kernel send RST, which can destroy the answer still on its
// way to the client: it would read a reset instead of the 400.
void CloseGently(int fd) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMs);
  char sink[16 * 1024];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    ssize_t n = ::recv(fd, sink, sizeof(sink), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

}  // namespace

HttpServer::HttpServer(HttpHandler* handler, HttpServerOptions options)
    : handler_(handler), options_(options) {
  // Each connection counts its header bytes against options_.max_header_bytes.
  LiftHttpParserHeaderLimit();
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Listen(const HostPort& address) {
  auto fd = ListenTcp(address);
  if (!fd.ok()) return fd.status();
  auto bound = LocalAddress(fd->get());
  if (!bound.ok()) return bound.status();
  listen_fd_ = std::move(fd.value());
  address_ = *bound;
  return Status::Ok();
}

void HttpServer::Start() {
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

void HttpServer::AcceptLoop() {
  while (!stopping_.load()) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_.load()) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        Log().Error(std::string("accept: ") + std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      Log().Error(std::string("accept: ") + std::strerror(errno));
      return;
    }
    SetNoDelay(fd);
    auto peer_address = PeerAddress(fd);
    std::string peer = peer_address.ok() ? peer_address->ToString() : "?";
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_.load()) {
        ::close(fd);
        return;
      }
      open_fds_[fd] = true;
    }
    std::thread([this, fd, peer = std::move(peer)]() mutable {
      Serve(fd, std::move(peer));
    }).detach();
  }
}

void HttpServer::Serve(int fd, std::string peer) {
  bool linger;
  {
    Connection conn(fd, std::move(peer), options_);
    conn.Run(handler_);
    linger = conn.answered_fault();
  }
  if (linger) CloseGently(fd);
  std::lock_guard<std::mutex> lock(mu_);
  open_fds_.erase(fd);
  ::close(fd);
  ++closed_count_;
  closed_.notify_all();
}

void HttpServer::Stop() {
  if (stopping_.exchange(true)) {
    if (accept_thread_.joinable()) accept_thread_.join();
    return;
  }
  if (listen_fd_.valid()) ::shutdown(listen_fd_.get(), SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  std::unique_lock<std::mutex> lock(mu_);
  for (auto& [fd, open] : open_fds_) ::shutdown(fd, SHUT_RDWR);
  closed_.wait(lock, [this] { return open_fds_.empty(); });
  listen_fd_.Reset();
}

size_t HttpServer::open_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_fds_.size();
}

uint64_t HttpServer::closed_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_count_;
}

bool HttpServer::WaitForClosedConnections(uint64_t count, std::chrono::milliseconds limit) const {
  std::unique_lock<std::mutex> lock(mu_);
  return closed_.wait_for(lock, limit, [&] { return closed_count_ >= count; });
}

}  // namespace anysnap
