// matrix/types.h
//
// The type catalogue of the scenario matrix: every built-in type family PostgreSQL has (and user-defined enum,
// composite and domain types), each with the edge values where "equal" is not "identical": numeric 1.0 vs 1.00
// and NaN, float -0 and NaN, '1 day' vs '24 hours', NFC vs NFD text, json whitespace and duplicate keys, reg*
// values that are OIDs, geometric values with NaN and -0, arrays with NULLs and lower bounds, money, xml. Values
// are SQL expressions for the source to evaluate. Pure data.
#pragma once

#include <string>
#include <vector>

namespace walferry::matrix {

struct TypeFamily {
  std::string name;                   // the feature name, "type:<name>" in the coverage report
  std::string sql_type;               // the column's type
  std::vector<std::string> values;    // SQL expressions; ASCII or characters every server encoding has (LATIN1)
  std::vector<std::string> utf8_values;  // only where the source database is UTF8 (NFD, CJK, emoji)
};

// The families, in a fixed order. Types they need (mood, pair, posint) are created by TypeDdl().
const std::vector<TypeFamily>& TypeFamilies();
std::string TypeDdl();

}  // namespace walferry::matrix
