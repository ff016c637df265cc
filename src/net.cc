#include "anysnap/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace anysnap {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  HostPort hp;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Status::InvalidArgument("bad address '" + std::string(text) + "': expected [v6]:port");
    hp.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return Status::InvalidArgument("bad address '" + std::string(text) + "': expected host:port");
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos)
      return Status::InvalidArgument("bad address '" + std::string(text) +
                                     "': put an IPv6 host in brackets");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535)
    return Status::InvalidArgument("bad port in address '" + std::string(text) + "'");
  hp.port = static_cast<uint16_t>(port);
  socklen_t len;
  auto addr = ToSockaddr(hp, &len);
  if (!addr.ok()) return addr.status();
  return hp;
}

Result<sockaddr_storage> ToSockaddr(const HostPort& hp, socklen_t* len) {
  sockaddr_storage ss{};
  std::string host = hp.host == "localhost" ? "127.0.0.1" : hp.host;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp.port);
    *len = sizeof(sockaddr_in);
    return ss;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp.port);
    *len = sizeof(sockaddr_in6);
    return ss;
  }
  return Status::InvalidArgument("bad host '" + hp.host + "': expected an IP literal or localhost");
}

bool IsLoopback(const HostPort& hp) {
  socklen_t len;
  auto ss = ToSockaddr(hp, &len);
  if (!ss.ok()) return false;
  if (ss->ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&*ss);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  auto* v6 = reinterpret_cast<const sockaddr_in6*>(&*ss);
  return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
}

Result<UniqueFd> ListenTcp(const HostPort& hp, int backlog) {
  socklen_t len;
  auto ss = ToSockaddr(hp, &len);
  if (!ss.ok()) return ss.status();
  UniqueFd fd(::socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return PosixError("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*ss), len) != 0)
    return PosixError("bind " + hp.ToString(), errno);
  if (::listen(fd.get(), backlog) != 0) return PosixError("listen " + hp.ToString(), errno);
  return fd;
}

namespace {

HostPort FromSockaddr(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  HostPort hp;
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    hp.port = ntohs(v4->sin_port);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    hp.port = ntohs(v6->sin6_port);
  }
  hp.host = buf;
  return hp;
}

}  // namespace

Result<HostPort> LocalAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return PosixError("getsockname", errno);
  return FromSockaddr(ss);
}

Result<HostPort> PeerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return PosixError("getpeername", errno);
  return FromSockaddr(ss);
}

Result<UniqueFd> ConnectTcp(const HostPort& hp) {
  socklen_t len;
  auto ss = ToSockaddr(hp, &len);
  if (!ss.ok()) return ss.status();
  UniqueFd fd(::socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return PosixError("socket", errno);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*ss), len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return PosixError("connect " + hp.ToString(), errno);
  SetNoDelay(fd.get());
  return fd;
}

Status SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("send", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status SendAll(int fd, std::string_view first, std::string_view second) {
  iovec iov[2] = {{const_cast<char*>(first.data()), first.size()},
                  {const_cast<char*>(second.data()), second.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  while (msg.msg_iovlen > 0) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("send", errno);
    }
    ConsumeIov(msg, static_cast<size_t>(n));
  }
  return Status::Ok();
}

void ConsumeIov(msghdr& msg, size_t n) {
  while (msg.msg_iovlen > 0 && n >= msg.msg_iov->iov_len) {
    n -= msg.msg_iov->iov_len;
    ++msg.msg_iov;
    --msg.msg_iovlen;
  }
  if (msg.msg_iovlen > 0) {
    msg.msg_iov->iov_base = static_cast<char*>(msg.msg_iov->iov_base) + n;
    msg.msg_iov->iov_len -= n;
  }
}

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace anysnap
