#include "pg/conninfo.h"

#include <libpq-fe.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "common/error.h"

namespace walferry::pg {

namespace {
constexpr std::string_view kMask = "********";

// The conninfo keywords libpq marks as secret (dispchar "*"): "password" and "sslpassword" in every libpq walferry
// supports; read from libpq itself, so a secret keyword a newer libpq adds is covered too.
const std::vector<std::string>& SecretKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> defaults(PQconndefaults(), &PQconninfoFree);
    for (auto* o = defaults.get(); o && o->keyword != nullptr; ++o) {
      if (o->dispchar != nullptr && std::string_view(o->dispchar) == "*") out.emplace_back(o->keyword);
    }
    for (const char* k : {"password", "sslpassword"}) {
      if (std::find(out.begin(), out.end(), k) == out.end()) out.emplace_back(k);
    }
    return out;
  }();
  return keys;
}

bool IsSecretKey(std::string_view key) {
  const auto& keys = SecretKeys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

bool IsUri(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// Replaces out[from, to) by the mask: "********", or as many '*' as it had characters (same_length: for text that
// must keep its size, such as the process's own argv).
void Mask(std::string& out, size_t from, size_t to, bool same_length) {
  out.replace(from, to - from, same_length ? std::string(to - from, '*') : std::string(kMask));
}

std::string RedactUri(std::string_view uri, bool same_length) {
  std::string out(uri);
  size_t scheme_end = out.find("://") + 3;
  size_t authority_end = out.find_first_of("/?", scheme_end);
  if (authority_end == std::string::npos) authority_end = out.size();
  size_t at = out.rfind('@', authority_end);
  if (at != std::string::npos && at >= scheme_end) {
    size_t colon = out.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) Mask(out, colon + 1, at, same_length);
  }
  // password=..., sslpassword=... in the query string.
  size_t q = out.find('?');
  while (q != std::string::npos) {
    size_t key = q + 1;
    size_t eq = out.find('=', key);
    size_t amp = out.find('&', key);
    if (eq != std::string::npos && (amp == std::string::npos || eq < amp) && IsSecretKey(out.substr(key, eq - key))) {
      Mask(out, eq + 1, amp == std::string::npos ? out.size() : amp, same_length);
      amp = out.find('&', eq + 1);
    }
    q = amp;
  }
  return out;
}

// key = value pairs; values may be single-quoted with backslash escapes.
std::string RedactKeyValue(std::string_view s, bool same_length) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') { out += s[i++]; continue; }
    size_t key_start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ' ' && s[i] != '\t') ++i;
    std::string_view key = s.substr(key_start, i - key_start);
    out.append(key);
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) out += s[i++];
    if (i >= s.size() || s[i] != '=') continue;
    out += s[i++];
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) out += s[i++];
    size_t value_start = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
      if (i < s.size()) ++i;
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    }
    size_t at = out.size();
    out.append(s.substr(value_start, i - value_start));
    if (IsSecretKey(key)) Mask(out, at, out.size(), same_length);
  }
  return out;
}

// The values of the conninfo's secret options (password, sslpassword), as libpq reads them.
std::vector<std::string> SecretsOf(std::string_view conninfo) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> opts(
      PQconninfoParse(std::string(conninfo).c_str(), &err), &PQconninfoFree);
  if (err != nullptr) PQfreemem(err);
  std::vector<std::string> out;
  if (!opts) return out;
  for (auto* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0' && IsSecretKey(o->keyword)) out.emplace_back(o->val);
  }
  return out;
}

}  // namespace

std::string ScrubPassword(std::string_view text, std::string_view conninfo) {
  std::string out(text);
  for (const std::string& secret : SecretsOf(conninfo)) {
    for (size_t pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + kMask.size())) {
      out.replace(pos, secret.size(), kMask);
    }
  }
  return out;
}

namespace {

using ParsedOptions = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

ParsedOptions ParseOptions(const std::string& conninfo) {
  char* err = nullptr;
  ParsedOptions opts(PQconninfoParse(conninfo.c_str(), &err), &PQconninfoFree);
  if (!opts) {
    std::string msg = err ? err : "unparsable connection string";
    if (err != nullptr) PQfreemem(err);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw Error(ErrorKind::kConfig, "invalid connection string " + RedactConninfo(conninfo) + ": " +
                                        ScrubPassword(msg, conninfo));
  }
  return opts;
}

void AppendKeyValue(std::string& out, std::string_view key, const char* value) {
  if (!out.empty()) out += ' ';
  out += std::string(key) + "='";
  for (const char* c = value; *c != '\0'; ++c) {
    if (*c == '\'' || *c == '\\') out += '\\';
    out += *c;
  }
  out += '\'';
}

}  // namespace

