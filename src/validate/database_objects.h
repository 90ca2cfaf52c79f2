// validate/database_objects.h
//
// What validate compares besides table rows: the sequences in the compared tables' schemas and the database's large
// objects. CDC carries neither (pgoutput decodes no sequence and no pg_largeobject change): walferry load copies
// them once and walferry cutover sets them again once writes stopped. So while the source takes writes a sequence
// behind or a large object that differs is expected, reported as such; once the source is frozen (after a cutover,
// or its own final validation) each one is a difference that makes the comparison unequal.
//   SEQUENCE_BEHIND  the target's next value is not past the source's (in the sequence's direction), or the target
//                    lacks the sequence: a row inserted on the target could reuse a value the source handed out.
//                    A target sequence ahead of the source is a gap in numbering, not a difference.
//   LO_DIFF          a large object absent on the target (not one another migration copied into the source),
//                    extra there (only one the migration copied: the record in
//                    `control_schema`, control/copied_large_objects.h), or with other contents or another owner.
// Runs read-only queries on one source and one target connection; not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"
#include "validate/report.h"

namespace walferry::validate {

// Which sequences of `schemas` are compared: all of the source's, or (the switch back, where the comparison's
// target is the migration's original source and the new primary's schemas may hold another migration's
// sequences) only those the target has too.
enum class SequenceScope { kSource, kOnBothSides };

// Sequences of `schemas`, always; large objects when `large_objects`.
ObjectsResult CompareDatabaseObjects(pg::Connection& source, pg::Connection& target,
                                     const std::vector<std::string>& schemas, bool large_objects,
                                     const std::string& control_schema,
                                     SequenceScope scope = SequenceScope::kSource);

// Whether next value `target` is behind `source` (decimal integers, any length, optional '-') for a sequence that
// counts up (`ascending`) or down.
bool SequenceBehind(const std::string& source, const std::string& target, bool ascending);

}  // namespace walferry::validate
