#!/usr/bin/env bash
# An interleaved series of burst-only runs, to compare commits on a noisy machine:
#   bench/burst_series.sh WORKDIR ROUNDS COMMIT [COMMIT...]
# Each commit is cloned from this repository into WORKDIR/<commit> and set up once; then,
# ROUNDS times, each commit runs once on a fresh stack of its own (the order reversed
# every other round: A B C / C B A ...): 45 s warm-up, 5 s at 50/s, then 5,000 orders at
# once through the Kafka door. Results: WORKDIR/out/<n>-<commit>/latest.json; summary:
#   .venv/bin/python -m bench.burst_summary WORKDIR/out
# Stop the dev stack first: every run uses the default ports. SERIES_ARGS replaces the
# benchmark's arguments (e.g. SERIES_ARGS="--mode http --http-rates 25,50 --no-ceilings"
# for a series of the HTTP door's low steps).
set -u
work=$1; rounds=$2; shift 2
args=${SERIES_ARGS:---mode kafka --no-ceilings --rates 50 --seconds 5 --warm-up 45 --burst 5000 --burst-timeout 300}
repo=$(git rev-parse --show-toplevel)
mkdir -p "$work/out"
for c in "$@"; do
  if [ ! -d "$work/$c" ]; then
    git clone -q "$repo" "$work/$c" && git -C "$work/$c" checkout -q "$c" && make -C "$work/$c" setup > "$work/setup-$c.log" 2>&1 || { echo "setup of $c failed"; exit 1; }
  fi
done
n=0
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="$*"; else order=$(echo "$@" | awk '{for(i=NF;i>0;i--) printf "%s ", $i}'); fi
  for c in $order; do
    n=$((n + 1))
    cd "$work/$c" || exit 1
    rm -rf .orderflow
    if .venv/bin/orderflow up > "$work/out/up-$n-$c.log" 2>&1; then
      # shellcheck disable=SC2086 # the arguments are meant to split
      .venv/bin/python -m bench.run $args --out "$work/out/$n-$c" > "$work/out/run-$n-$c.log" 2>&1
      echo "$(date +%T) run $n $c rc=$?"
    else
      echo "$(date +%T) run $n $c: the stack did not start"
    fi
    .venv/bin/orderflow down > /dev/null 2>&1
  done
done
