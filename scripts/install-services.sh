#!/usr/bin/env bash
# Installs the two servers the tests and the demo start on a machine without Docker:
# redis-server (Debian package) and FerretDB v1.24.2 (built from the Go module proxy by
# .ci/install-ferretdb). Prints each step; leaves alone whatever already works. Needs root for apt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

say() { echo "==> $*"; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -q
    apt_updated=1
  fi
  say "apt-get install -y $*"
  apt-get install -y -q --no-install-recommends "$@"
}

if command -v redis-server >/dev/null 2>&1; then
  say "redis-server present: $(redis-server --version | head -n1)"
else
  apt_install redis-server
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="$PATH:/usr/local/go/bin"
fi
find_ferretdb() {
  # The exact search the harness uses (src/dev/services.ts#findFerretDb).
  npx --no-install tsx --eval "import { findFerretDb } from './src/dev/services'; console.log(findFerretDb() ?? '');"
}
ferretdb_bin="$(find_ferretdb)"
if [ -z "$ferretdb_bin" ]; then
  command -v go >/dev/null 2>&1 || apt_install golang-go ca-certificates
  say "building FerretDB v1.24.2 (.ci/install-ferretdb)"
  bash .ci/install-ferretdb
  ferretdb_bin="$(find_ferretdb)"
  [ -n "$ferretdb_bin" ] || { echo "FerretDB was built but is still not found" >&2; exit 1; }
fi
say "ferretdb: $ferretdb_bin ($("$ferretdb_bin" --version 2>/dev/null | head -n1))"
