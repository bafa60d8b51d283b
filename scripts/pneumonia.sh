#!/usr/bin/env bash
# Real-data experiments on PneumoniaMNIST (../shared/data/pneumoniamnist.npz):
#   1. APGA's presets (paper, reference, sampled) against no augmentation, Cutout and
#      Grad-CAM, 100 images per class (the APGA paper's data-constrained regime), 5 seeds:
#      runs/pneumonia-apga/results.md, one table of all;
#   2. normal training against noise-mask heating + fine-tuning (the scaled loss), 300 and 100
#      images per class, 5 seeds, and the paper loss as written for comparison.
# Each experiment writes DIR/results.md (mean ± std and 95% intervals over the seeds),
# results.json and experiment.html. Re-running skips finished stages.
# Usage: scripts/pneumonia.sh [apga|noisemask|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
scripts/setup.sh >/dev/null
export PGAUG_ORT_LIB="${PGAUG_ORT_LIB:-$PWD/.deps/onnxruntime/libonnxruntime.so.1}"
npz="${PNEUMONIA_NPZ:-../shared/data/pneumoniamnist.npz}"
[ -f "$npz" ] || { echo "pneumonia.sh: $npz not found (set PNEUMONIA_NPZ)" >&2; exit 1; }
mkdir -p runs/data
bin=bin/pgaug # built by setup.sh
data=runs/data/pneumoniamnist.arrow
if [ ! -e "$data" ]; then
  "$bin" data import medmnist "$npz" -o "$data"
  "$bin" data stats "$data"
fi
run() { # run NAME [DIR FLAGS...]
  local name=$1 dir=${2:-runs/pneumonia-$1}
  shift; shift || true
  "$bin" experiment "scripts/experiments/pneumonia-$name.toml" --data.path "$data" --dir "$dir" "$@"
  echo "=== $name: $dir/results.md"
  cat "$dir/results.md"
}
apga() {
  local root=runs/pneumonia-apga
  run apga "$root/paper"
  for preset in reference sampled; do
    run apga "$root/$preset" --methods apga --apga.preset "$preset" --reuse-from "$root/paper"
  done
  "$bin" experiment compare paper="$root/paper" reference="$root/reference" sampled="$root/sampled" -o "$root/results.md"
}
noisemask() {
  # The defaults (the scaled loss, log α, log β bounded to ±3) at 300 and 100 images per
  # class, 5 seeds; then the paper's loss as written (lr 0.05, unbounded), for comparison.
  run noisemask runs/pneumonia-noisemask-300
  run noisemask runs/pneumonia-noisemask-100 --data.per_class 100
  run noisemask runs/pneumonia-noisemask-paper --noisemask.loss paper --noisemask.param_bound 0 --seeds 1,2,3
}
case "$what" in
  apga) apga ;;
  noisemask) noisemask ;;
  all) apga; noisemask ;;
  *) echo "usage: scripts/pneumonia.sh [apga|noisemask|all]" >&2; exit 2 ;;
esac
