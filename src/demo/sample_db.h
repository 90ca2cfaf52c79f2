// demo/sample_db.h
//
// The demo's sample application database: created on the source from src/sql/demo/schema.sql at a chosen scale
// (scale 1 is a few MB; each step adds about the same again).
#pragma once

#include "pg/connection.h"

namespace walferry::demo {

void CreateSampleDatabase(pg::Connection& source, int scale);

}  // namespace walferry::demo
