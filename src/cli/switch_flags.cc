#include "cli/switch_flags.h"

#include <cctype>
#include <iostream>

#include <fmt/format.h>

#include "common/error.h"
#include "lifecycle/freeze_check.h"

namespace walferry::cli {

void SwitchFlags::Add(CLI::App& app, const std::string& from, const std::string& note) {
  // "With --switch-back: the application ..." (the note, then the sentence in lower case).
  auto say = [&](std::string text) {
    if (!note.empty() && !text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return note + text;
  };
  app.add_flag("--writes-stopped", writes_stopped,
               say("The application no longer writes (stopped by the operator): do not wait for its sessions"));
  app.add_flag("--terminate-sessions", terminate,
               say("End the " + from + " database's sessions that connected before writes were stopped"));
  app.add_option("--timeout", timeout,
                 say("Seconds to wait for those sessions, or for a walferry process reading a slot, to end "
                     "(default 60)"))
      ->check(CLI::Range(1, 86400));
  app.add_option("--max-lag", max_lag,
                 say("Seconds a catch-up round before the switch may take at most (default 30): the pause with "
                     "writes stopped is about that long"))
      ->check(CLI::Range(1, 86400));
  app.add_flag("--no-validate", no_validate, say("Skip the final comparison of every table"));
  app.add_option("--on-difference", on_difference,
                 say("What the final validation does with differences: abort (default: report, the " + from +
                     " stays read-only, exit 1) or repair (rewrite them from the frozen " + from +
                     ", then compare again)"))
      ->check(CLI::IsMember({"abort", "repair"}));
  app.add_option("--jobs", jobs, say("Connection pairs of the final validation (default 2)"))
      ->check(CLI::Range(1, 256));
  app.add_option("--allow-writers", allow_writers,
                 say("Accept one way to write to the " + from + " that the freeze does not stop (repeatable): "
                     "role:NAME (a role's own default_transaction_read_only = off), superuser:NAME (a connected "
                     "superuser role), prepared (wait for prepared transactions, at most --timeout), background "
                     "(background workers writing now). A write that gets through still fails the switch before "
                     "the slots are dropped (docs/runbook.md)"))
      ->check([](const std::string& v) {
        try {
          lifecycle::CheckConsentToken(v);
          return std::string();
        } catch (const Error& e) {
          return e.message();
        }
      });
  app.add_flag("--abort", abort,
               say("Make the " + from + " writable again and end an unfinished switch (replication can resume)"));
}

void SwitchFlags::Apply(lifecycle::CutoverOptions& o) const {
  o.writes_stopped = writes_stopped;
  o.terminate_sessions = terminate;
  o.timeout = std::chrono::seconds(timeout);
  o.max_lag = std::chrono::seconds(max_lag);
  o.validate = !no_validate;
  o.repair = on_difference == "repair";
  o.validate_jobs = jobs;
  o.allow_writers = {allow_writers.begin(), allow_writers.end()};
}

nlohmann::json SwitchReportJson(const lifecycle::CutoverReport& r, const std::string& database_key) {
  return {{database_key, r.source_database},
          {"final_lsn", r.final_lsn},
          {"downtime_seconds", r.downtime_seconds},
          {"sequences", r.sequences},
          {"large_objects_copied", r.large_objects_copied},
          {"large_objects_unlinked", r.large_objects_unlinked},
          {"validated", r.validated},
          {"dropped", r.dropped},
          {"already_done", r.already_done}};
}

void PrintSwitchSummary(const lifecycle::CutoverReport& r, const std::string& ready) {
  std::cout << fmt::format("  downtime (writes stopped -> {}): {:.1f} s\n", ready, r.downtime_seconds);
  if (r.already_done) return;
  std::cout << "  sequences set: " << r.sequences << "\n"
            << "  large objects copied or replaced: " << r.large_objects_copied
            << ", unlinked: " << r.large_objects_unlinked << "\n"
            << "  final validation: " << (r.validated ? "every table equal" : "skipped (--no-validate)") << "\n";
  for (const auto& d : r.dropped) std::cout << "  dropped " << d << "\n";
}

}  // namespace walferry::cli
