// catalog/sequence_values.h
//
// The state of sequences as nextval() and setval() see it: last_value and is_called, read from each sequence
// relation itself. No catalog view has it for a sequence that was not called: pg_sequences and
// pg_sequence_last_value() show NULL both for a fresh sequence and after setval(s, 50, false), whose next value is
// 50. Used by the cutover (which sets the target's sequences) and by validate (SEQUENCE_BEHIND).
// Needs SELECT on each sequence. A few round trips whatever the number: UNION ALL queries of at most 500 names.
// Not thread-safe (uses the caller's connection).
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"
#include "pg/quote.h"

namespace walferry::catalog {

struct SequenceValue {
  pg::TableName name;
  std::string last_value;  // bigint as text
  bool is_called = false;
};

// One entry per name, in the order given. Throws Error (the server's) when a sequence is missing or unreadable.
std::vector<SequenceValue> ReadSequenceValues(pg::Connection& conn, const std::vector<pg::TableName>& names);

}  // namespace walferry::catalog
