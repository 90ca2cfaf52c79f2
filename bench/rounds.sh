# bench/rounds.sh (sourced): each case run ROUNDS times (default 3), its methods in a different order each round
# (rotated: a method that runs first in one round runs later in the next, so a machine getting busier or quieter
# does not favour one), every time kept; `summary` prints per method the median, the spread (min-max) and
# walferry's ratio to it (the method's median / walferry's median: above 1, walferry is faster).
# A method is a shell function `m_<name>` taking a round number (optional `prep_<name>` before and `after_<name>`
# after it, untimed); `case_run CASE NAME...` times them.
ROUNDS=${ROUNDS:-3}
declare -A times       # "case|method" -> "t1 t2 t3"
declare -a case_order  # cases in the order they ran
declare -A methods_of  # case -> "method1 method2 ..."

# time_once CASE METHOD ROUND: runs m_METHOD ROUND after a CHECKPOINT of both clusters; keeps the seconds.
time_once() {
  local c=$1 m=$2 r=$3 t0
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$src" -U postgres -d postgres -c CHECKPOINT
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$dst" -U postgres -d postgres -c CHECKPOINT
  if declare -F "prep_$m" >/dev/null; then "prep_$m" "$r" >/dev/null; fi  # untimed: what the method needs ready
  sync
  t0=$(date +%s%N)
  if ! "m_$m" "$r" >"$BENCH_TMP/last.out" 2>&1; then
    echo "  $c / $m (round $r) FAILED; its time is left out:" >&2
    tail -5 "$BENCH_TMP/last.out" >&2
    if declare -F "after_$m" >/dev/null; then "after_$m" "$r" >/dev/null 2>&1 || true; fi
    return 0
  fi
  local s; s=$(elapsed "$t0")
  if declare -F "after_$m" >/dev/null; then "after_$m" "$r" >/dev/null; fi  # untimed: cleanup
  times["$c|$m"]="${times["$c|$m"]:-} $s"
  echo "  $c / $m (round $r): $s s (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
}

# case_run CASE METHOD...: ROUNDS rounds, the methods rotated by one place each round.
case_run() {
  # Names of its own: bash's locals are visible to (and were clobbered by) the functions it calls.
  local c=$1; shift
  local ms=("$@") n=$# case_round case_slot
  case_order+=("$c")
  methods_of[$c]="${ms[*]}"
  for ((case_round = 1; case_round <= ROUNDS; case_round++)); do
    for ((case_slot = 0; case_slot < n; case_slot++)); do
      time_once "$c" "${ms[$(((case_slot + case_round - 1) % n))]}" "$case_round"
    done
  done
}

# summary: one table per case. The walferry method of a case is the one whose name starts with "walferry". When the
# case has a method "floor", also walferry's median over the floor's, and each round's ratio (walferry / floor).
summary() {
  local c m w
  for c in "${case_order[@]}"; do
    echo
    echo "-- $c ($ROUNDS rounds, methods alternated) --"
    w=""
    for m in ${methods_of[$c]}; do [[ $m == walferry* ]] && w=$m; done
    python3 - "$c" "$w" ${methods_of[$c]} <<PY
import statistics, sys
c, w, methods = sys.argv[1], sys.argv[2], sys.argv[3:]
times = {$(for m in ${methods_of[$c]}; do printf '"%s": [%s], ' "$m" "$(echo ${times["$c|$m"]:-} | tr ' ' ',')"; done)}
wm = statistics.median(times[w]) if times.get(w) else None
print(f"{'method':<34} {'median s':>9} {'spread s':>15} {'walferry faster by':>19}")
for m in methods:
    t = times.get(m) or []
    if not t:
        print(f"{m:<34} {'failed':>9}")
        continue
    med = statistics.median(t)
    ratio = f"{med / wm:.2f}x" if wm else "-"
    print(f"{m:<34} {med:>9.2f} {min(t):>7.2f}-{max(t):<7.2f} {ratio:>19}")
if wm and times.get("floor"):
    per_round = " ".join(f"{a / b:.2f}x" for a, b in zip(times[w], times["floor"]))
    print(f"walferry / floor: {wm / statistics.median(times['floor']):.2f}x (median over median; per round: "
          f"{per_round}); goal <= 1.2x")
PY
  done
}
