// catalog/sequence_values.h
//
// The state of sequences as nextval() and setval() see it: last_value and is_called, read from each sequence
// relation itself, and set on another server. No catalog view has the state of a sequence that was not called:
// pg_sequences and pg_sequence_last_value() show NULL both for a fresh sequence and after setval(s, 50, false),
// whose next value is 50. Used by the load (owned sequences), the cutover (every sequence) and validate
// (SEQUENCE_BEHIND). A few round trips whatever the number of sequences: reads in UNION ALL queries of at most 500
// names, one statement to set them all. Reading needs SELECT on each sequence. Not thread-safe (the caller's
// connection).
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"
#include "pg/quote.h"

namespace walferry::catalog {

// One of the migration's sequences as the catalog describes it.
struct SequenceInfo {
  pg::TableName name;
  bool ascending = true;  // increment_by > 0
  bool readable = true;   // this role has SELECT on it
  std::string increment;  // increment_by, bigint as text
};

// The migration's sequences on `conn`: every sequence in `schemas` and every sequence a column default of a table in
// them calls, wherever it lives (src/sql/catalog/sequences_of_schemas.sql), ordered by schema and name. The one list
// the cutover sets and validate compares. One round trip; Error(kSql) from the server.
std::vector<SequenceInfo> SequencesOfSchemas(pg::Connection& conn, const std::vector<std::string>& schemas);

struct SequenceValue {
  pg::TableName name;
  std::string last_value;  // bigint as text
  bool is_called = false;
};

// One entry per name, in the order given. Throws Error (the server's) when a sequence is missing or unreadable.
std::vector<SequenceValue> ReadSequenceValues(pg::Connection& conn, const std::vector<pg::TableName>& names);

// setval(name, last_value, is_called) for each, in one statement (all or none). Every sequence must exist.
void SetSequenceValues(pg::Connection& conn, const std::vector<SequenceValue>& values);

// What each sequence's next nextval() returns (last_value, plus the increment once called), as decimal text of any
// length; `increments` parallel to `values`. One round trip.
std::vector<std::string> NextSequenceValues(pg::Connection& conn, const std::vector<SequenceValue>& values,
                                            const std::vector<std::string>& increments);

}  // namespace walferry::catalog
