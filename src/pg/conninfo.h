// pg/conninfo.h
//
// Connection strings as users write them: URIs (postgresql://user:secret@host:5432/db?sslmode=require) or
// key=value lists ("host=h password=secret"). RedactConninfo is the only way a conninfo reaches a log line, an
// error or output: it replaces every password with "********", whatever the form. TLS is libpq's business
// (sslmode, sslrootcert, ...): walferry passes those through untouched.
#pragma once

#include <string>
#include <string_view>

namespace walferry::pg {

std::string RedactConninfo(std::string_view conninfo);

// Replaces every occurrence of the conninfo's password (if it has one) in `text` by "********". For messages
// from libpq or a server that might echo part of a connection string back.
std::string ScrubPassword(std::string_view text, std::string_view conninfo);

}  // namespace walferry::pg
