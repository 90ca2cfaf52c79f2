// load/restore_list.h
//
// pg_restore's table of contents (`pg_restore --list`) as data, and the decisions SchemaCopier (load/schema.h) makes
// on it without reading any message text: which post-data entries a resumed load leaves out because the target has
// them already, and which SQLSTATE stopped a psql script. Server messages follow the server's lc_messages, so
// walferry never matches them; catalogs and SQLSTATEs are the same in every language.
// Pure: no I/O, no logging. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace walferry::load {

// A pg_restore --list line: "ID; CLASSID OBJID DESC SCHEMA NAME OWNER". classid and objid are the object's catalog
// and oid on the dumped server (0 for entries that are no catalog object: comments, INDEX ATTACH, ROW SECURITY).
struct TocEntry {
  std::string line;
  uint32_t classid = 0;
  uint32_t objid = 0;
  std::string rest;  // from DESC on
};

// pg_dump -t patterns selecting exactly `tables` (schema, name; unquoted): one pattern per schema and chunk,
// "schema".("t1"|"t2"|...), each name quoted (literal inside double quotes, as pg_dump's patterns read them),
// joined by regular-expression alternation. pg_dump runs one catalog query per -t pattern (1.3 ms each on the
// bench machine: 2.3 s for 1,000 tables one pattern each, 1.1 s in one pattern); a chunk holds at most
// `max_chars` characters, well under Linux's 128 kB limit on one argument.
std::vector<std::string> DumpTablePatterns(const std::vector<std::pair<std::string, std::string>>& tables,
                                           size_t max_chars = 32 * 1024);

// Every entry of a listing; comment lines (';') and blank lines are skipped.
std::vector<TocEntry> ParseToc(const std::string& listing);

// Whether the entry creates a table (desc TABLE; not TABLE ATTACH nor TABLE DATA).
bool IsTableEntry(const TocEntry& e);

// `toc` cut into consecutive parts, in order, each holding at most `max_tables` TABLE entries (at least 1) and
// every entry exactly once; the entries after a part's last TABLE (sequences, defaults, comments) stay with it up
// to the next TABLE that does not fit. Restored one after the other, each part finds every object an earlier
// entry made. No part is empty; an empty toc gives no part.
std::vector<std::vector<TocEntry>> SplitByTables(const std::vector<TocEntry>& toc, size_t max_tables);

// A post-data object as a server's catalog describes it (src/sql/load/post_data_objects.sql).
struct CatalogObject {
  std::string type;        // pg_identify_object_as_address: "index", "table constraint", "trigger", ...
  std::string names;       // its object_names as text: {schema,table,name}, unquoted, the same on every server
  std::string definition;  // pg_get_indexdef, pg_get_constraintdef, ... (search_path = pg_catalog)

  // type and names: what identifies the object on any server.
  std::string Address() const { return type + " " + names; }
};

// The source's post-data objects by (classid, objid), as the dump's entries refer to them.
using SourceObjects = std::map<std::pair<uint32_t, uint32_t>, CatalogObject>;
// The target's post-data objects on the same tables: definition by Address().
using TargetObjects = std::map<std::string, std::string>;

struct ResumedPostData {
  std::vector<TocEntry> restore;  // still to create (entries the catalogs do not name are always kept)
  std::vector<std::string> kept;  // addresses of objects the target has already, with the source's definition
  // Objects the target has under the same name with another definition: "<address>: target <def>, source <def>".
  std::vector<std::string> conflicts;
};

// Splits a post-data table of contents for a resumed load: an entry whose object the target already has, defined
// the same, is left out (an interrupted run created it); one whose name the target uses for another definition is
// a conflict; every other entry is restored, so that pg_restore --exit-on-error reports each real error.
ResumedPostData PlanResumedPostData(const std::vector<TocEntry>& toc, const SourceObjects& source,
                                    const TargetObjects& target);

// The post-data entries a table's own copy commit lets be created at once, while other tables still copy, keyed by
// that table (any text naming it): the entries whose (classid, objid) `owners` maps to a table. `owners` names only
// objects that need nothing but their own table (src/sql/load/post_data_early.sql: indexes and primary key, unique
// and exclusion constraints of tables that are neither partitioned nor partitions). Every other entry (foreign
// keys, triggers, comments, a partitioned table's indexes and their ATTACH) is in none of the lists: it waits for
// the end of every copy. Each list keeps the listing's order.
std::map<std::string, std::vector<TocEntry>> EarlyEntries(
    const std::vector<TocEntry>& toc, const std::map<std::pair<uint32_t, uint32_t>, std::string>& owners);

// The SQLSTATE of the error that stopped a psql script run with ON_ERROR_STOP=1 and VERBOSITY=verbose, from psql's
// output: psql prefixes each server message with "psql:FILE:LINE: " and, verbose, the message starts with
// "<SEVERITY>:  <SQLSTATE>: " (the severity word is translated, the SQLSTATE is not). The stopping error is psql's
// last such line; nullopt when that line carries no SQLSTATE (an error of psql itself) or there is none.
std::optional<std::string> StoppingSqlState(std::string_view psql_output);

}  // namespace walferry::load
