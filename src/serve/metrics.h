// serve/metrics.h
//
// walferry's Prometheus metrics: one Sample (monitor.h) as the Prometheus text exposition format, built with
// prometheus-cpp (a fresh registry per scrape, so a set or table that went away leaves no stale series). Names
// follow Prometheus conventions: prefix walferry_, base units (bytes, seconds), _total for counters, labels `set`,
// `table`, `state`. The full list with meanings: docs/serve.md. Pure apart from the library; thread-safe.
#pragma once

#include <string>

#include "serve/monitor.h"

namespace walferry::serve {

// The exposition of `sample`, with walferry_up 1.
std::string MetricsText(const Sample& sample);
// The exposition when no reading could be taken: walferry_up 0 only.
std::string MetricsDownText();

}  // namespace walferry::serve
