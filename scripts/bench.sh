#!/usr/bin/env bash
# pgaug's gorgonia graphs against PyTorch 1.13 on the same networks, interleaved: for each
# network and pass, PAIRS (default 5) pairs of one pgaug run (onnx/torchref's benchmarks, RUNS
# steps after a warm-up) then one PyTorch run (scripts/bench_torch.py, the median of RUNS steps
# after a warm-up), so that load on the machine hits both alike. Prints, per row, both times (the
# medians over the pairs), the median ratio pgaug/PyTorch with its spread (min-max over the
# pairs), and pgaug's allocations and bytes per step (b.ReportAllocs). Networks: ResNet-18
# (batch 16, 3x112x112; the training step is BenchmarkResNet18TrainStep, the row the README's
# history follows), DenseNet-121 (batch 8, 64x64), TernausNet-11 (batch 4, 64x64, per-pixel
# BCE); SGD with momentum, 2 threads each (GOMAXPROCS=2, torch.set_num_threads(2)).
# Then a "method overhead" table: one APGA step and one noise-mask step against plain training
# steps of the same classifier (ResNet-18, batch 16, 1x64x64, 2 classes), measured interleaved
# in one process (trainer/apga and trainer/heat BenchmarkOverhead), with the load average.
# BENCH_SHORT=1 leaves out the TernausNet-11 APGA policy row; BENCH_NETS picks networks
# (default "resnet18 densenet121 ternausnet11"); BENCH_OVERHEAD=0 skips the second table.
# Needs what `scripts/setup.sh --test-deps` installs (python3-torch for the PyTorch column).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh --test-deps >/dev/null

export PGAUG_BENCH_DIR=${PGAUG_BENCH_DIR:-$(mktemp -d)}
benchtime=${BENCHTIME:-5x}
pairs=${PAIRS:-5}
runs=${RUNS:-3}
nets=${BENCH_NETS:-resnet18 densenet121 ternausnet11}
bin="$PGAUG_BENCH_DIR/torchref.test"
CGO_ENABLED=1 go test -c -tags openblas -o "$bin" ./onnx/torchref/
export GOMAXPROCS=2 OPENBLAS_NUM_THREADS=1

shape() { case $1 in resnet18) echo "16 112" ;; densenet121) echo "8 64" ;; ternausnet11) echo "4 64" ;; *) echo "bench.sh: unknown network $1" >&2; exit 2 ;; esac; }
# gorun PATTERN: "ms B/op allocs/op" of one pgaug benchmark run.
gorun() {
	(cd onnx/torchref && "$bin" -test.run '^$' -test.bench "$1" -test.benchtime "${runs}x" -test.benchmem) |
		awk '/ns\/op/ { for (i = 2; i <= NF; i++) { if ($(i+1) == "ns/op") ms = $i / 1e6; if ($(i+1) == "B/op") by = $i; if ($(i+1) == "allocs/op") al = $i } } END { if (ms == "") exit 1; printf "%.3f %s %s\n", ms, by, al }'
}
torchrun() { /usr/bin/python3 scripts/bench_torch.py "$@" "$runs" 2 2>/dev/null | awk '$1 == "ms_per_step" { print $2 }'; }
# stats: median, min and max of the numbers on stdin.
stats() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), BLAS: OpenBLAS; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "interleaved: $pairs pairs (pgaug, PyTorch) per row, $runs timed steps each after a warm-up"
printf '| %-34s | %10s | %12s | %15s | %15s | %12s | %12s |\n' "network, pass" "pgaug ms" "PyTorch ms" "pgaug/PyTorch" "ratio min-max" "allocs/step" "MB/step"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------" "------------" "--------------" "-----------------" "-----------------" "--------------" "--------------"
for net in $nets; do
	read -r batch size <<<"$(shape "$net")"
	# export the network once, outside the timed pairs
	gorun "^BenchmarkNetForward/$net\$" >/dev/null
	for mode in step forward; do
		if [[ $mode == step ]]; then
			pat="^BenchmarkNetTrainStep/$net\$"
			[[ $net == resnet18 ]] && pat='^BenchmarkResNet18TrainStep$'
			label="$net b$batch ${size}x$size, training step"
		else
			pat="^BenchmarkNetForward/$net\$"
			label="$net b$batch ${size}x$size, forward"
		fi
		g=() t=() r=() by="" al=""
		for _ in $(seq "$pairs"); do
			read -r gm by al <<<"$(gorun "$pat")"
			tm=$(torchrun "$net" "$mode" "$batch" "$size")
			g+=("$gm") t+=("$tm")
			r+=("$(awk -v a="$gm" -v b="$tm" 'BEGIN { printf "%.4f", a / b }')")
		done
		read -r gmed _ _ <<<"$(printf '%s\n' "${g[@]}" | stats)"
		read -r tmed _ _ <<<"$(printf '%s\n' "${t[@]}" | stats)"
		read -r rmed rmin rmax <<<"$(printf '%s\n' "${r[@]}" | stats)"
		printf '| %-34s | %10.1f | %12.1f | %14.2fx | %6.2f-%-8.2f | %12s | %12.1f |\n' "$label" "$gmed" "$tmed" "$rmed" "$rmin" "$rmax" "$al" "$(awk -v b="$by" 'BEGIN { print b / 1048576 }')"
	done
done
echo "(command: scripts/bench.sh; PAIRS=$pairs RUNS=$runs; times are medians over the pairs)"
[[ ${BENCH_OVERHEAD:-1} == 0 ]] && exit 0

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
