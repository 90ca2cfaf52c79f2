#include "common/cancel.h"

#include <signal.h>

#include <atomic>
#include <string>

#include "common/error.h"

namespace walferry {

namespace {
std::atomic<bool> g_cancelled{false};

void OnSignal(int sig) {
  if (g_cancelled.exchange(true)) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
}
}  // namespace

void InstallCancelHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool CancelRequested() { return g_cancelled.load(std::memory_order_relaxed); }

const std::atomic<bool>& CancelFlag() { return g_cancelled; }

void RequestCancel() { g_cancelled.store(true); }

void ThrowIfCancelled(const char* doing) {
  if (CancelRequested()) throw Error(ErrorKind::kCancelled, std::string("interrupted while ") + doing);
}

}  // namespace walferry
