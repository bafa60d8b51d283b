#!/usr/bin/env bash
# Real-data experiments on PneumoniaMNIST (../shared/data/pneumoniamnist.npz):
#   1. APGA's presets (sampled, paper, reference) against no augmentation, Cutout and
#      Grad-CAM, 100 images per class (the APGA paper's data-constrained regime), 5 seeds:
#      runs/pneumonia-apga/results.md, one table of all;
#   2. normal training against noise-mask heating + fine-tuning (the scaled loss), 300 and 100
#      images per class, 5 seeds, and the paper loss as written for comparison.
# Each experiment writes DIR/results.md (mean ± std and 95% intervals over the seeds),
# results.json and experiment.html. Re-running skips finished stages.
#   3. the transfer evaluation of normal against heated features (after 2.):
#      runs/pneumonia-transfer/results.md.
# Usage: scripts/pneumonia.sh [apga|noisemask|transfer|all]
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
  run apga "$root/sampled"
  for preset in paper reference; do
    run apga "$root/$preset" --methods apga --apga.preset "$preset" --reuse-from "$root/sampled"
  done
  "$bin" experiment compare sampled="$root/sampled" paper="$root/paper" reference="$root/reference" -o "$root/results.md"
}
noisemask() {
  # The defaults (the scaled loss, log α, log β bounded to ±3) at 300 and 100 images per
  # class, 5 seeds; then the paper's loss as written (lr 0.05, unbounded), for comparison.
  run noisemask runs/pneumonia-noisemask-300
  run noisemask runs/pneumonia-noisemask-100 --data.per_class 100
  run noisemask runs/pneumonia-noisemask-paper --methods noisemask --noisemask.loss paper --noisemask.param_bound 0 --seeds 1,2,3
}
transfer() {
  # The noise-mask paper's transfer evaluation on the 300-per-class models of noisemask(): frozen
  # features of normal training against heated → fine-tuned (the paper's random noise start and
  # the mild start), an MLP and logistic regression on the full training split and few-shot
  # logistic regression at 8-64 images per class (10 trials each), one report per seed, then one
  # table over the seeds with 95% intervals.
  local root=runs/pneumonia-noisemask-300 out=runs/pneumonia-transfer
  mkdir -p "$out"
  local -A groups=()
  for s in 1 2 3 4 5; do
    for pair in normal:converge heated:finetune heated-mild-start:finetune@mild-start; do
      local name=${pair%%:*} stage=${pair#*:}
      local r="$out/$name-seed-$s.json"
      if [ ! -f "$r" ]; then
        "$bin" eval transfer --model "$root/seed-$s/$stage/classifier.onnx" --data "$data" \
          --transform resize=32,normalize=0.5766:0.1646 --shots 8,16,32,64 --seed "$s" -q -o "$r" >/dev/null
      fi
      groups[$name]="${groups[$name]:+${groups[$name]},}$r"
    done
  done
  "$bin" eval transfer compare normal="${groups[normal]}" heated="${groups[heated]}" \
    heated-mild-start="${groups[heated-mild-start]}" -o "$out/results.md"
}
case "$what" in
  apga) apga ;;
  noisemask) noisemask ;;
  transfer) transfer ;;
  all) apga; noisemask; transfer ;;
  *) echo "usage: scripts/pneumonia.sh [apga|noisemask|transfer|all]" >&2; exit 2 ;;
esac
