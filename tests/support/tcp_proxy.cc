#include "support/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.h"

namespace walferry::test {

namespace {
constexpr size_t kMaxBuffered = 1 << 20;  // per direction; reading stops above it

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

void NonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Reads what is available from `from` into `buffer`; false on EOF or a hard error.
bool ReadInto(int from, std::string& buffer) {
  char chunk[16384];
  while (buffer.size() < kMaxBuffered) {
    ssize_t n = read(from, chunk, sizeof chunk);
    if (n > 0) {
      buffer.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  return true;
}

// Whether the peer of `fd` has not closed its end (nothing read: a peek that finds EOF means it has).
bool Live(int fd) {
  if (fd < 0) return false;
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

// Writes what it can of `buffer` to `to`; false on a hard error.
bool WriteFrom(int to, std::string& buffer) {
  while (!buffer.empty()) {
    ssize_t n = send(to, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n > 0) {
      buffer.erase(0, static_cast<size_t>(n));
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
  return true;
}
}  // namespace

TcpProxy::TcpProxy(int upstream_port) : upstream_port_(upstream_port) {
  // Close-on-exec everywhere: the walferry a test spawns must not inherit the proxy's sockets.
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw Error(ErrorKind::kIo, "tcp proxy: socket() failed");
  int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof addr;
  if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener_, 64) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(listener_);
    throw Error(ErrorKind::kIo, "tcp proxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  NonBlocking(listener_);
  thread_ = std::thread([this] { Loop(); });
}

TcpProxy::~TcpProxy() {
  done_.store(true);
  if (thread_.joinable()) thread_.join();
  for (Pair& p : pairs_) Close(p);
  close(listener_);
}

void TcpProxy::Close(Pair& p) {
  if (p.client >= 0) close(p.client);
  if (p.server >= 0) close(p.server);
  p.client = p.server = -1;
}

int TcpProxy::Cut() {
  std::lock_guard lock(mu_);
  int closed = 0;
  for (Pair& p : pairs_) {
    if (Live(p.client) && Live(p.server)) ++closed;
    Close(p);
  }
  pairs_.clear();
  ++generation_;
  return closed;
}

int TcpProxy::open() {
  std::lock_guard lock(mu_);
  return static_cast<int>(pairs_.size());
}

int TcpProxy::Stall() {
  std::lock_guard lock(mu_);
  int stalled = 0;
  for (Pair& p : pairs_) {
    if (!p.stalled) ++stalled;
    p.stalled = true;
  }
  return stalled;
}

void TcpProxy::Resume() {
  std::lock_guard lock(mu_);
  for (Pair& p : pairs_) p.stalled = false;
}

void TcpProxy::AcceptOne() {
  int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  accepted_.fetch_add(1);
  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in up = Loopback(upstream_port_);
  // Loopback: a blocking connect is answered at once (refused when the server is down).
  if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&up), sizeof up) != 0) {
    if (server >= 0) close(server);
    close(client);
    return;
  }
  NonBlocking(client);
  NonBlocking(server);
  pairs_.push_back(Pair{client, server, {}, {}, false});
}

bool TcpProxy::Pump(Pair& p, short client_events, short server_events) {
  if ((client_events & (POLLIN | POLLHUP | POLLERR)) && !ReadInto(p.client, p.to_server)) return false;
  if ((server_events & (POLLIN | POLLHUP | POLLERR)) && !ReadInto(p.server, p.to_client)) return false;
  return WriteFrom(p.server, p.to_server) && WriteFrom(p.client, p.to_client);
}

void TcpProxy::Loop() {
  while (!done_.load()) {
    std::vector<pollfd> fds;
    unsigned generation;
    {
      std::lock_guard lock(mu_);
      generation = generation_;
      fds.push_back({listener_, POLLIN, 0});
      for (const Pair& p : pairs_) {
        // A stalled pair is not polled at all: nothing is read, written or closed.
        short c = 0, s = 0;
        if (!p.stalled) {
          c = static_cast<short>((p.to_server.size() < kMaxBuffered ? POLLIN : 0) | (p.to_client.empty() ? 0 : POLLOUT));
          s = static_cast<short>((p.to_client.size() < kMaxBuffered ? POLLIN : 0) | (p.to_server.empty() ? 0 : POLLOUT));
        }
        fds.push_back({p.stalled ? -1 : p.client, c, 0});
        fds.push_back({p.stalled ? -1 : p.server, s, 0});
      }
    }
    if (poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR) return;
    std::lock_guard lock(mu_);
    if (generation != generation_) continue;  // Cut() closed what was polled
    size_t polled_pairs = (fds.size() - 1) / 2;
    std::vector<Pair> kept;
    for (size_t i = 0; i < pairs_.size(); ++i) {
      Pair& p = pairs_[i];
      bool alive = true;
      if (i < polled_pairs && !p.stalled) alive = Pump(p, fds[1 + 2 * i].revents, fds[2 + 2 * i].revents);
      if (alive) {
        kept.push_back(std::move(p));
      } else {
        Close(p);
      }
    }
    pairs_ = std::move(kept);
    if (fds[0].revents & POLLIN) AcceptOne();
  }
}

}  // namespace walferry::test
