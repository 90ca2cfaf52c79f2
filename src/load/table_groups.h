// load/table_groups.h
//
// How `walferry load` splits the tables it creates into groups that are created at the same time, each by its own
// pg_dump and one target transaction (SchemaCopier::CopyTables): thousands of small tables are created in a fraction
// of the time one session takes. A table's definition may need another table to exist first (an inheritance parent
// or partitioned root, a column default's sequence owned by another table, another table's row type as a column
// type); such linked tables always share a group, so each group's script runs alone. The links come from the
// source's pg_depend (src/sql/load/table_links.sql).
// Pure: no I/O. Thread-safe (no state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "pg/quote.h"

namespace walferry::load {

// Splits `tables` into at most `jobs` groups (fewer when there are fewer independent components): the connected
// components of `links` (pairs of tables, either order; a pair naming a table not in `tables` is ignored) are dealt
// out largest first, each to the group with the fewest tables so far. Every table appears in exactly one group, in
// its order in `tables`; no group is empty.
std::vector<std::vector<pg::TableName>> CreationGroups(const std::vector<pg::TableName>& tables,
                                                       const std::vector<std::pair<pg::TableName, pg::TableName>>& links,
                                                       int jobs);

// Creating a table locks it, its TOAST table and the TOAST table's index until the transaction ends (4 locks each,
// measured on PostgreSQL 15 for a table with a text column), and every lock of every open transaction takes a slot
// in the target's shared lock table: max_locks_per_transaction x (max_connections + max_prepared_transactions)
// slots (`lock_capacity`). One transaction creating thousands of tables fails with "out of shared memory" (53200)
// on default settings (6,400 slots: 10,000 tables in 2 groups did). So a group is created in transactions of at
// most this many tables: 3/4 of the capacity shared by `concurrent` groups at once, the rest left to other
// sessions; at least 10.
inline constexpr int64_t kLocksPerCreatedTable = 4;
size_t TablesPerTransaction(int64_t lock_capacity, size_t concurrent);

}  // namespace walferry::load
