#!/usr/bin/env bash
# Measures FleetLock operations per second through the running service (DESIGN.md: 10,000
# a second on SQLite, never one holder more than a group allows), with wrk on loopback,
# beside nginx answering a static file on the same machine in the same run.
#  - a group of MACHINES machines (all-day windows) allowing 100 holders at once;
#  - "mixed": every request a random node's pre-reboot or steady-state, as Zincati sends
#    them (the protocol header, pretty JSON without Content-Type, HTTP Basic);
#  - "pre-reboot": only pre-reboots of random nodes, the group full: what a fleet waiting
#    for its turn sends;
#  - then the holders are counted: never more than 100.
# Usage: bench/fleetlock.sh [SECONDS] [CONNECTIONS]   (default 10 s, 64 connections)
#   MACHINES=10000; DB=sqlite (default) or DB=postgres (a throwaway cluster made with the
#   system's initdb). Needs wrk, nginx, curl and python3 (apt-get install wrk nginx).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
machines=${MACHINES:-10000}
db_kind=${DB:-sqlite}
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install wrk nginx)" >&2; exit 1; }
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
bin=$PWD/target/release/forewarn
dir=$(mktemp -d)
chmod 755 "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  [ -n "${pgbin:-}" ] && su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $dir/pg -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case "$db_kind" in
  sqlite) db="sqlite://$dir/forewarn.db" ;;
  postgres)
    pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
    pg_port=$(free_port)
    mkdir "$dir/pg" && chown postgres "$dir/pg"
    su postgres -s /bin/sh -c "$pgbin/initdb -D $dir/pg -A trust -U forewarn >/dev/null"
    su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $dir/pg -o '-p $pg_port -k $dir/pg' -l $dir/pg/log -w start >/dev/null"
    "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U forewarn forewarn
    db="postgres://forewarn@127.0.0.1:$pg_port/forewarn" ;;
  *) echo "DB is sqlite or postgres" >&2; exit 1 ;;
esac

python3 - "$machines" >"$dir/inventory.toml" <<'PY'
import sys
n = int(sys.argv[1])
print('[platform]\nname = "Bench"\ntime_zone = "Europe/Berlin"\nwindows = ["Mon-Sun 00:00-24:00"]\n')
print('[[customers]]\nid = "acme"\nname = "ACME"\n\n[[projects]]\nid = "fleet"\ncustomer = "acme"\n')
for h in range(n // 50 + 1):
    print(f'[[hosts]]\nid = "kvm{h:04d}"\nrack = "r{h // 20}"\n')
for i in range(n):
    print(f'[[machines]]\nid = "node{i:06d}"\nproject = "fleet"\ntier = "production"\nhost = "kvm{i // 50:04d}"\n')
PY
cat >"$dir/group.toml" <<'TOML'
id = "fcos"
title = "Fedora CoreOS updates"
mode = "fleetlock"
starts = "2027-02-01T00:00:00+01:00"
ends = "2027-03-31T00:00:00+01:00"
publish_at = "2027-02-01T00:00:00+01:00"
activities = [{ kind = "reboot", duration = "10m" }]

[limits]
global = 100
TOML

token=$("$bin" token create --name bench --database "$db" 2>/dev/null | tail -1)
port=$(free_port)
base="http://127.0.0.1:$port"
"$bin" serve --database "$db" --listen "127.0.0.1:$port" --base-url "https://status.example.net" \
  --now 2027-02-22T09:00:00+01:00 2>"$dir/serve.log" &
pids+=($!)
fw_pid=$!
for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
api() { # method path content-type [data-file]
  curl -sf -X "$1" -H "Authorization: Bearer $token" -H "Content-Type: $3" ${4:+--data-binary @"$4"} "$base$2"
}
api POST /api/v1/inventory application/toml "$dir/inventory.toml" >/dev/null
api POST /api/v1/campaigns application/toml "$dir/group.toml" >/dev/null
api POST /api/v1/campaigns/fcos/plan application/json >/dev/null
api POST /api/v1/campaigns/fcos/publish application/json >/dev/null
group_token=$("$bin" token create --name zincati --fleetlock fcos --database "$db" 2>/dev/null | tail -1)
basic=$(printf 'fcos:%s' "$group_token" | base64 -w0)

# nginx: the same loopback, a static file of the size of a FleetLock answer.
mkdir -p "$dir/www" && printf '{}' >"$dir/www/ok.json"
nginx_port=$(free_port)
cat >"$dir/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$nginx_port; root $dir/www; }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"

cat >"$dir/fleetlock.lua" <<LUA
local ops = os.getenv("OPS")
local n = $machines
local headers = { ["fleet-lock-protocol"] = "true", ["Authorization"] = "Basic $basic" }
local thread_seed = 0
setup = function(thread) thread_seed = thread_seed + 1; thread:set("seed", thread_seed) end
init = function(args) math.randomseed(os.time() + (seed or 0) * 7919) end
request = function()
  local node = string.format("node%06d", math.random(0, n - 1))
  local op = "pre-reboot"
  if ops == "mixed" and math.random() < 0.5 then op = "steady-state" end
  local body = '{\n  "client_params": {\n    "id": "' .. node .. '",\n    "group": "fcos"\n  }\n}'
  return wrk.format("POST", "/v1/" .. op, headers, body)
end
local statuses = {}
response = function(status) statuses[status] = (statuses[status] or 0) + 1 end
LUA

echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $db_kind; $machines machines, 100 holders allowed; wrk -t2 -c$conns -d${secs}s"
run() { # label url [OPS]
  local out
  out=$(OPS=${3:-} wrk -t2 -c"$conns" -d"${secs}s" --latency ${3:+-s "$dir/fleetlock.lua"} "$2")
  printf '%-26s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" \
    "$(awk '/Requests\/sec/{print $2}' <<<"$out")" \
    "$(awk '$1=="50%"{print $2}' <<<"$out")" "$(awk '$1=="99%"{print $2}' <<<"$out")" \
    "$(awk '/Non-2xx/{print $5}' <<<"$out")"
}
run "forewarn mixed" "$base/v1/pre-reboot" mixed
run "forewarn pre-reboot" "$base/v1/pre-reboot" pre-reboot
run "nginx static GET" "http://127.0.0.1:$nginx_port/ok.json"
holders=$(api GET /api/v1/campaigns/fcos/runs application/json | python3 -c 'import json,sys; print(sum(r["state"]=="running" for r in json.load(sys.stdin)["runs"]))')
runs=$(api GET /api/v1/campaigns/fcos/runs application/json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')
echo "holders at the end: $holders (at most 100); locks granted in all: $runs"
curl -sf "$base/metrics" | grep '^forewarn_fleetlock_requests_total'
[ "$holders" -le 100 ]
