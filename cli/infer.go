package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/pipeline/cluster"
	"github.com/pgaug/pgaug/pipeline/infer"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// inferTopCommand is `pgaug infer`: batch inference with ONNX Runtime.
func inferTopCommand() *cli.Command {
	return &cli.Command{
		Name:      "infer",
		Usage:     "batch inference with ONNX Runtime (CPU or CUDA): predictions as Arrow",
		ArgsUsage: "--model M.onnx --data D.arrow -o PRED.arrow [--split test] [--tta --policy P.onnx] [--shard K/N]",
		Description: "Runs an ONNX classifier over an Arrow dataset (every row, or one split) with ONNX Runtime and\n" +
			"writes one row per image to PRED.arrow: id, row, label (null when the dataset has none), pred\n" +
			"and probs (the softmax probabilities; kept as they are when the model already gives them).\n" +
			"The file appears only once complete. When the dataset is labelled the metrics are printed.\n\n" +
			"--tta with --policy P.onnx (a segmentation network with one sigmoid channel at the input\n" +
			"resolution) also classifies x ⊙ (P > 0.5) and averages the two softmax distributions.\n\n" +
			"--shard K/N predicts share K (from 1) of N of the selected rows: N contiguous ranges in dataset\n" +
			"order (part file by part file), so a shard reads only its own rows' images. Run the N shards\n" +
			"anywhere (e.g. a Slurm array: --shard $((SLURM_ARRAY_TASK_ID+1))/N), then `pgaug infer merge`\n" +
			"joins them into the file one unsharded run writes, row for row.",
		Subcommands: []*cli.Command{inferMergeCommand()},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "ONNX classifier (required): input N×C×H×W, output N×classes"},
			&cli.StringFlag{Name: "data", Usage: "Arrow dataset (required): a file or a directory of part files"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "predictions file to write (required), e.g. pred.arrow"},
			&cli.StringFlag{Name: "shard", Usage: "K/N: predict share K (1..N) of the rows; join the N files with `pgaug infer merge`"},
			&cli.StringFlag{Name: "slurm", Usage: "write a Slurm array of --shards tasks and the merge into `DIR` instead of predicting", Category: "cluster"},
			&cli.IntFlag{Name: "shards", Value: 4, Usage: "shards of the --slurm array", Category: "cluster"},
			&cli.IntFlag{Name: "cpus", Value: 2, Usage: "CPUs per --slurm task", Category: "cluster"},
			&cli.StringFlag{Name: "partition", Usage: "Slurm partition", Category: "cluster"},
			&cli.StringFlag{Name: "time", Usage: "Slurm time limit per task", Category: "cluster"},
			&cli.StringFlag{Name: "mem", Usage: "Slurm memory per task", Category: "cluster"},
			&cli.StringFlag{Name: "split", Usage: "train, val or test (default: every row)"},
			&cli.IntFlag{Name: "batch", Usage: "images per ONNX Runtime run (default 32, or the model's fixed batch size)"},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "cpu or cuda"},
			&cli.IntFlag{Name: "device-id", Usage: "GPU index with --device cuda"},
			&cli.StringFlag{Name: "gpu-mem-limit", Usage: "cap on the CUDA memory arena, e.g. 4GiB or 512MB (default: no limit)"},
			&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime intra-op threads (0: its default)"},
			&cli.StringFlag{Name: "transform", Usage: "transform spec, e.g. resize=256,centercrop=224,channels=3,normalize=M:S (default: the dataset's normalisation)"},
			&cli.BoolFlag{Name: "tta", Usage: "test-time augmentation with the --policy model"},
			&cli.StringFlag{Name: "policy", Usage: "ONNX policy (segmentation) model for --tta"},
			&cli.IntFlag{Name: "workers", Usage: "image decoding goroutines (0: one per CPU)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
			&cli.BoolFlag{Name: "json", Usage: "print the summary and metrics as JSON"},
		},
		Action: runInfer,
	}
}

