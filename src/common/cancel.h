// common/cancel.h
//
// Cooperative cancellation for Ctrl-C / SIGTERM. InstallCancelHandlers() makes the first SIGINT or SIGTERM set a
// flag instead of killing the process, so long-running work can stop at a safe point (finish the current
// transaction, record positions, remove temporary clusters). A second signal restores the default action and
// re-raises: a user who presses Ctrl-C twice gets an immediate exit.
// Thread safety: CancelRequested() may be called from any thread.
#pragma once

#include <atomic>

namespace walferry {

void InstallCancelHandlers();
bool CancelRequested();
// The flag itself, for workers that take a `const std::atomic<bool>& stop`.
const std::atomic<bool>& CancelFlag();
// Throws Error(kCancelled) "interrupted while <doing>" when a stop was requested.
void ThrowIfCancelled(const char* doing);
// For tests and for commands that stop themselves (e.g. --until-caught-up reached).
void RequestCancel();

}  // namespace walferry
