# bench/lib.sh: helpers shared by the bench scripts (sourced, not run). Starts throw-away PostgreSQL 15 clusters
# on free ports of 127.0.0.1 under $BENCH_TMP, as the postgres OS user when run as root, and removes them on exit.
set -euo pipefail

PGBIN=${WALFERRY_PG_BINDIR:-/usr/lib/postgresql/15/bin}
BENCH_TMP=$(mktemp -d /tmp/walferry-bench-XXXXXX)
chmod 755 "$BENCH_TMP"
[ "$(id -u)" -eq 0 ] && chown postgres "$BENCH_TMP"

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_cluster NAME [extra postgresql.conf lines...]; prints the port.
start_cluster() {
  local name=$1; shift
  local dir=$BENCH_TMP/$name port
  port=$(free_port)
  as_pg "$PGBIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  {
    echo "listen_addresses = '127.0.0.1'"; echo "port = $port"; echo "unix_socket_directories = '$BENCH_TMP'"
    echo "wal_level = logical"; echo "max_replication_slots = 20"; echo "max_wal_senders = 20"
    echo "max_worker_processes = 16"; echo "max_logical_replication_workers = 8"
    echo "max_sync_workers_per_subscription = 4"
    echo "shared_buffers = 512MB"; echo "max_wal_size = 8GB"; echo "checkpoint_timeout = 30min"
    echo "maintenance_work_mem = 256MB"
    for line in "$@"; do echo "$line"; done
  } | as_pg tee -a "$dir/postgresql.conf" >/dev/null
  as_pg "$PGBIN/pg_ctl" start -w -D "$dir" -l "$BENCH_TMP/$name.log" >/dev/null
  echo "$port"
}

stop_all() {
  for d in "$BENCH_TMP"/*/; do
    [ -f "$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" stop -m immediate -D "$d" >/dev/null 2>&1 || true
  done
  rm -rf "$BENCH_TMP"
}
trap stop_all EXIT

# cluster_cpu NAME: CPU seconds (user + system) the cluster's processes have used so far: the postmaster, its live
# children (backends, walsenders, apply workers) and the children it has already reaped (cutime/cstime), so a
# walsender that ended is still counted. Deltas around a step give the cluster's share of that step.
cluster_cpu() {
  python3 - "$BENCH_TMP/$1/postmaster.pid" <<'PYCPU'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
def fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()
pm = int(open(sys.argv[1]).readline())
f = fields(pm)
total = sum(int(x) for x in f[11:15])  # utime stime cutime cstime of the postmaster
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        g = fields(pid)
    except OSError:
        continue
    if int(g[1]) == pm:
        total += int(g[11]) + int(g[12])
print(f"{total / tick:.2f}")
PYCPU
}

uri() { echo "postgresql://postgres@127.0.0.1:$1/$2"; }

# seconds_since START_NS
elapsed() { python3 -c "import sys; print(f'{($(date +%s%N) - $1) / 1e9:.2f}')"; }

machine_line() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr);" \
       "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'); walferry $("$WALFERRY" version | awk '{print $2}')"
}

build_walferry() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  bash "$root/scripts/deps.sh" --bench
  cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWALFERRY_TESTS=OFF >/dev/null
  cmake --build "$root/build-release" >/dev/null
  WALFERRY=$root/build-release/walferry
}
