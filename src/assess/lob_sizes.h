// assess/lob_sizes.h
//
// Measures the stored size of each LOB column of one table in a single scan: maximum and 99th percentile of
// pg_column_size (the bytes TOAST keeps, after compression) or, for oid columns referring to large objects, the
// objects' lengths; and, given a limit, how many rows hold a value above it. Exact by default (every row);
// with sample_percent, TABLESAMPLE SYSTEM reads that share of the pages and the result is an estimate.
// Read-only: one SELECT. Identifiers are quoted; the limit and percent are parameters.
#pragma once

#include <optional>

#include "assess/assessment.h"
#include "pg/connection.h"

namespace walferry::assess {

// Fills t.lob_columns, t.rows_scanned, t.rows_over_limit, t.lob_measured and t.lob_estimated from t.info.
// Does nothing (lob_measured stays false) when the table has no LOB column.
void MeasureLobSizes(pg::Connection& conn, TableAssessment& t, std::optional<double> sample_percent,
                     std::optional<int64_t> limit_kb);

}  // namespace walferry::assess
