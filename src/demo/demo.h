// demo/demo.h
//
// `walferry demo`: a whole migration on this machine. Starts a source and a target PostgreSQL cluster, creates the
// sample shop database on the source, starts an application writer that keeps changing it, then runs what an
// operator would: assess, plan (2 replication sets), migrate (load, CDC with status while the writer runs, stop
// the writer, catch up), validate, cutover (--writes-stopped --no-validate), and prints a summary. The clusters are
// removed at the end unless `keep`.
#pragma once

#include <ostream>

namespace walferry::demo {

struct DemoOptions {
  int scale = 20;            // sample database size factor (1 is about 2 MB of rows)
  int writer_per_second = 100;
  int cdc_seconds = 10;      // how long CDC runs alongside the writer before it stops
  bool keep = false;         // leave the clusters running until Ctrl-C
};

// Returns the exit code: 0 when source and target ended equal.
int RunDemo(const DemoOptions& options, std::ostream& out);

}  // namespace walferry::demo
