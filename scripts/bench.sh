#!/usr/bin/env bash
# Prints one table comparing pgaug's gorgonia graphs with ONNX Runtime and PyTorch, measured
# in the same run on this machine: ResNet-18 (batch 16, 112x112, 2 threads) forward and
# training step, and the import (+ graph build) time of DenseNet-169.
# Needs what `scripts/setup.sh --test-deps` installs (python3-torch for the PyTorch column).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh --test-deps >/dev/null

export PGAUG_BENCH_DIR=${PGAUG_BENCH_DIR:-$(mktemp -d)}
benchtime=${BENCHTIME:-5x}

gobench=$(go test -tags openblas -run '^$' -bench 'ResNet18|ImportDenseNet169' -benchtime "$benchtime" ./onnx/torchref/)
torch=$(/usr/bin/python3 scripts/bench_torch.py 10 2>/dev/null)

ms() { awk -v pat="$1" '$1 ~ pat { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") { printf "%.1f", $i / 1e6; exit } }' <<<"$gobench"; }
tv() { awk -v k="$1" '$1 == k { print $2 }' <<<"$torch"; }

fwd_g=$(ms 'BenchmarkResNet18Forward/gorgonia')
fwd_o=$(ms 'BenchmarkResNet18Forward/onnxruntime')
fwd_t=$(tv torch_forward_ms)
step_g=$(ms 'BenchmarkResNet18TrainStep')
step_t=$(tv torch_train_step_ms)
imp=$(ms 'BenchmarkImportDenseNet169')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), BLAS: OpenBLAS"
printf '| %-40s | %12s | %12s | %12s | %16s |\n' "ResNet-18, batch 16, 112x112, 2 threads" "pgaug (ms)" "ORT (ms)" "PyTorch (ms)" "pgaug / PyTorch"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" "--------------" "--------------" "------------------"
printf '| %-40s | %12s | %12s | %12s | %16s |\n' "forward (inference)" "$fwd_g" "$fwd_o" "$fwd_t" "$(ratio "$fwd_g" "$fwd_t")"
printf '| %-40s | %12s | %12s | %12s | %16s |\n' "training step (fwd + bwd + SGD)" "$step_g" "-" "$step_t" "$(ratio "$step_g" "$step_t")"
printf '| %-40s | %12s | %12s | %12s | %16s |\n' "DenseNet-169: import + build graph" "$imp" "-" "-" "-"