func runInfer(c *cli.Context) error {
	for _, f := range []string{"model", "data", "output"} {
		if c.String(f) == "" {
			return cli.Exit(fmt.Sprintf("infer: --%s is required (see pgaug infer --help)", f), 2)
		}
	}
	if c.Args().Present() {
		return cli.Exit(fmt.Sprintf("infer: unexpected argument %q (subcommand: merge)", c.Args().First()), 2)
	}
	shard, err := infer.ParseShard(c.String("shard"))
	if err != nil {
		return cli.Exit("infer: --"+err.Error(), 2)
	}
	if c.String("slurm") != "" {
		return writeInferSlurm(c)
	}
	memLimit, err := parseByteSize(c.String("gpu-mem-limit"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("infer: --gpu-mem-limit: %v", err), 2)
	}
	if c.Int("batch") < 0 || c.Int("threads") < 0 || c.Int("workers") < 0 || c.Int("device-id") < 0 {
		return cli.Exit("infer: --batch, --threads, --workers and --device-id must not be negative", 2)
	}
	if c.Bool("tta") && c.String("policy") == "" {
		return cli.Exit("infer: --tta needs --policy P.onnx (the segmentation network whose masks augment the images)", 2)
	}
	if _, err := loadORT(c); err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	cfg := infer.Config{
		Model: c.String("model"), Data: c.String("data"), Output: c.String("output"), Split: c.String("split"),
		Batch: c.Int("batch"), Device: c.String("device"), DeviceID: c.Int("device-id"), GPUMemLimit: memLimit,
		Threads: c.Int("threads"), Transform: c.String("transform"), TTA: c.Bool("tta"), Policy: c.String("policy"),
		Workers: c.Int("workers"), Version: Version, Shard: shard,
	}
	if !c.Bool("quiet") {
		cfg.Progress = c.App.ErrWriter
	}
	res, err := infer.Run(c.Context, cfg)
	if err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	w := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Output       string  `json:"output"`
			Rows         int     `json:"rows"`
			Classes      any     `json:"classes"`
			Seconds      float64 `json:"seconds"`
			ImagesPerSec float64 `json:"images_per_sec"`
			Metrics      any     `json:"metrics"`
			StudyMetrics any     `json:"study_metrics,omitempty"`
		}{res.Output, res.Rows, res.Classes, res.Elapsed.Seconds(), res.ImagesPerSec, res.Metrics, res.StudyMetrics})
	}
	what := ""
	if shard.N > 0 {
		what = fmt.Sprintf(" (shard %s)", shard)
	}
	fmt.Fprintf(w, "wrote %d predictions%s to %s (%.1f images/s)\n", res.Rows, what, res.Output, res.ImagesPerSec)
	printMetrics(w, res.Metrics, res.StudyMetrics)
	return nil
}

// writeInferSlurm writes the sbatch scripts of a sharded inference.
func writeInferSlurm(c *cli.Context) error {
	if c.String("shard") != "" {
		return cli.Exit("infer: --slurm writes every shard's task; drop --shard", 2)
	}
	var args []string
	for _, f := range []string{"model", "data", "split", "transform", "policy", "device", "gpu-mem-limit"} {
		if v := c.String(f); v != "" && (c.IsSet(f) || f == "model" || f == "data") {
			args = append(args, "--"+f, v)
		}
	}
	for _, f := range []string{"batch", "device-id"} {
		if c.IsSet(f) {
			args = append(args, "--"+f, strconv.Itoa(c.Int(f)))
		}
	}
	if c.Bool("tta") {
		args = append(args, "--tta")
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("infer: the pgaug binary's path: %w", err)
	}
	ortLib := clusterORTLib(c)
	j := cluster.InferJob{Job: cluster.Job{Binary: exe, WorkDir: wd, ORTLib: ortLib, CPUs: c.Int("cpus"),
		Partition: c.String("partition"), Time: c.String("time"), Mem: c.String("mem")},
		Args: args, Output: c.String("output"), Shards: c.Int("shards")}
	f, err := cluster.WriteSlurmInfer(c.String("slurm"), j)
	if err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%d shards), %s and %s\nsubmit: bash %s\n", f.Cells, j.Shards, f.Collect, f.Submit, f.Submit)
	return nil
}

