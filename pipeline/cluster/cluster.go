package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/datasets/atomicfile"
)

// Job describes an experiment to schedule.
type Job struct {
	// Name prefixes the scheduler's job names (default "pgaug").
	Name string
	// Binary is the pgaug executable and Config the experiment's
	// configuration (with every override already in it); WorkDir the
	// directory the commands run in (relative paths in Config are relative
	// to it). All three as the nodes see them.
	Binary, Config, WorkDir string
	// Seeds and Cells are the sizes of the two arrays.
	Seeds, Cells int
	// ORTLib is the ONNX Runtime library (PGAUG_ORT_LIB on the nodes; ""
	// leaves the variable to the nodes' environment).
	ORTLib string
	// CPUs per task (default 2): GOMAXPROCS, and the thread counts of
	// OpenBLAS (1: pgaug splits its work itself) and ONNX Runtime.
	CPUs int
	// Slurm: partition, time limit ("" leaves the cluster's defaults) and
	// memory per task (e.g. "8G").
	Partition, Time, Mem string
	// Kubernetes: the container image holding pgaug and the persistent
	// volume claim mounted at WorkDir.
	Image, Volume string
	// ReuseFrom are run directories whose finished stages every task may
	// take (the experiment's --reuse-from), as the nodes see them.
	ReuseFrom []string
}

// reuseArgs are the --reuse-from arguments of every task's command.
func (j *Job) reuseArgs() []string {
	var args []string
	for _, d := range j.ReuseFrom {
		args = append(args, "--reuse-from", d)
	}
	return args
}

func (j *Job) defaults() error {
	if j.Name == "" {
		j.Name = "pgaug"
	}
	if j.CPUs == 0 {
		j.CPUs = 2
	}
	switch {
	case j.Binary == "" || j.WorkDir == "":
		return errors.New("cluster: the binary and the working directory are needed")
	case j.CPUs < 1:
		return fmt.Errorf("cluster: %d CPUs per task", j.CPUs)
	}
	return nil
}

// checkExperiment is defaults with what an experiment's files also need.
func (j *Job) checkExperiment() error {
	if err := j.defaults(); err != nil {
		return err
	}
	switch {
	case j.Config == "":
		return errors.New("cluster: the experiment's configuration is needed")
	case j.Seeds < 1 || j.Cells < 1:
		return fmt.Errorf("cluster: %d seeds and %d cells; want at least one of each", j.Seeds, j.Cells)
	}
	return nil
}

// sbatchHeader is the start of an sbatch script of job NAME-name, step
// step, its output in logDir (per array task when array is set): the
// resources, the requeue, and the environment every pgaug task gets.
// what describes the script; requeue what a requeued task does.
func (j *Job) sbatchHeader(logDir, name, step, array, what, requeue string) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "# %s; submit with submit.sh.\n", what)
	fmt.Fprintf(&b, "#SBATCH --job-name=%s-%s\n", j.Name, name)
	if array != "" {
		fmt.Fprintf(&b, "#SBATCH --array=%s\n", array)
		fmt.Fprintf(&b, "#SBATCH --output=%s/logs/%s-%%a.log\n", logDir, step)
	} else {
		fmt.Fprintf(&b, "#SBATCH --output=%s/logs/%s.log\n", logDir, step)
	}
	fmt.Fprintf(&b, "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=%d\n", j.CPUs)
	b.WriteString("#SBATCH --requeue\n")
	fmt.Fprintf(&b, "#SBATCH --chdir=%s\n", j.WorkDir)
	for _, kv := range [][2]string{{"partition", j.Partition}, {"time", j.Time}, {"mem", j.Mem}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "#SBATCH --%s=%s\n", kv[0], kv[1])
		}
	}
	b.WriteString("# " + requeue + "\n")
	b.WriteString("set -euo pipefail\n")
	if j.ORTLib != "" {
		fmt.Fprintf(&b, "export PGAUG_ORT_LIB=%s\n", quote(j.ORTLib))
	}
	b.WriteString("cpus=${SLURM_CPUS_PER_TASK:-" + strconv.Itoa(j.CPUs) + "}\n")
	b.WriteString("export GOMAXPROCS=$cpus OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$cpus\n")
	return b.String()
}

// quote is a single-quoted shell word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// SlurmFiles are the files WriteSlurm writes.
type SlurmFiles struct {
	Shared, Cells, Collect, Submit string
}

