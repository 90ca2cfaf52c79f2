// matrix/compare.h
//
// The matrix test's own comparison of a source and a target database, independent of walferry's validate: every
// ordinary table (leaf partitions, legacy-inheritance parents and children each read ONLY, so a row in the wrong
// partition or a parent holding its child's rows shows), every sequence (last_value and is_called) and every large
// object (OID, contents, owner). Rows are compared as whole-row text, sorted by bytes in this process (the two
// databases may sort text differently), so a duplicate, a missing row and a value that is equal but not identical
// (1.0 vs 1.00, -0 vs 0, NFC vs NFD) all count; xml columns are also compared as stored (xml::text), which the
// row's text hides (an XML declaration). Both sessions read UTF8 under the same output settings (DateStyle,
// IntervalStyle, TimeZone, extra_float_digits, lc_monetary, bytea_output), so their text is comparable whatever
// each server's defaults.
#pragma once

#include <string>
#include <vector>

namespace walferry::matrix {

// One line per difference found, empty when the databases are equal. `skip_schema` (walferry's control schema on
// the target) is left out of the target's tables.
std::vector<std::string> CompareDatabases(const std::string& source_uri, const std::string& target_uri,
                                          const std::string& skip_schema);

}  // namespace walferry::matrix
