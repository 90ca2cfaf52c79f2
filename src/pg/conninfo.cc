#include "pg/conninfo.h"

#include <libpq-fe.h>

#include <memory>

#include "common/error.h"

namespace walferry::pg {

namespace {
constexpr std::string_view kMask = "********";

bool IsUri(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

std::string RedactUri(std::string_view uri) {
  std::string out(uri);
  size_t scheme_end = out.find("://") + 3;
  size_t authority_end = out.find_first_of("/?", scheme_end);
  if (authority_end == std::string::npos) authority_end = out.size();
  size_t at = out.rfind('@', authority_end);
  if (at != std::string::npos && at >= scheme_end) {
    size_t colon = out.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, kMask);
    }
  }
  // password=... in the query string.
  size_t q = out.find('?');
  while (q != std::string::npos) {
    size_t key = q + 1;
    if (out.compare(key, 9, "password=") == 0) {
      size_t value = key + 9;
      size_t end = out.find('&', value);
      if (end == std::string::npos) end = out.size();
      out.replace(value, end - value, kMask);
    }
    q = out.find('&', key);
  }
  return out;
}

// key = value pairs; values may be single-quoted with backslash escapes.
std::string RedactKeyValue(std::string_view s) {
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
    if (key == "password") out.append(kMask);
    else out.append(s.substr(value_start, i - value_start));
  }
  return out;
}

std::string PasswordOf(std::string_view conninfo) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> opts(
      PQconninfoParse(std::string(conninfo).c_str(), &err), &PQconninfoFree);
  if (err != nullptr) PQfreemem(err);
  if (!opts) return {};
  for (auto* o = opts.get(); o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) return o->val;
  }
  return {};
}
}  // namespace

std::string ScrubPassword(std::string_view text, std::string_view conninfo) {
  std::string out(text);
  std::string password = PasswordOf(conninfo);
  if (password.empty()) return out;
  for (size_t pos = out.find(password); pos != std::string::npos; pos = out.find(password, pos + kMask.size())) {
    out.replace(pos, password.size(), kMask);
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

ChildConnection ForChildProcess(const std::string& conninfo) {
  ParsedOptions opts = ParseOptions(conninfo);
  ChildConnection child;
  for (auto* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view key(o->keyword);
    if (key == "password") {
      child.env.push_back(std::string("PGPASSWORD=") + o->val);
      continue;
    }
    AppendKeyValue(child.conninfo, key, o->val);
  }
  return child;
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
  std::string redacted = IsUri(conninfo) ? RedactUri(conninfo) : RedactKeyValue(conninfo);
  // Belt and braces: whatever form the password took (percent-encoded, odd quoting), its decoded value never
  // survives.
  return ScrubPassword(redacted, conninfo);
}

}  // namespace walferry::pg