// WriteSlurm writes into dir the three sbatch scripts (shared.sbatch,
// cells.sbatch, collect.sbatch) and submit.sh, which submits them with
// afterok dependencies and prints the job ids. Logs go to dir/logs.
func WriteSlurm(dir string, j Job) (SlurmFiles, error) {
	if err := j.checkExperiment(); err != nil {
		return SlurmFiles{}, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return SlurmFiles{}, fmt.Errorf("cluster: %w", err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return SlurmFiles{}, err
	}
	var reuse string
	for _, a := range j.reuseArgs() {
		reuse += " " + quote(a)
	}
	script := func(step, array, args string) string {
		return j.sbatchHeader(absDir, step, step, array,
			fmt.Sprintf("pgaug experiment, %s: written by `pgaug experiment --slurm`", step),
			"A requeued or restarted task resumes its stage from the checkpoints; finished stages are skipped.") +
			fmt.Sprintf("exec %s experiment %s %s%s --infer.threads \"$cpus\" --data.workers \"$cpus\"\n", quote(j.Binary), quote(j.Config), args, reuse)
	}
	f := SlurmFiles{
		Shared: filepath.Join(dir, "shared.sbatch"), Cells: filepath.Join(dir, "cells.sbatch"),
		Collect: filepath.Join(dir, "collect.sbatch"), Submit: filepath.Join(dir, "submit.sh"),
	}
	submit := "#!/bin/bash\n" +
		"# Submits the experiment: the shared stages, then the cells (afterok), then the tables (afterok).\n" +
		"# Prints the three job ids. Written by `pgaug experiment --slurm`.\n" +
		"set -euo pipefail\n" +
		"cd " + quote(absDir) + "\n" +
		"shared=$(sbatch --parsable shared.sbatch)\n" +
		"cells=$(sbatch --parsable --dependency=afterok:${shared%%;*} cells.sbatch)\n" +
		"collect=$(sbatch --parsable --dependency=afterok:${cells%%;*} collect.sbatch)\n" +
		"echo \"shared ${shared%%;*} cells ${cells%%;*} collect ${collect%%;*}\"\n"
	for _, w := range []struct{ path, text string }{
		{f.Shared, script("shared", fmt.Sprintf("0-%d", j.Seeds-1), "--shared \"$SLURM_ARRAY_TASK_ID\"")},
		{f.Cells, script("cells", fmt.Sprintf("0-%d", j.Cells-1), "--cell \"$SLURM_ARRAY_TASK_ID\"")},
		{f.Collect, script("collect", "", "--collect")},
		{f.Submit, submit},
	} {
		if err := writeExecutable(w.path, w.text); err != nil {
			return f, err
		}
	}
	return f, nil
}

// WriteK8s writes dir/experiment.yaml (three Indexed Jobs: NAME-shared,
// NAME-cells and NAME-collect; also one per file, shared.yaml, cells.yaml
// and collect.yaml) and dir/run.sh, which applies them in turn, waiting for
// each to complete, since Kubernetes Jobs have no dependencies of their own.
func WriteK8s(dir string, j Job) (manifest, run string, err error) {
	if err := j.checkExperiment(); err != nil {
		return "", "", err
	}
	if j.Image == "" || j.Volume == "" {
		return "", "", errors.New("cluster: Kubernetes needs an image holding pgaug and a persistent volume claim holding the run directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("cluster: %w", err)
	}
	job := func(step string, n int, args []string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s-%s\n  labels:\n    app: pgaug\nspec:\n", j.Name, step)
		fmt.Fprintf(&b, "  completionMode: Indexed\n  completions: %d\n  parallelism: %d\n", n, n)
		b.WriteString("  backoffLimitPerIndex: 3 # a restarted pod resumes its stage from the checkpoints\n  maxFailedIndexes: 0\n")
		b.WriteString("  template:\n    spec:\n      restartPolicy: Never\n      containers:\n")
		fmt.Fprintf(&b, "        - name: pgaug\n          image: %q\n          workingDir: %q\n", j.Image, j.WorkDir)
		cmd := []string{j.Binary, "experiment", j.Config}
		cmd = append(cmd, args...)
		cmd = append(cmd, j.reuseArgs()...)
		cmd = append(cmd, "--infer.threads", strconv.Itoa(j.CPUs), "--data.workers", strconv.Itoa(j.CPUs))
		b.WriteString("          command: [")
		for i, c := range cmd {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", c)
		}
		b.WriteString("]\n          env:\n")
		env := [][2]string{{"GOMAXPROCS", strconv.Itoa(j.CPUs)}, {"OPENBLAS_NUM_THREADS", "1"}, {"OMP_NUM_THREADS", strconv.Itoa(j.CPUs)}}
		if j.ORTLib != "" {
			env = append(env, [2]string{"PGAUG_ORT_LIB", j.ORTLib})
		}
		for _, e := range env {
			fmt.Fprintf(&b, "            - name: %s\n              value: %q\n", e[0], e[1])
		}
		fmt.Fprintf(&b, "          resources:\n            requests:\n              cpu: %q\n            limits:\n              cpu: %q\n", strconv.Itoa(j.CPUs), strconv.Itoa(j.CPUs))
		fmt.Fprintf(&b, "          volumeMounts:\n            - name: work\n              mountPath: %q\n", j.WorkDir)
		fmt.Fprintf(&b, "      volumes:\n        - name: work\n          persistentVolumeClaim:\n            claimName: %q\n", j.Volume)
		return b.String()
	}
	// $(JOB_COMPLETION_INDEX) is expanded by Kubernetes in command arguments.
	steps := []struct {
		name string
		text string
	}{
		{"shared", job("shared", j.Seeds, []string{"--shared", "$(JOB_COMPLETION_INDEX)"})},
		{"cells", job("cells", j.Cells, []string{"--cell", "$(JOB_COMPLETION_INDEX)"})},
		{"collect", job("collect", 1, []string{"--collect"})},
	}
	all := "# pgaug experiment as Kubernetes Indexed Jobs, written by `pgaug experiment --k8s`.\n" +
		"# Each Job must complete before the next starts: run.sh applies them in turn\n" +
		"# (shared.yaml, cells.yaml, collect.yaml hold the same Jobs one per file).\n"
	script := "#!/bin/bash\n# Applies the experiment's Jobs one after the other, waiting for each to complete\n" +
		"# (Kubernetes Jobs have no dependencies of their own). Written by `pgaug experiment --k8s`.\n" +
		"set -euo pipefail\ncd \"$(dirname \"$0\")\"\n"
	for _, st := range steps {
		all += "---\n" + st.text
		if err := atomicfile.WriteBytes(filepath.Join(dir, st.name+".yaml"), []byte(st.text)); err != nil {
			return "", "", err
		}
		script += fmt.Sprintf("kubectl apply -f %s.yaml\nkubectl wait --for=condition=complete --timeout=-1s job/%s-%s\n", st.name, j.Name, st.name)
	}
	manifest = filepath.Join(dir, "experiment.yaml")
	if err := atomicfile.WriteBytes(manifest, []byte(all)); err != nil {
		return "", "", err
	}
	run = filepath.Join(dir, "run.sh")
	if err := writeExecutable(run, script); err != nil {
		return "", "", err
	}
	return manifest, run, nil
}

func writeExecutable(path, text string) error {
	if err := atomicfile.WriteBytes(path, []byte(text)); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

// InferJob describes a sharded inference to schedule.
type InferJob struct {
	Job
	// Args are the `pgaug infer` arguments other than the output and the
	// shard (model, data, split, transform, batch, TTA...).
	Args []string
	// Output is the merged predictions file; shard K writes
	// OUTPUT.shard-K-of-N.arrow beside it.
	Output string
	// Shards is N.
	Shards int
}

// ShardPath is where shard k of n of output is written.
func ShardPath(output string, k, n int) string {
	ext := filepath.Ext(output)
	return fmt.Sprintf("%s.shard-%d-of-%d%s", strings.TrimSuffix(output, ext), k, n, ext)
}

// WriteSlurmInfer writes into dir infer.sbatch (an array of one task per
// shard), merge.sbatch (pgaug infer merge of the shards into Output) and
// submit.sh (the array, then the merge with afterok).
func WriteSlurmInfer(dir string, j InferJob) (SlurmFiles, error) {
	if err := j.defaults(); err != nil {
		return SlurmFiles{}, err
	}
	if j.Shards < 1 || j.Output == "" {
		return SlurmFiles{}, fmt.Errorf("cluster: %d shards of %q; want at least one shard and an output", j.Shards, j.Output)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return SlurmFiles{}, fmt.Errorf("cluster: %w", err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return SlurmFiles{}, err
	}
	head := func(step, array string) string {
		return j.sbatchHeader(absDir, "infer-"+step, step, array,
			fmt.Sprintf("pgaug sharded inference, %s: written by `pgaug infer --slurm`", step),
			"A requeued task writes its shard again; the shard file appears only once complete.")
	}
	var args []string
	for _, a := range j.Args {
		args = append(args, quote(a))
	}
	k := "$((SLURM_ARRAY_TASK_ID))"
	shard := quote(strings.TrimSuffix(j.Output, filepath.Ext(j.Output))) + ".shard-" + k + "-of-" + strconv.Itoa(j.Shards) + quote(filepath.Ext(j.Output))
	infer := head("shards", fmt.Sprintf("1-%d", j.Shards)) +
		fmt.Sprintf("exec %s infer %s -o %s --shard %s/%d --threads \"$cpus\" --workers \"$cpus\" -q\n", quote(j.Binary), strings.Join(args, " "), shard, k, j.Shards)
	var shards []string
	for s := 1; s <= j.Shards; s++ {
		shards = append(shards, quote(ShardPath(j.Output, s, j.Shards)))
	}
	merge := head("merge", "") + fmt.Sprintf("exec %s infer merge -o %s %s\n", quote(j.Binary), quote(j.Output), strings.Join(shards, " "))
	f := SlurmFiles{Cells: filepath.Join(dir, "infer.sbatch"), Collect: filepath.Join(dir, "merge.sbatch"), Submit: filepath.Join(dir, "submit.sh")}
	submit := "#!/bin/bash\n# Submits the shards as an array, then the merge (afterok); prints both job ids.\nset -euo pipefail\n" +
		"cd " + quote(absDir) + "\n" +
		"shards=$(sbatch --parsable infer.sbatch)\n" +
		"merge=$(sbatch --parsable --dependency=afterok:${shards%%;*} merge.sbatch)\n" +
		"echo \"shards ${shards%%;*} merge ${merge%%;*}\"\n"
	for _, w := range []struct{ path, text string }{{f.Cells, infer}, {f.Collect, merge}, {f.Submit, submit}} {
		if err := writeExecutable(w.path, w.text); err != nil {
			return f, err
		}
	}
	return f, nil
}
