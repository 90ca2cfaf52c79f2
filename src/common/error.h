// common/error.h
//
// The one error type walferry throws. An Error has a kind the caller can branch on, the SQLSTATE when the server
// sent one, the server's message/detail/hint, and a chain of context describing what walferry was doing
// ("loading public.orders: copying rows: ..."). what() renders all of it for a person.
// Thread safety: Error is a value; copy it freely.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace walferry {

enum class ErrorKind {
  kConnection,  // could not connect, or the connection broke
  kSql,         // the server rejected a statement
  kProtocol,    // malformed or unexpected wire data
  kConfig,      // bad configuration file, flag or environment variable (exit code 2)
  kUsage,       // bad command line (exit code 2)
  kPrecondition,  // a server is not set up the way walferry needs (settings, privileges)
  kData,        // a value walferry cannot carry exactly
  kIo,          // local file or process error
  kTimeout,
  kCancelled,
  kInternal,
};

const char* ErrorKindName(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message);

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& detail() const { return detail_; }
  const std::string& hint() const { return hint_; }
  // Outermost context first.
  const std::vector<std::string>& context() const { return context_; }

  Error& WithSqlState(std::string s);
  Error& WithDetail(std::string s);
  Error& WithHint(std::string s);
  // Prepends what the caller was doing; returns *this for rethrowing.
  Error& AddContext(std::string doing);

  const char* what() const noexcept override { return rendered_.c_str(); }

 private:
  void Render();

  ErrorKind kind_;
  std::string message_;
  std::string sqlstate_;
  std::string detail_;
  std::string hint_;
  std::vector<std::string> context_;
  std::string rendered_;
};

// Runs fn(); if it throws Error, adds `doing` as context and rethrows. Other exceptions become kInternal errors.
template <typename Fn>
auto WithContext(const std::string& doing, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (Error& e) {
    e.AddContext(doing);
    throw;
  } catch (const std::exception& e) {
    Error wrapped(ErrorKind::kInternal, e.what());
    wrapped.AddContext(doing);
    throw wrapped;
  }
}

// Exit codes, documented in `walferry --help` and docs/cli.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;  // stopped by Ctrl-C / SIGTERM before finishing

int ExitCodeFor(const Error& e);

}  // namespace walferry
