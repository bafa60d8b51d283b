#!/usr/bin/env bash
# An experiment on a real Slurm against the same experiment run locally.
#
# Installs Debian's slurm-wlm and munge if missing, starts munged (unless one runs),
# slurmctld and slurmd on localhost from a generated slurm.conf (one node with this
# machine's cores, ports of its own, state in a temporary directory), writes a small
# synthetic experiment's sbatch scripts with `pgaug experiment --slurm`, submits them
# (shared stages, then the cells as an array, then the tables), waits, and compares the
# collected results.md with the same experiment run locally. A two-shard inference
# (`pgaug infer --slurm`: an array and the merge) must equal the unsharded run too. Stops the daemons
# it started, by their pids. Needs root (apt-get, munged's key) and bin/pgaug
# (scripts/setup.sh). Usage: scripts/slurm-test.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { echo "slurm-test: $*"; }
die() {
	echo "slurm-test: $*" >&2
	exit 1
}
[[ -x bin/pgaug ]] || die "bin/pgaug is missing: run scripts/setup.sh first"
export PGAUG_ORT_LIB="${PGAUG_ORT_LIB:-$root/.deps/onnxruntime/libonnxruntime.so.1}"

missing=()
for p in slurm-wlm munge; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	say "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi

work=$(mktemp -d /tmp/pgaug-slurm.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

# munge: the key the package made (or a new one), and a munged unless one answers.
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
	[[ -f /etc/munge/munge.key ]] || mungekey --create >/dev/null || die "mungekey --create failed"
	mkdir -p /run/munge /var/lib/munge /var/log/munge
	munged --force --pid-file="$work/munged.pid" --socket=/run/munge/munge.socket.2 || die "munged did not start"
	pids+=("$(cat "$work/munged.pid")")
	say "started munged (pid ${pids[-1]})"
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF="$work/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=pgaugtest
SlurmctldHost=$host
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=pgaugtest Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$work/slurmd.out" 2>&1 &
pids+=($!)
say "started slurmctld and slurmd (pids ${pids[*]: -2}) with $SLURM_CONF"
for _ in $(seq 60); do
	sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' && break
	sleep 1
done
sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' || {
	cat "$work/slurmctld.log" "$work/slurmd.log" "$work/slurmctld.out" "$work/slurmd.out" >&2 2>/dev/null || true
	die "the node did not come up"
}
say "node $host up: $(sinfo -h -o '%c CPUs, state %T')"

# wait_job ID LOGDIR: wait until job ID has completed; fail, with the logs, if it ended otherwise.
wait_job() {
	local id=$1 logs=$2 state
	for _ in $(seq 900); do
		state=$(scontrol show job "$id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' || true)
		case "$state" in
		COMPLETED) return 0 ;;
		FAILED | CANCELLED* | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | DEADLINE)
			tail -n 30 "$logs"/*.log >&2 || true
			die "job $id ended $state"
			;;
		"") return 0 ;; # gone from the controller: finished (its output is checked next)
		esac
		sleep 1
	done
	die "job $id did not finish in 15 minutes"
}

# A small synthetic experiment: 2 seeds × 2 methods, a few epochs per stage.
exp="$work/exp"
mkdir -p "$exp"
bin/pgaug data import synthetic -o "$exp/d.arrow" --count 120 --size 16 --classes 2 --seed 3 >/dev/null
cat >"$exp/config.toml" <<EOF
dir = "$exp/slurm"
methods = ["baseline", "cutout"]
seeds = [1, 2]
[data]
path = "$exp/d.arrow"
workers = 1
[models]
classifier = "zoo:smallcnn"
[baseline]
epochs = 4
batch = 16
lr = 0.05
[augment]
epochs = 2
batch = 16
[infer]
threads = 1
EOF
# The local run with what a one-CPU task gets: GOMAXPROCS, thread counts.
GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 bin/pgaug experiment "$exp/config.toml" --dir "$exp/local" --infer.threads 1 --data.workers 1 >"$exp/local.log" 2>&1 ||
	{ cat "$exp/local.log" >&2; die "the local experiment failed"; }
bin/pgaug experiment "$exp/config.toml" --slurm "$exp/sbatch" --cpus 1 >/dev/null
out=$(bash "$exp/sbatch/submit.sh") || die "submit.sh failed"
say "submitted: $out"
wait_job "${out##* }" "$exp/sbatch/logs"
[[ -f "$exp/slurm/results.md" ]] || {
	tail -n 30 "$exp"/sbatch/logs/*.log >&2 || true
	die "no results.md after the Slurm jobs"
}
diff "$exp/local/results.md" "$exp/slurm/results.md" >&2 || die "the table collected from Slurm differs from the local run's"
say "the experiment's table from Slurm equals the local run's:"
head -4 "$exp/slurm/results.md"

# Two inference shards as an array, merged, against one run.
model="$exp/local/seed-1/cutout/classifier.onnx"
bin/pgaug infer --model "$model" --data "$exp/d.arrow" -o "$exp/whole.arrow" -q --threads 1 >/dev/null
bin/pgaug infer --model "$model" --data "$exp/d.arrow" -o "$exp/merged.arrow" --slurm "$exp/infer" --shards 2 --cpus 1 >/dev/null
out=$(bash "$exp/infer/submit.sh") || die "the inference's submit.sh failed"
wait_job "${out##* }" "$exp/infer/logs"
cmp "$exp/whole.arrow" "$exp/merged.arrow" || die "two shards merged differ from one inference run"
say "two inference shards from a Slurm array, merged, equal one run byte for byte"
say "passed"
