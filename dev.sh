#!/usr/bin/env bash
# Starts a local Kuzzle cluster: Redis, an Elasticsearch (in-memory stand-in
# unless --es URL), N real Kuzzle 2.10.4 nodes loading this plugin, nginx on
# port 7512. Ctrl-C stops everything. ./dev.sh --help for the options.
set -euo pipefail
cd "$(dirname "$0")"

install_args=()
for arg in "$@"; do
  [ "$arg" != --prometheus ] || install_args=(--prometheus)
done
./dev-npm-install.sh ${install_args[@]+"${install_args[@]}"}
npm run --silent build
exec node -r ts-node/register/transpile-only test/support/devStack.ts "$@"
