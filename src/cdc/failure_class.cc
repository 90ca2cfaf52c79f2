#include "cdc/failure_class.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace walferry::cdc {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The server's FATAL messages for a refused connection (src/backend/libpq/auth.c, postinit.c) and libpq's own for
// a password it does not have. Matched in lower case, anywhere in the text.
constexpr std::array<std::string_view, 9> kPermanentConnectionTexts = {
    "authentication failed for user",   // password, md5, scram, peer, ident, ... (28P01, 28000)
    "no pg_hba.conf entry for",         // 28000
    "pg_hba.conf rejects connection",   // 28000
    "is not permitted to log in",       // 28000: NOLOGIN role
    "permission denied for database",   // 42501: no CONNECT right
    "no password supplied",             // libpq: fe_sendauth
    "password is required",             // libpq: the server asked for a password and none was given
    "\" does not exist",                // 3D000 database, 28000 role: checked with kMissing below
    "password authentication failed",   // 28P01 (older wording without "for user")
};

bool PermanentConnectionText(std::string_view message) {
  const std::string m = Lower(message);
  for (std::string_view t : kPermanentConnectionTexts) {
    if (m.find(t) == std::string::npos) continue;
    if (t == "\" does not exist") {
      // Only the connection's own database or role: `database "x" does not exist`, `role "x" does not exist`.
      if (m.find("database \"") == std::string::npos && m.find("role \"") == std::string::npos) continue;
    }
    return true;
  }
  return false;
}

}  // namespace

bool TransientSqlState(std::string_view s, std::string_view message) {
  if (s == "40001" || s == "40P01" || s == "55P03" || s == "57014" || s == "55006" || s == "25006") return true;
  if (s.starts_with("57P") || s.starts_with("08") || s.starts_with("53")) return true;
  return s == "55000" && Lower(message).find("recovery is in progress") != std::string::npos;
}

FailureClass ClassifyFailure(const Error& e, std::string_view statement) {
  const std::string& s = e.sqlstate();
  if (e.kind() == ErrorKind::kConnection || e.kind() == ErrorKind::kTimeout) {
    // A failed connection attempt carries no SQLSTATE; a connection that broke later never carries these texts.
    if (s.empty() && PermanentConnectionText(e.message())) return FailureClass::kPermanentConnection;
    return FailureClass::kTransient;
  }
  if (TransientSqlState(s, e.message())) return FailureClass::kTransient;
  if (s == "28P01" || s == "28000" || s == "3D000") return FailureClass::kPermanentConnection;
  if (s.starts_with("22") || s.starts_with("23")) return FailureClass::kChange;
  if (s.empty() && e.kind() == ErrorKind::kData) return FailureClass::kChange;
  if (s == "0A000" && Lower(statement).starts_with("truncate") &&
      Lower(e.message()).find("foreign key") != std::string::npos) {
    return FailureClass::kChange;
  }
  return FailureClass::kOther;
}

}  // namespace walferry::cdc
