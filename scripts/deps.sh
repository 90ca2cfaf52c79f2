#!/usr/bin/env bash
# Installs what walferry needs to build, test and run its demo on Debian 12 (apt, as root or through sudo).
# Idempotent and quick when everything is already installed.
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config git
  libpq-dev postgresql-15 postgresql-client-15 postgresql-contrib
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libgtest-dev googletest
  python3-jsonschema postgresql-15-pglogical
  clang libclang-rt-14-dev)  # clang and libFuzzer: scripts/fuzz.sh
if [ "${1:-}" = "--bench" ]; then
  packages+=(pgcopydb hyperfine)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "walferry: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
