#!/usr/bin/env bash
# Installs what ./dev.sh and npm test need: redis-server, redis-cli, nginx,
# haproxy, docker-compose and binutils (Debian packages, when running as root),
# and the npm packages. With --prometheus (./dev.sh --prometheus) or
# WITH_PROMETHEUS=1, and always for npm test (its pretest runs this script),
# also prometheus and promtool (Debian package prometheus).
set -euo pipefail
cd "$(dirname "$0")"

with_prometheus=${WITH_PROMETHEUS:-0}
[ "${npm_lifecycle_event:-}" = pretest ] && with_prometheus=1
for arg in "$@"; do
  case "$arg" in
    --prometheus) with_prometheus=1 ;;
    *) echo "unknown option $arg (allowed: --prometheus)" >&2; exit 2 ;;
  esac
done

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# redis-cli (a dependency of redis-server on Debian) creates the Redis Cluster of the integration tests
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
# the packaging tests validate docker-compose.yml and nginx/haproxy.cfg with them
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
# objdump reads which glibc the zeromq binary needs (Node 12 packaging test)
command -v objdump >/dev/null 2>&1 || missing+=(binutils)
# the metrics tests run a Prometheus server and check the endpoint and the rules with promtool
if [ "$with_prometheus" = 1 ]; then
  { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (apt-get)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}" >&2
    echo "install them, e.g. on Debian/Ubuntu: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "Node.js >= 18 is needed to develop this plugin (found $(node --version))" >&2
  exit 1
fi

if [ ! -d node_modules/kuzzle ] || [ ! -d node_modules/zeromq ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages..."
  npm install --no-audit --no-fund
fi
