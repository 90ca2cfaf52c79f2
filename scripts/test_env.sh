# Sourced by scripts/test.sh and scripts/matrix.sh: test clusters live under a directory of this run's own (the
# harness honours TMPDIR), so that whatever happens to a test binary, the servers it started are stopped and
# removed at exit, and nobody else's are touched. A script may define before_cleanup to keep something first.
run_tmp=$(mktemp -d /tmp/walferry-run-XXXXXX)
chmod 755 "$run_tmp"
walferry_run_cleanup() {
  if declare -F before_cleanup >/dev/null; then before_cleanup; fi
  pkill -9 -f -- "-D $run_tmp/" 2>/dev/null || true
  rm -rf "$run_tmp"
}
trap walferry_run_cleanup EXIT
export TMPDIR="$run_tmp"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
