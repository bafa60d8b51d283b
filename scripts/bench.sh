#!/usr/bin/env bash
# Prints one table comparing pgaug's gorgonia graphs with ONNX Runtime and PyTorch, measured
# in the same run on this machine: ResNet-18 (batch 16, 112x112, 2 threads) forward and
# training step, and the import (+ graph build) time of DenseNet-169. Then a "method overhead"
# table: one APGA step and one noise-mask step against plain training steps of the same
# classifier (ResNet-18, batch 16, 1x64x64, 2 classes), measured interleaved in one process
# (trainer/apga and trainer/heat BenchmarkOverhead), with the machine's load average.
# BENCH_SHORT=1 leaves out the TernausNet-11 APGA policy (the slowest row).
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

# --- method overhead ------------------------------------------------------------------------
short=()
[[ -n ${BENCH_SHORT:-} ]] && short=(-short)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
apgabench=$(go test -tags openblas -run '^$' -bench 'Overhead' -benchtime "$benchtime" "${short[@]}" ./trainer/apga/)
heatbench=$(go test -tags openblas -run '^$' -bench 'Overhead' -benchtime "$benchtime" ./trainer/heat/)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# metric TEXT BENCH UNIT: the value reported with UNIT on the line of benchmark BENCH.
metric() { awk -v pat="$2" -v unit="$3" '$1 ~ pat { for (i = 2; i <= NF; i++) if ($i == unit) { printf "%.2f", $(i-1); exit } }' <<<"$1"; }
fmt1() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.1f", v }'; }
fmtx() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.2fx", v }'; }
row() { printf '| %-48s | %12s | %14s | %18s |\n' "$1" "$(fmt1 "$2")" "$(fmtx "$3")" "$(fmtx "$4")"; }

a_unet='BenchmarkOverhead/policy=unet-small'
echo
echo "method overhead (load average before/after: $load_before / $load_after)"
printf '| %-48s | %12s | %14s | %18s |\n' "ResNet-18, batch 16, 1x64x64, 2 classes" "ms/step" "x plain step" "x two plain steps"
printf '|%s|%s|%s|%s|\n' "--------------------------------------------------" "--------------" "----------------" "--------------------"
row "plain step (fwd + bwd + Adam)" "$(metric "$apgabench" "$a_unet" plain-ms/step)" 1 ""
row "plain x2 (1:1 augmentation, no policy)" "$(metric "$apgabench" "$a_unet" plain2-ms/step)" \
	"$(awk -v a="$(metric "$apgabench" "$a_unet" plain2-ms/step)" -v b="$(metric "$apgabench" "$a_unet" plain-ms/step)" 'BEGIN { if (b > 0) print a / b }')" 1
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) print a / b }'; }
for p in unet-small ternausnet11; do
	[[ $p == ternausnet11 && -n ${BENCH_SHORT:-} ]] && continue
	a="BenchmarkOverhead/policy=$p"
	row "APGA paper, $p policy" "$(metric "$apgabench" "$a" apga-ms/step)" "$(metric "$apgabench" "$a" x-plain)" "$(metric "$apgabench" "$a" x-plain2)"
	row "APGA sampled (K=4), $p policy" "$(metric "$apgabench" "$a" sampled-ms/step)" "$(metric "$apgabench" "$a" sampled-x-plain)" \
		"$(ratio2 "$(metric "$apgabench" "$a" sampled-ms/step)" "$(metric "$apgabench" "$a" plain2-ms/step)")"
done
for g in 8 16; do
	h="BenchmarkOverhead/grid=$g"
	row "noise mask, resnet10t policy, G=$g (SGD)" "$(metric "$heatbench" "$h" noisemask-ms/step)" "$(metric "$heatbench" "$h" x-plain)" ""
done
echo "(each ratio is against the plain steps timed in the same loop; the noise-mask rows against SGD steps)"
