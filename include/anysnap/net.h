// Loopback TCP plumbing shared by every server and client in anysnap: address
// parsing, listening, connecting and full writes. IPv4 and IPv6 literals only;
// names are not resolved (a Runtime API address is always a literal or
// "localhost").
#ifndef ANYSNAP_NET_H_
#define ANYSNAP_NET_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "anysnap/status.h"
#include "anysnap/unique_fd.h"

namespace anysnap {

// A parsed "host:port" or "[v6]:port". `host` keeps no brackets.
struct HostPort {
  std::string host;
  uint16_t port = 0;

  // "host:port", with brackets around an IPv6 host.
  std::string ToString() const;
};

// Parses "127.0.0.1:9001", "[::1]:9001" or "localhost:9001". Port 0 is allowed
// (an ephemeral port when listening).
Result<HostPort> ParseHostPort(std::string_view text);

// Resolves a HostPort to a socket address ("localhost" becomes 127.0.0.1).
Result<sockaddr_storage> ToSockaddr(const HostPort& hp, socklen_t* len);

// Returns true iff `hp` names a loopback address (127.0.0.0/8, ::1, localhost).
bool IsLoopback(const HostPort& hp);

// Opens a listening TCP socket (SO_REUSEADDR, close-on-exec) on `hp`.
Result<UniqueFd> ListenTcp(const HostPort& hp, int backlog = 1024);

// Returns the local address a socket is bound to.
Result<HostPort> LocalAddress(int fd);
// Returns the address of a connected socket's peer.
Result<HostPort> PeerAddress(int fd);

// Connects a blocking TCP socket with TCP_NODELAY set.
Result<UniqueFd> ConnectTcp(const HostPort& hp);

// Writes all of `data`, retrying short writes and EINTR; never raises SIGPIPE.
Status SendAll(int fd, std::string_view data);

// Writes all of `first` then all of `second`, gathered in one sendmsg(2)
// when the socket takes them: a request head and its body leave together.
Status SendAll(int fd, std::string_view first, std::string_view second);

// Steps `msg`'s iovec array past `n` bytes that sendmsg(2) wrote, dropping
// the pieces that were written in full.
void ConsumeIov(msghdr& msg, size_t n);

// Sets TCP_NODELAY: anysnap's exchanges are small request/response pairs.
void SetNoDelay(int fd);

}  // namespace anysnap

#endif  // ANYSNAP_NET_H_
