#!/usr/bin/env bash
# Measures the planning targets of DESIGN.md on this machine: generate a fleet,
# then time `forewarn plan` (read JSON, plan, write JSON) and `forewarn check`
# as whole processes, with their peak memory, and planning again with --keep. Usage:
# bench/plan.sh [MACHINES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
dir=${BENCH_DIR:-target/bench/fleet-$n}
cargo build --release --quiet
bin=target/release/forewarn
if [ ! -f "$dir/inventory.json" ]; then
  "$bin" fleet generate --machines "$n" --seed 1 --out "$dir"
fi
measure() { # label, command...
  local label=$1; shift
  local best=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$dir/time.txt" "$@" >/dev/null 2>"$dir/stderr.txt" || true
    read -r secs kb < "$dir/time.txt"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < ${best%% *})}"; then best="$secs $kb"; fi
  done
  read -r secs kb <<<"$best"
  printf '%-8s %8s s  %6d MB peak   (best of %d)\n' "$label" "$secs" $((kb / 1024)) "$runs"
}
echo "machines: $n, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(lscpu | sed -n 's/^Model name: *//p')"
measure plan "$bin" plan --inventory "$dir/inventory.json" --campaign "$dir/campaign.toml" --out "$dir/plan.json"
sed -n '1p' "$dir/stderr.txt"
measure check "$bin" check --inventory "$dir/inventory.json" --campaign "$dir/campaign.toml" --plan "$dir/plan.json"
"$bin" check --inventory "$dir/inventory.json" --campaign "$dir/campaign.toml" --plan "$dir/plan.json" | tail -1
# Planning again while keeping every published slot that still fits (what the service does
# when a published campaign is planned again), from the plan just made.
measure replan "$bin" plan --inventory "$dir/inventory.json" --campaign "$dir/campaign.toml" \
  --keep "$dir/plan.json" --out "$dir/replan.json"
sed -n '1,2p' "$dir/stderr.txt"
