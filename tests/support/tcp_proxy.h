// support/tcp_proxy.h
//
// A loopback TCP proxy a test controls, to put faults on the network between walferry and a server:
// 127.0.0.1:port() -> 127.0.0.1:upstream_port. Each accepted connection gets its own upstream connection; bytes
// are copied both ways by one background thread (poll, non-blocking sockets). A refused upstream connection
// closes the client's at once, as a stopped server would.
//
// Faults:
//   Cut()    closes every open connection, both sides (the client sees the connection end). Returns how many live
//            ones it closed (neither side had closed its end yet; 0: there was nothing to cut, the fault did not
//            happen).
//   Stall()  the connections open at this moment stop being forwarded, in both directions, without being closed:
//            the kernel still accepts (ACKs) what either side sends, nothing is delivered. This is a half-open
//            connection as a stuck middlebox makes it: TCP keepalives are answered too, so only an application-
//            level timeout can notice it. Connections opened after Stall() are forwarded normally, so a client
//            that gives up on a stalled connection and reconnects makes progress. Returns how many it stalled.
//   Resume() stalled connections are forwarded again (what was held back is delivered then).
//
// Thread safety: every public method may be called from any thread. The destructor closes everything.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace walferry::test {

class TcpProxy {
 public:
  // Listens on a free port of 127.0.0.1. Throws Error(kIo) when it cannot.
  explicit TcpProxy(int upstream_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  int Cut();
  int Stall();
  void Resume();
  // Connections accepted so far (a client that reconnects shows here).
  int accepted() const { return accepted_.load(); }
  // Connections open now (forwarded or stalled).
  int open();

 private:
  struct Pair {
    int client = -1;
    int server = -1;
    std::string to_server;  // read from the client, not yet written to the server
    std::string to_client;
    bool stalled = false;
  };
  void Loop();
  void AcceptOne();
  // Moves bytes between the two sockets of a pair; false when the pair ended (EOF or error on either side).
  bool Pump(Pair& p, short client_events, short server_events);
  static void Close(Pair& p);

  int upstream_port_;
  int port_ = 0;
  int listener_ = -1;
  std::atomic<bool> done_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;  // guards pairs_ and generation_
  std::vector<Pair> pairs_;
  unsigned generation_ = 0;  // bumped by Cut(): poll results of an older generation are dropped
  std::thread thread_;
};

}  // namespace walferry::test
