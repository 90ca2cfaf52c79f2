// pg/conninfo.h
//
// Connection strings as users write them: URIs (postgresql://user:secret@host:5432/db?sslmode=require) or
// key=value lists ("host=h password=secret"). RedactConninfo is the only way a conninfo reaches a log line, an
// error or output: it replaces every secret option (password, sslpassword: what libpq marks secret) with
// "********", whatever the form. TLS is libpq's business
// (sslmode, sslrootcert, ...): walferry passes those through untouched.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace walferry::pg {

std::string RedactConninfo(std::string_view conninfo);

// Replaces every occurrence of the conninfo's secrets (password, sslpassword) in `text` by "********". For messages
// from libpq or a server that might echo part of a connection string back.
std::string ScrubPassword(std::string_view text, std::string_view conninfo);

// A file holding secrets, removed when the last owner lets go.
struct SecretFile {
  std::string path;
  ~SecretFile();
};

// How to hand a connection to a child program (pg_dump, pg_restore, psql) without putting a secret on its command
// line, where `ps` would show it: the conninfo rebuilt as key=value without secrets; the password in PGPASSWORD for
// the child's environment; any other secret option (sslpassword) in a service file of mode 0600 (PGSERVICEFILE,
// service=walferry), which lives as long as the ChildConnection (or a copy of it). Throws Error(kConfig) when the
// conninfo does not parse, or has a service= of its own besides such a secret.
struct ChildConnection {
  std::string conninfo;
  std::vector<std::string> env;            // PGPASSWORD=..., PGSERVICEFILE=... or empty
  std::shared_ptr<SecretFile> secrets;     // the service file, when there is one
};
ChildConnection ForChildProcess(const std::string& conninfo);

// The conninfo without the options libpq marks as secret (password, sslpassword, ...), rebuilt as key=value when
// one was there, else returned as it was; for files walferry writes (walferry.yaml). `removed` (if given) lists the
// keywords left out. Throws Error(kConfig) when the conninfo does not parse.
std::string WithoutSecrets(const std::string& conninfo, std::vector<std::string>* removed = nullptr);

// The text with every secret of a connection string in it (password, sslpassword, in a URI or key=value) replaced by
// as many '*' as it had characters, for the process's own argv, whose size cannot change (`ps` shows it). A leading
// "--option=" is kept; text that holds no secret comes back unchanged.
std::string MaskSecretsSameLength(std::string_view arg);

// The conninfo rebuilt as key=value with `-c name=value` added to its `options` (after any the user gave), so every
// session opened with it starts with that server setting, whatever the database's default. Used for walferry's own
// sessions on a database that cutover made read-only (default_transaction_read_only = on): the old source that the
// fallback writes back to. An explicit `options` replaces PGOPTIONS and a service file's options, so those are not
// merged. `value` must not contain spaces. Throws Error(kConfig) when the conninfo does not parse.
std::string WithServerSetting(const std::string& conninfo, const std::string& name, const std::string& value);

}  // namespace walferry::pg
