#include "pg/quote.h"

#include "common/error.h"

namespace walferry::pg {

namespace {
void RejectNul(std::string_view s, const char* what) {
  if (s.find('\0') != std::string_view::npos) {
    throw Error(ErrorKind::kData, std::string(what) + " contains a NUL byte, which PostgreSQL cannot store");
  }
}

bool NeedsQuotes(std::string_view part) {
  if (part.empty()) return true;
  if (!(part[0] == '_' || (part[0] >= 'a' && part[0] <= 'z'))) return true;
  for (char c : part) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return true;
  }
  return false;
}

// Reads one (possibly quoted) identifier from text starting at pos; advances pos past it.
std::string ReadPart(std::string_view text, size_t& pos) {
  std::string out;
  if (pos < text.size() && text[pos] == '"') {
    ++pos;
    while (true) {
      if (pos >= text.size()) {
        throw Error(ErrorKind::kConfig, "unterminated quoted identifier in '" + std::string(text) + "'");
      }
      if (text[pos] == '"') {
        if (pos + 1 < text.size() && text[pos + 1] == '"') {
          out += '"';
          pos += 2;
          continue;
        }
        ++pos;
        break;
      }
      out += text[pos++];
    }
    if (out.empty()) throw Error(ErrorKind::kConfig, "empty quoted identifier in '" + std::string(text) + "'");
    return out;
  }
  while (pos < text.size() && text[pos] != '.') {
    char c = text[pos++];
    if (c == '"') throw Error(ErrorKind::kConfig, "stray quote in table name '" + std::string(text) + "'");
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (out.empty()) throw Error(ErrorKind::kConfig, "empty name part in table name '" + std::string(text) + "'");
  return out;
}
}  // namespace

std::string QuoteIdent(std::string_view ident) {
  RejectNul(ident, "identifier");
  std::string out;
  out.reserve(ident.size() + 2);
  out += '"';
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteLiteral(std::string_view value) {
  RejectNul(value, "literal");
  bool backslash = value.find('\\') != std::string_view::npos;
  std::string out;
  out.reserve(value.size() + 3);
  if (backslash) out += 'E';
  out += '\'';
  for (char c : value) {
    if (c == '\'') out += '\'';
    if (c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string TableName::Quoted() const { return QuoteIdent(schema) + "." + QuoteIdent(name); }

std::string TableName::Display() const {
  auto part = [](const std::string& p) { return NeedsQuotes(p) ? QuoteIdent(p) : p; };
  return part(schema) + "." + part(name);
}

TableName TableName::Parse(std::string_view text) {
  size_t pos = 0;
  std::string first = ReadPart(text, pos);
  if (pos == text.size()) return TableName{"public", first};
  if (text[pos] != '.') throw Error(ErrorKind::kConfig, "unexpected text in table name '" + std::string(text) + "'");
  ++pos;
  std::string second = ReadPart(text, pos);
  if (pos != text.size()) {
    throw Error(ErrorKind::kConfig, "table name '" + std::string(text) + "' has more than two parts")
        .WithHint("write schema.table; quote parts that contain dots: \"my.schema\".\"my.table\"");
  }
  return TableName{first, second};
}

}  // namespace walferry::pg
