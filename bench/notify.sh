#!/usr/bin/env bash
# Measures the notification targets through the running service:
#  1. planning a generated fleet's campaign (`POST /plan`) beside publishing it, both with
#     the inventory in memory
#     (`POST /publish`: the maintenance post, every slot recorded as told, and one outbox
#     row per contact, an intent rendered at delivery), in the same run; the service's peak
#     memory; and, while the publication runs, how long a login and a post update take;
#  2. the delivery rate from the outbox to a local SMTP relay, with the CPU per message of
#     forewarn and of the relay.
# Usage: bench/notify.sh [MACHINES]   (default 1,340,000 machines: about 100,000 contacts)
#   RELAY=smtp-sink (default; Postfix's C sink, Debian package `postfix`) or RELAY=aiosmtpd
#   (the tests' Python sink); DB=sqlite (default) or DB=postgres (a throwaway cluster made
#   with the system's initdb); DELIVER_SECONDS=120 bounds the delivery phase;
#   CUSTOMER_MACHINES=N gives every customer N machines (long messages) instead of a long
#   tail of sizes. With DB=postgres, PG_OPTIONS adds server options (e.g.
#   "-c log_min_duration_statement=200") and PG_LOG=FILE keeps the server's log.
# Needs curl, python3, and the relay.
set -euo pipefail
cd "$(dirname "$0")/.."
machines=${1:-1340000}
relay=${RELAY:-smtp-sink}
db_kind=${DB:-sqlite}
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
bin=$PWD/target/release/forewarn
dir=$(mktemp -d)
chmod 755 "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${PG_LOG:-}" ] && [ -f "$dir/pg/log" ] && cp "$dir/pg/log" "$PG_LOG"
  [ -n "${pgbin:-}" ] && su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $dir/pg -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }  # CPU seconds of a process
peak() { awk '/^VmHWM/ {printf "%d MB", $2 / 1024}' "/proc/$1/status"; }          # peak resident memory
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$bin" fleet generate --machines "$machines" --seed 1 --out "$dir" ${CUSTOMER_MACHINES:+--customer-machines "$CUSTOMER_MACHINES"} >/dev/null

smtp_port=$(free_port)
case "$relay" in
  smtp-sink)
    command -v smtp-sink >/dev/null || PATH=$PATH:/usr/sbin
    command -v smtp-sink >/dev/null || { echo "needs smtp-sink (apt-get install postfix)" >&2; exit 1; }
    smtp-sink -u nobody "127.0.0.1:$smtp_port" 1024 &
    pids+=($!) ;;
  aiosmtpd)
    python3 -c 'import aiosmtpd' 2>/dev/null || { echo "needs aiosmtpd (pip install aiosmtpd)" >&2; exit 1; }
    python3 crates/forewarn/tests/support/smtp_sink.py "$dir/smtp.port" "$dir/mail.jsonl" --brief 2>"$dir/sink.log" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$dir/smtp.port" ] && break; sleep 0.1; done
    smtp_port=$(cat "$dir/smtp.port") ;;
  *) echo "RELAY is smtp-sink or aiosmtpd" >&2; exit 1 ;;
esac
relay_pid=${pids[0]}

case "$db_kind" in
  sqlite) db="sqlite://$dir/forewarn.db" ;;
  postgres)
    pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
    pg_port=$(free_port)
    mkdir "$dir/pg" && chown postgres "$dir/pg"
    su postgres -s /bin/sh -c "$pgbin/initdb -D $dir/pg -A trust -U forewarn >/dev/null"
    su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $dir/pg -o '-p $pg_port -k $dir/pg -c fsync=on ${PG_OPTIONS:-}' -l $dir/pg/log -w start >/dev/null"
    "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U forewarn forewarn
    db="postgres://forewarn@127.0.0.1:$pg_port/forewarn" ;;
  *) echo "DB is sqlite or postgres" >&2; exit 1 ;;
esac

token=$("$bin" token create --name bench --database "$db" 2>/dev/null | tail -1)
password=bench-password-$RANDOM$RANDOM
printf '%s\n' "$password" | "$bin" operator add --name bench --database "$db" >/dev/null
port=$(free_port)
base="http://127.0.0.1:$port"
start_serve() {
  "$bin" serve --database "$db" --listen "127.0.0.1:$port" --base-url "https://status.example.net" \
    --smtp "smtp://127.0.0.1:$smtp_port" 2>>"$dir/serve.log" &
  pids+=($!)
  fw_pid=$!
  for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
}
start_serve
api() { # method path content-type [data-file]
  curl -sf -X "$1" -H "Authorization: Bearer $token" -H "Content-Type: $3" ${4:+--data-binary @"$4"} "$base$2"
}
counts() { curl -sf "$base/metrics" | sed -n 's/^forewarn_outbox_messages{state="\([a-z]*\)"} \([0-9]*\)$/\1 \2/p'; }
count() { counts | awk -v s="$1" '$1==s{print $2}'; }

echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); fleet of $machines machines (seed 1${CUSTOMER_MACHINES:+, $CUSTOMER_MACHINES a customer}); $db_kind; relay $relay"
t0=$(now); api POST /api/v1/inventory application/json "$dir/inventory.json" >/dev/null; t1=$(now)
echo "import inventory       $(secs "$t0" "$t1") s"
id=$(api POST /api/v1/campaigns application/toml "$dir/campaign.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
t0=$(now); api POST "/api/v1/campaigns/$id/plan" application/json >/dev/null; t1=$(now)
plan=$(secs "$t0" "$t1")
echo "plan (a draft)         $plan s, peak memory so far $(peak "$fw_pid")"
# The publication in a fresh process, so that its peak memory is its own (not the
# import's), which has read the inventory first, as a running service has (planning above
# found it in memory too): a notice about the campaign reads it (its dates are checked
# against the campaign's), then the high-water mark of the process's memory is reset.
kill "$fw_pid" && wait "$fw_pid" 2>/dev/null || true
start_serve
echo "{\"kind\":\"notice\",\"title\":\"Bench notice\",\"body\":\"While publishing.\",\"campaign\":\"$id\"}" >"$dir/post.json"
t0=$(now); post=$(api POST /api/v1/posts application/json "$dir/post.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'); t1=$(now)
echo "a fresh process reads the inventory (a notice about the campaign)  $(secs "$t0" "$t1") s, peak memory $(peak "$fw_pid")"
echo 5 >"/proc/$fw_pid/clear_refs"
echo '{"body":"An update while publishing."}' >"$dir/update.json"

# While the publication runs: a post update every second and a login every six, each timed.
(
  for i in $(seq 1000000); do
    sleep 1
    if [ $((i % 6)) = 1 ]; then # logins are limited to 10 a minute
      a=$(now)
      code=$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "name=bench" --data-urlencode "password=$password" "$base/admin/login")
      b=$(now)
      echo "login $code $(secs "$a" "$b")" >>"$dir/meanwhile.txt"
    fi
    a=$(now)
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" -H "Content-Type: application/json" --data-binary @"$dir/update.json" "$base/api/v1/posts/$post/updates")
    b=$(now)
    echo "update $code $(secs "$a" "$b")" >>"$dir/meanwhile.txt"
  done
) &
side=$!
t0=$(now); api POST "/api/v1/campaigns/$id/publish" application/json >/dev/null; t1=$(now)
kill "$side" 2>/dev/null || true
wait "$side" 2>/dev/null || true
publish=$(secs "$t0" "$t1")
total=$(counts | awk '{s+=$2} END {print s}')
echo "publish: queue $total messages   $publish s   ($(python3 -c "print(f'{$publish / $plan:.2f}')") x plan), peak memory $(peak "$fw_pid") (the inventory's included)"
if [ -s "$dir/meanwhile.txt" ]; then
  for what in login update; do
    awk -v w="$what" '$1 == w { n++; if ($3 > max) max = $3; codes[$2]++ }
      END { s = ""; for (c in codes) s = s " " codes[c] "x" c; printf "  meanwhile: %d %ss, the slowest in %.2f s, answered%s\n", n, w, max, s }' "$dir/meanwhile.txt"
  done
else
  echo "  meanwhile: (the publication took less than a second)"
fi
[ "$db_kind" = sqlite ] && echo "  database file $(du -sh "$dir/forewarn.db" | cut -f1)"

cpu0_relay=$(cpu "$relay_pid"); cpu0_fw=$(cpu "$fw_pid"); sent0=$(count sent)
# Delivery: until nothing is pending, or for at most DELIVER_SECONDS.
limit=${DELIVER_SECONDS:-120}
t2=$(now)
while :; do
  [ "$(count pending)" = 0 ] && break
  python3 -c "import sys,time; sys.exit(time.time() - $t2 < $limit)" && break
  sleep 0.2
done
t3=$(now)
got=$(( $(count sent) - sent0 ))
echo "deliver $got of $total messages by SMTP in $(secs "$t2" "$t3") s: $(python3 -c "print(round($got / ($t3 - $t2)))") messages/s, dead: $(count dead)"
cpu1_relay=$(cpu "$relay_pid"); cpu1_fw=$(cpu "$fw_pid")
echo "  CPU during delivery: forewarn $(secs "$cpu0_fw" "$cpu1_fw") s ($(python3 -c "print(f'{($cpu1_fw - $cpu0_fw) * 1000 / max($got, 1):.2f}')") ms a message), the relay $(secs "$cpu0_relay" "$cpu1_relay") s; forewarn's peak memory $(peak "$fw_pid")"
# The size of the messages: the newest ten, rendered as they are sent.
curl -sf -H "Authorization: Bearer $token" "$base/api/v1/outbox?limit=10" | python3 -c 'import json,sys; print("\n".join(str(m["id"]) for m in json.load(sys.stdin)["messages"]))' >"$dir/sample.txt"
while read -r m; do
  curl -sf -H "Authorization: Bearer $token" "$base/api/v1/outbox/$m" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["payload"]))'
done <"$dir/sample.txt" | awk '{ s += $1; if ($1 > max) max = $1; n++ } END { printf "  the newest %d messages are %d bytes on average, the largest %d\n", n, s / n, max }'