SecretFile::~SecretFile() {
  if (!path.empty()) ::unlink(path.c_str());
}

ChildConnection ForChildProcess(const std::string& conninfo) {
  ParsedOptions opts = ParseOptions(conninfo);
  ChildConnection child;
  std::string rest;     // what goes on the command line
  std::string service;  // the other secrets, for a service file only the child reads
  bool has_service = false;
  for (auto* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view key(o->keyword);
    if (key == "password") {
      child.env.push_back(std::string("PGPASSWORD=") + o->val);
      continue;
    }
    if (IsSecretKey(key)) {
      if (std::string_view(o->val).find('\n') != std::string_view::npos) {
        throw Error(ErrorKind::kConfig, "the connection's " + std::string(key) + " contains a line break");
      }
      service += std::string(key) + "=" + o->val + "\n";
      continue;
    }
    has_service = has_service || key == "service";
    AppendKeyValue(rest, key, o->val);
  }
  if (!service.empty()) {
    // libpq has no environment variable for sslpassword: it reaches the child through a service file of mode 0600
    // (PGSERVICEFILE), never through its command line.
    if (has_service) {
      throw Error(ErrorKind::kConfig, "a connection with both service= and a secret option (" +
                                          service.substr(0, service.find('=')) + ") cannot be handed to pg_dump or "
                                          "pg_restore without showing the secret on their command line")
          .WithHint("put the secret option into that service's entry of your pg_service.conf");
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/walferry-service-XXXXXX";
    int fd = ::mkstemp(path.data());  // mode 0600
    if (fd < 0) throw Error(ErrorKind::kConfig, "cannot create a service file for pg_dump in " + path);
    auto file = std::make_shared<SecretFile>();
    file->path = path;
    const std::string text = "[walferry]\n" + service;
    bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!written) throw Error(ErrorKind::kConfig, "cannot write the service file " + path);
    child.secrets = std::move(file);
    child.env.push_back("PGSERVICEFILE=" + path);
    AppendKeyValue(child.conninfo, "service", "walferry");
  }
  if (!rest.empty()) child.conninfo += (child.conninfo.empty() ? "" : " ") + rest;
  return child;
}

std::string MaskSecretsSameLength(std::string_view arg) {
  std::string prefix;
  std::string_view value = arg;
  if (arg.starts_with("-")) {  // --source=postgresql://...
    size_t eq = arg.find('=');
    if (eq == std::string_view::npos) return std::string(arg);
    prefix = std::string(arg.substr(0, eq + 1));
    value = arg.substr(eq + 1);
  }
  return prefix + (IsUri(value) ? RedactUri(value, true) : RedactKeyValue(value, true));
}

std::string WithoutSecrets(const std::string& conninfo, std::vector<std::string>* removed) {
  ParsedOptions opts = ParseOptions(conninfo);
  std::string out;
  std::vector<std::string> left_out;
  for (auto* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    // libpq's display character "*" marks a secret option ("password", "sslpassword").
    if (o->dispchar != nullptr && std::string_view(o->dispchar) == "*") {
      left_out.emplace_back(o->keyword);
      continue;
    }
    AppendKeyValue(out, o->keyword, o->val);
  }
  if (removed) *removed = left_out;
  return left_out.empty() ? conninfo : out;
}

std::string WithServerSetting(const std::string& conninfo, const std::string& name, const std::string& value) {
  ParsedOptions opts = ParseOptions(conninfo);
  std::string out;
  std::string options;
  for (auto* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string_view(o->keyword) == "options") {
      options = o->val;
      continue;
    }
    AppendKeyValue(out, o->keyword, o->val);
  }
  options += (options.empty() ? "" : " ") + std::string("-c ") + name + "=" + value;
  AppendKeyValue(out, "options", options.c_str());
  return out;
}

std::string RedactConninfo(std::string_view conninfo) {
  std::string redacted = IsUri(conninfo) ? RedactUri(conninfo, false) : RedactKeyValue(conninfo, false);
  // Belt and braces: whatever form the password took (percent-encoded, odd quoting), its decoded value never
  // survives.
  return ScrubPassword(redacted, conninfo);
}

}  // namespace walferry::pg
