#!/usr/bin/env bash
# APGA's evidence on data whose truth is known (scripts/experiments/synthetic-apga.toml):
# 600 synthetic 32×32 images (seed 1) whose label is a planted structure stored as its
# mask; 10 seeds of: plain training to convergence, then the Grad-CAM baseline and APGA
# with the sampled preset; then APGA's paper and reference presets, and the sampled
# preset with the Grad-CAM start, each continuing from the same converged models
# (--reuse-from). One table of all: runs/synthetic-apga/results.md. Re-running skips
# finished stages. Usage: scripts/apga-evidence.sh [JOBS]  (JOBS variants at a time
# after the first; about 1.5 h on 2 cores with JOBS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-1}"
scripts/setup.sh >/dev/null
export PGAUG_ORT_LIB="${PGAUG_ORT_LIB:-$PWD/.deps/onnxruntime/libonnxruntime.so.1}"
bin=bin/pgaug # built by setup.sh
root=runs/synthetic-apga
config=scripts/experiments/synthetic-apga.toml
mkdir -p "$root"
[ -e "$root/synthetic.arrow" ] || "$bin" data import synthetic -o "$root/synthetic.arrow" --count 600 --size 32 --classes 2 --seed 1
"$bin" experiment "$config" >"$root/sampled.log"
variant() { # NAME FLAGS...: APGA alone, continuing from the sampled run's converged models
  local name=$1
  shift
  "$bin" experiment "$config" --dir "$root/$name" --methods apga --reuse-from "$root/sampled" "$@" >"$root/$name.log"
}
pids=()
for v in "paper --apga.preset paper" "reference --apga.preset reference" "gradcam-start --apga.policy_init gradcam"; do
  # shellcheck disable=SC2086
  variant $v &
  pids+=($!)
  if ((${#pids[@]} >= jobs)); then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
"$bin" experiment compare sampled="$root/sampled" gradcam-start="$root/gradcam-start" paper="$root/paper" reference="$root/reference" -o "$root/results.md"
