#include "common/error.h"

namespace walferry {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConnection: return "connection";
    case ErrorKind::kSql: return "sql";
    case ErrorKind::kProtocol: return "protocol";
    case ErrorKind::kConfig: return "config";
    case ErrorKind::kUsage: return "usage";
    case ErrorKind::kPrecondition: return "precondition";
    case ErrorKind::kData: return "data";
    case ErrorKind::kIo: return "io";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kCancelled: return "cancelled";
    case ErrorKind::kInternal: return "internal";
  }
  return "unknown";
}

Error::Error(ErrorKind kind, std::string message)
    : std::runtime_error(""), kind_(kind), message_(std::move(message)) {
  Render();
}

Error& Error::WithSqlState(std::string s) { sqlstate_ = std::move(s); Render(); return *this; }
Error& Error::WithDetail(std::string s) { detail_ = std::move(s); Render(); return *this; }
Error& Error::WithHint(std::string s) { hint_ = std::move(s); Render(); return *this; }

Error& Error::AddContext(std::string doing) {
  context_.insert(context_.begin(), std::move(doing));
  Render();
  return *this;
}

void Error::Render() {
  std::string out;
  for (const auto& c : context_) {
    out += c;
    out += ": ";
  }
  out += message_;
  if (!sqlstate_.empty()) out += " (SQLSTATE " + sqlstate_ + ")";
  if (!detail_.empty()) out += "\n  detail: " + detail_;
  if (!hint_.empty()) out += "\n  hint: " + hint_;
  rendered_ = std::move(out);
}

int ExitCodeFor(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kConfig:
    case ErrorKind::kUsage:
    case ErrorKind::kPrecondition:
      return kExitUsage;
    case ErrorKind::kCancelled:
      return kExitInterrupted;
    default:
      return kExitFailure;
  }
}

}  // namespace walferry