// printMetrics prints a predictions file's scores.
func printMetrics(w io.Writer, m, study *metrics.Report) {
	if r := m; r != nil {
		fmt.Fprintf(w, "%d images, %d classes\n", r.N, r.Classes)
		fmt.Fprintf(w, "accuracy           %.4f\nbalanced accuracy  %.4f\nmacro precision    %.4f\nmacro recall       %.4f\nmacro F1           %.4f\n",
			r.Accuracy, r.BalancedAcc, r.MacroPrecision, r.MacroRecall, r.MacroF1)
		fmt.Fprintf(w, "AUROC              %.4f (one-vs-rest %.4f)\nmean entropy       %.4f\nconfusion (true × predicted): %v\n",
			r.AUROC, r.AUROCOneVsRest, r.MeanEntropy, r.ConfusionMatrix)
	} else {
		fmt.Fprintln(w, "no metrics: the dataset has no single label per image")
	}
	if r := study; r != nil {
		fmt.Fprintf(w, "per study (mean probability of each study's images): %d studies, accuracy %.4f, balanced accuracy %.4f, macro F1 %.4f, AUROC %.4f\n",
			r.N, r.Accuracy, r.BalancedAcc, r.MacroF1, r.AUROC)
	}
}

// inferMergeCommand is `pgaug infer merge`.
func inferMergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "join the predictions files of a sharded run (--shard K/N) into one",
		ArgsUsage: "-o PRED.arrow SHARD.arrow...",
		Description: "Reads the N shard files of one `pgaug infer --shard K/N` run (in any order) and writes the\n" +
			"rows in dataset order: the same ids, predictions and probabilities, in the same order, as one\n" +
			"unsharded run. Refuses files of other models, datasets, splits or shard counts, and names the\n" +
			"shards that are missing or given twice. Prints the merged predictions' metrics.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "merged predictions file to write (required)", Required: true},
			&cli.BoolFlag{Name: "json", Usage: "print the summary and metrics as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.Exit("infer merge: no shard files given (pgaug infer merge -o OUT SHARD.arrow...)", 2)
			}
			res, err := infer.Merge(c.String("output"), c.Args().Slice())
			if err != nil {
				return fmt.Errorf("infer %w", err)
			}
			m, err := infer.Score(res.Predictions)
			if err != nil {
				return fmt.Errorf("infer merge: scoring %s: %w", res.Output, err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Output  string `json:"output"`
					Rows    int    `json:"rows"`
					Shards  int    `json:"shards"`
					Metrics any    `json:"metrics"`
				}{res.Output, res.Rows, res.Shards, m})
			}
			fmt.Fprintf(c.App.Writer, "merged %d shards: %d predictions in %s\n", res.Shards, res.Rows, res.Output)
			printMetrics(c.App.Writer, m, nil)
			return nil
		},
	}
}

// parseByteSize reads a byte count such as "0", "1048576", "512MB", "4GiB"
// or "1.5G" (K, M, G, T: powers of 1000 with B, of 1024 with iB or alone).
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	upper := strings.ToUpper(t)
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{
		{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
	} {
		if strings.HasSuffix(upper, u.suffix) {
			mult, upper = u.mult, strings.TrimSpace(strings.TrimSuffix(upper, u.suffix))
			break
		}
	}
	v, err := strconv.ParseFloat(upper, 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a byte size (e.g. 4GiB, 512MB, 1073741824)", s)
	}
	return int64(v * mult), nil
}
