#!/usr/bin/env bash
# Prints one table comparing `pgaug infer` (the whole path: open the Arrow dataset, create the
# ONNX Runtime session, decode + transform in the loader's workers, run, softmax, write the
# predictions file) with a bare ONNX Runtime Session.Run loop over ready-made batches of the
# same model, batch size and threads, interleaved in the same process
# (pipeline/infer/bench_test.go).
#
# Models: ResNet-18 and DenseNet-169 exported from torchvision (seeded weights, no download;
# needs /usr/bin/python3 with torch, else those rows are skipped) and the zoo's smallcnn and
# resnet18 (no Python), at 64 and 224 px on a synthetic grayscale dataset turned into
# 3-channel ImageNet-normalised input.
#
# Settings (environment): IMAGES (per pass, default 256), BATCH (16), THREADS (2), WORKERS
# (0: infer's default), BENCHTIME (go test -benchtime, default 1x), FILTER (a regexp over the
# cases, default all), PGAUG_BENCH_DIR (keeps exported models and datasets between runs).
#
# Columns: pipeline and bare images/s over whole passes and their ratio; "steady" leaves out
# each pass's first batch (a fresh session's first run is slower; the bare session is warm);
# setup is what infer.Run spends outside its batch loop (dataset, session, commit).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export PGAUG_BENCH_IMAGES=${IMAGES:-256}
export PGAUG_BENCH_BATCH=${BATCH:-16}
export PGAUG_BENCH_THREADS=${THREADS:-2}
export PGAUG_BENCH_WORKERS=${WORKERS:-0}
export PGAUG_BENCH_DIR=${PGAUG_BENCH_DIR:-${TMPDIR:-/tmp}/pgaug-bench-infer}
benchtime=${BENCHTIME:-1x}
filter=${FILTER:-.}

log=$(go test -tags openblas -run '^$' -bench "BenchmarkInferVsBare/($filter)" -benchtime "$benchtime" -timeout 60m ./pipeline/infer/ 2>&1) || {
	echo "$log" >&2
	exit 1
}
echo "$log" | grep -E '^\s+bench_test.go:.*(skip|Skip)|--- SKIP' >&2 || true

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "images per pass: $PGAUG_BENCH_IMAGES, batch $PGAUG_BENCH_BATCH, ONNX Runtime threads $PGAUG_BENCH_THREADS, benchtime $benchtime"
awk '
BEGIN {
	fmt = "| %-18s | %9s | %9s | %6s | %10s | %10s | %7s | %7s |\n"
	printf fmt, "model", "pipeline", "bare", "ratio", "steady", "bare st.", "st. ratio", "setup s"
	printf "|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------", "-----------", "-----------", "--------", "------------", "------------", "-----------", "---------"
}
/^BenchmarkInferVsBare\// {
	name = $1
	sub(/^BenchmarkInferVsBare\//, "", name)
	sub(/-[0-9]+$/, "", name)
	delete m
	for (i = 3; i < NF; i++) m[$(i+1)] = $i
	printf fmt, name, sprintf("%.1f", m["pipeline_img/s"]), sprintf("%.1f", m["bare_img/s"]), sprintf("%.3f", m["ratio"]),
		sprintf("%.1f", m["steady_img/s"]), sprintf("%.1f", m["bare_steady_img/s"]), sprintf("%.3f", m["steady_ratio"]), sprintf("%.2f", m["setup_s"])
}' <<<"$log"
