// lifecycle/cutover_rerun.h
//
// What a rerun of walferry cutover (or fallback --switch-back) takes from the row of the run that began the switch
// (control/cutover_row.h): the options that change what the switch ends with (--fallback, --keep-slots) are
// recorded when writes are stopped; a rerun without them continues with them (logged), a rerun that adds one the
// first run did not have is refused (Error kPrecondition): the switch is half done the first run's way.
// Also whether the source really is read-only still: an abort that could not reach the target
// (AbortCutover) made it writable without recording it there.
#pragma once

#include <string>
#include <vector>

#include "control/cutover_row.h"
#include "lifecycle/cutover.h"
#include "pg/connection.h"

namespace walferry::lifecycle {

// The recorded words of `o`: "fallback", "keep_slots".
std::vector<std::string> RecordedOptions(const CutoverOptions& o);

// Applies the first run's options to `o` (a rerun continuing `row`), or throws Error(kPrecondition) naming the
// option a rerun added. Logs each option taken over.
void ContinueAsRecorded(CutoverOptions& o, const control::CutoverRow& row);

// Whether the database `source` is connected to is read-only for new sessions by its own setting.
bool DatabaseReadOnly(pg::Connection& source);

}  // namespace walferry::lifecycle
