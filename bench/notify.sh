#!/usr/bin/env bash
# Measures the notification targets of issue 5 through the running service:
#  1. the time to queue a campaign's messages: `POST /publish` of a generated fleet, which
#     plans once more for the announcement, renders one email per contact (text, HTML and a
#     calendar part with one event per machine) and writes them with the change, in one
#     transaction;
#  2. the delivery rate from the outbox to a local SMTP server (aiosmtpd on loopback, the
#     tests' sink with --brief: it reads each message's headers and records it).
# Usage: bench/notify.sh [MACHINES]   (default 1,340,000 machines: about 100,000 contacts)
# Needs python3 with aiosmtpd (pip install aiosmtpd) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
machines=${1:-1340000}
python3 -c 'import aiosmtpd' 2>/dev/null || { echo "needs aiosmtpd (pip install aiosmtpd)" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/forewarn
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }  # CPU seconds of a process

"$bin" fleet generate --machines "$machines" --seed 1 --out "$dir" >/dev/null
python3 crates/forewarn/tests/support/smtp_sink.py "$dir/smtp.port" "$dir/mail.jsonl" --brief 2>"$dir/sink.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/smtp.port" ] && break; sleep 0.1; done
db="sqlite://$dir/forewarn.db"
token=$("$bin" token create --name bench --database "$db" 2>/dev/null | tail -1)
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
"$bin" serve --database "$db" --listen "127.0.0.1:$port" --base-url "https://status.example.net" \
  --smtp "smtp://127.0.0.1:$(cat "$dir/smtp.port")" 2>"$dir/serve.log" &
pids+=($!)
for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
api() { # method path content-type [data-file]
  curl -sf -X "$1" -H "Authorization: Bearer $token" -H "Content-Type: $3" ${4:+--data-binary @"$4"} "$base$2"
}

echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); fleet of $machines machines (seed 1)"
t0=$(now); api POST /api/v1/inventory application/json "$dir/inventory.json" >/dev/null; t1=$(now)
echo "import inventory       $(secs "$t0" "$t1") s"
id=$(api POST /api/v1/campaigns application/toml "$dir/campaign.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
t0=$(now); api POST "/api/v1/campaigns/$id/plan" application/json >/dev/null; t1=$(now)
echo "plan (a draft)         $(secs "$t0" "$t1") s"
t0=$(now); api POST "/api/v1/campaigns/$id/publish" application/json >/dev/null; t1=$(now)
counts() { curl -sf "$base/metrics" | sed -n 's/^forewarn_outbox_messages{state="\([a-z]*\)"} \([0-9]*\)$/\1 \2/p'; }
total=$(counts | awk '{s+=$2} END {print s}')
echo "publish: queue $total messages   $(secs "$t0" "$t1") s   ($(python3 -c "print(round($total / ($t1 - $t0)))") messages/s), outbox $(du -sh "$dir" | cut -f1) on disk with the fleet files"
cpu0_relay=$(cpu "${pids[0]}"); cpu0_fw=$(cpu "${pids[1]}")
# Delivery: until the outbox is empty, or for at most DELIVER_SECONDS (default 120).
limit=${DELIVER_SECONDS:-120}
while :; do
  pending=$(counts | awk '$1=="pending"{print $2}')
  [ "${pending:-1}" = 0 ] && break
  python3 -c "import sys,time; sys.exit(time.time() - $t1 < $limit)" && break
  sleep 0.5
done
t2=$(now)
got=$(wc -l <"$dir/mail.jsonl")
echo "deliver $got of $total messages by SMTP in $(secs "$t1" "$t2") s: $(python3 -c "print(round($got / ($t2 - $t1)))") messages/s, dead: $(counts | awk '$1=="dead"{print $2}')"
cpu1_relay=$(cpu "${pids[0]}"); cpu1_fw=$(cpu "${pids[1]}")
echo "  CPU during delivery: forewarn $(secs "$cpu0_fw" "$cpu1_fw") s ($(python3 -c "print(f'{($cpu1_fw - $cpu0_fw) * 1000 / max($got, 1):.2f}')") ms a message), the relay $(secs "$cpu0_relay" "$cpu1_relay") s"
