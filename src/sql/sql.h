// sql/sql.h
//
// SQL kept in .sql files beside this header (one query per file, runnable in psql with $1.. parameters),
// embedded at build time by cmake/embed_sql.cmake. Get("assess/tables") returns src/sql/assess/tables.sql.
#pragma once

#include <string_view>

namespace walferry::sql {

// Throws Error(kInternal) for an unknown name (a build mistake, not a user error).
std::string_view Get(std::string_view name);

}  // namespace walferry::sql
