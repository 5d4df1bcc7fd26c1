#!/usr/bin/env bash
# Measures the status page target of DESIGN.md: requests per second for `/` and `/feed.atom`
# from `forewarn demo`, beside nginx serving the same bytes from files, with wrk on loopback.
# Usage: bench/pages.sh [SECONDS] [CONNECTIONS]   (needs nginx and wrk: apt-get install nginx wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "needs nginx and wrk (apt-get install nginx wrk)" >&2; exit 1; }
cargo build --release --quiet
dir=$(mktemp -d)
cleanup() { kill "$demo" 2>/dev/null || true; [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
target/release/forewarn demo --listen 127.0.0.1:0 >"$dir/demo.out" 2>/dev/null &
demo=$!
for _ in $(seq 100); do grep -q '^fw_' "$dir/demo.out" 2>/dev/null && break; sleep 0.2; done
base=$(sed -n 's/^  status page *//p' "$dir/demo.out" | sed 's:/$::')
mkdir -p "$dir/www"
curl -sf "$base/" -o "$dir/www/index.html"
curl -sf "$base/feed.atom" -o "$dir/www/feed.atom"
port=$((20000 + RANDOM % 20000))
cat >"$dir/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { text/html html; application/atom+xml atom; }
  server { listen 127.0.0.1:$port; root $dir/www; index index.html; }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
sleep 0.5
echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); wrk -t2 -c$conns -d${secs}s; /: $(stat -c %s "$dir/www/index.html") bytes, /feed.atom: $(stat -c %s "$dir/www/feed.atom") bytes"
run() { # label url
  local out
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$2")
  printf '%-22s %10s req/s   p50 %8s   p99 %8s\n' "$1" \
    "$(awk '/Requests\/sec/{print $2}' <<<"$out")" \
    "$(awk '$1=="50%"{print $2}' <<<"$out")" "$(awk '$1=="99%"{print $2}' <<<"$out")"
}
run "forewarn /" "$base/"
run "nginx /" "http://127.0.0.1:$port/index.html"
run "forewarn /feed.atom" "$base/feed.atom"
run "nginx /feed.atom" "http://127.0.0.1:$port/feed.atom"
