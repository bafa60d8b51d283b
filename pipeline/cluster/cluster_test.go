package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func job() Job {
	return Job{Binary: "/opt/pgaug/bin/pgaug", Config: "/shared/exp/experiment.toml", WorkDir: "/shared/work it", Seeds: 3, Cells: 6,
		ORTLib: "/opt/ort/libonnxruntime.so.1", CPUs: 4, Partition: "gpu", Time: "2:00:00", Image: "registry/pgaug:1", Volume: "pgaug-runs"}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteSlurm(t *testing.T) {
	dir := t.TempDir()
	f, err := WriteSlurm(dir, job())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]string{
		f.Shared:  {"#SBATCH --array=0-2", "--shared \"$SLURM_ARRAY_TASK_ID\"", "#SBATCH --requeue", "#SBATCH --cpus-per-task=4", "#SBATCH --partition=gpu", "#SBATCH --time=2:00:00", "export PGAUG_ORT_LIB='/opt/ort/libonnxruntime.so.1'", "GOMAXPROCS=$cpus", "#SBATCH --chdir=/shared/work it"},
		f.Cells:   {"#SBATCH --array=0-5", "--cell \"$SLURM_ARRAY_TASK_ID\"", "'/opt/pgaug/bin/pgaug' experiment '/shared/exp/experiment.toml'"},
		f.Collect: {"--collect", "#SBATCH --output="},
		f.Submit:  {"sbatch --parsable shared.sbatch", "--dependency=afterok:${shared%%;*} cells.sbatch", "--dependency=afterok:${cells%%;*} collect.sbatch"},
	} {
		text := read(t, path)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q:\n%s", filepath.Base(path), w, text)
			}
		}
		if st, _ := os.Stat(path); st.Mode()&0o100 == 0 {
			t.Errorf("%s is not executable", path)
		}
		if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v %s", path, err, out)
		}
	}
	if strings.Contains(read(t, f.Collect), "--array") {
		t.Error("the collect step is not an array")
	}
}

func TestWriteK8s(t *testing.T) {
	dir := t.TempDir()
	manifest, run, err := WriteK8s(dir, job())
	if err != nil {
		t.Fatal(err)
	}
	m := read(t, manifest)
	for _, w := range []string{"name: pgaug-shared", "name: pgaug-cells", "name: pgaug-collect", "completionMode: Indexed", "completions: 6", "completions: 3",
		`"--cell", "$(JOB_COMPLETION_INDEX)"`, `"--shared", "$(JOB_COMPLETION_INDEX)"`, `claimName: "pgaug-runs"`, `image: "registry/pgaug:1"`, `value: "/opt/ort/libonnxruntime.so.1"`} {
		if !strings.Contains(m, w) {
			t.Errorf("experiment.yaml lacks %q", w)
		}
	}
	if strings.Count(m, "kind: Job") != 3 {
		t.Errorf("%d Jobs, want 3", strings.Count(m, "kind: Job"))
	}
	r := read(t, run)
	if !strings.Contains(r, "kubectl wait --for=condition=complete --timeout=-1s job/pgaug-shared") || strings.Index(r, "cells.yaml") < strings.Index(r, "shared.yaml") {
		t.Errorf("run.sh:\n%s", r)
	}
	j := job()
	j.Image = ""
	if _, _, err := WriteK8s(t.TempDir(), j); err == nil {
		t.Error("no image accepted")
	}
}

func TestJobChecks(t *testing.T) {
	j := job()
	j.Cells = 0
	if _, err := WriteSlurm(t.TempDir(), j); err == nil || !strings.Contains(err.Error(), "0 cells") {
		t.Errorf("no cells: %v", err)
	}
}

func TestWriteSlurmInfer(t *testing.T) {
	dir := t.TempDir()
	j := InferJob{Job: job(), Args: []string{"--model", "m.onnx", "--data", "d dir/x.arrow", "--split", "test"}, Output: "out/pred.arrow", Shards: 3}
	f, err := WriteSlurmInfer(dir, j)
	if err != nil {
		t.Fatal(err)
	}
	inf, merge, sub := read(t, f.Cells), read(t, f.Collect), read(t, f.Submit)
	for _, w := range []string{"#SBATCH --array=1-3", "--shard $((SLURM_ARRAY_TASK_ID))/3", "'d dir/x.arrow'", "'out/pred'.shard-$((SLURM_ARRAY_TASK_ID))-of-3'.arrow'"} {
		if !strings.Contains(inf, w) {
			t.Errorf("infer.sbatch lacks %q:\n%s", w, inf)
		}
	}
	for k := 1; k <= 3; k++ {
		if p := ShardPath("out/pred.arrow", k, 3); !strings.Contains(merge, "'"+p+"'") {
			t.Errorf("merge.sbatch lacks shard %s:\n%s", p, merge)
		}
	}
	if !strings.Contains(sub, "--dependency=afterok:${shards%%;*} merge.sbatch") {
		t.Errorf("submit.sh:\n%s", sub)
	}
	for _, p := range []string{f.Cells, f.Collect, f.Submit} {
		if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v %s", p, err, out)
		}
	}
}

// The experiment's --reuse-from directories reach every task's command.
func TestReuseFromReachesEveryTask(t *testing.T) {
	j := job()
	j.ReuseFrom = []string{"/shared/runs/paper", "/shared/it's here"}
	dir := t.TempDir()
	f, err := WriteSlurm(dir, j)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{f.Shared, f.Cells, f.Collect} {
		text := read(t, path)
		if !strings.Contains(text, `'--reuse-from' '/shared/runs/paper' '--reuse-from' '/shared/it'\''s here'`) {
			t.Errorf("%s lacks the --reuse-from arguments:\n%s", filepath.Base(path), text)
		}
		if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v %s", path, err, out)
		}
	}
	manifest, _, err := WriteK8s(t.TempDir(), j)
	if err != nil {
		t.Fatal(err)
	}
	if m := read(t, manifest); strings.Count(m, `"--reuse-from", "/shared/runs/paper", "--reuse-from", "/shared/it's here"`) != 3 {
		t.Errorf("experiment.yaml: want the --reuse-from arguments in each of the 3 Jobs:\n%s", m)
	}
}
