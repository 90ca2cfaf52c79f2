// pg/quote.h
//
// SQL quoting for identifiers, and the TableName domain type. Every identifier walferry puts in SQL goes through
// QuoteIdent (always quoted, so case, spaces, quotes and unicode survive exactly). Values go as parameters; only
// DDL that cannot take parameters (e.g. COMMENT, SET) uses QuoteLiteral.
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <vector>

namespace walferry::pg {

// "name" with embedded quotes doubled. Throws Error(kData) on an embedded NUL.
std::string QuoteIdent(std::string_view ident);
// 'value' with quotes doubled; E'' form when the value contains a backslash. Throws on an embedded NUL.
std::string QuoteLiteral(std::string_view value);

// A text[] literal ({"a","b \"c\""}) for passing a list of values as one parameter ($1::text[]).
std::string TextArray(const std::vector<std::string>& items);

// A table (or other relation) name: schema and name, exactly as stored in the catalog (no quoting, no folding).
struct TableName {
  std::string schema;
  std::string name;

  // "schema"."name", for SQL.
  std::string Quoted() const;
  // schema.name for people; parts that need quoting to be read back are quoted.
  std::string Display() const;

  // Parses "schema.table", "table" (schema public) or quoted forms like "Sales Dept"."Order""Items".
  // Unquoted parts fold to lower case, as PostgreSQL does. Throws Error(kConfig) naming the text.
  static TableName Parse(std::string_view text);

  auto operator<=>(const TableName&) const = default;
};

}  // namespace walferry::pg
