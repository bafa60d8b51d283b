package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/imgio"
	"github.com/pgaug/pgaug/datasets/ops"
	"github.com/pgaug/pgaug/datasets/synthetic"
)

// dataCommands returns the commands of the "data" group.
func dataCommands() []*cli.Command {
	return []*cli.Command{
		dataImportCommand(),
		dataInspectCommand(),
		dataSplitCommand(),
		dataSampleCommand(),
		dataStatsCommand(),
	}
}

// positional returns a command's positional arguments. Flags typed after
// them (`pgaug data import medmnist x.npz -o out`) were already moved in
// front of them by Main's intersperse, so urfave/cli has parsed them.
func positional(c *cli.Context) ([]string, error) {
	return c.Args().Slice(), nil
}

// needArgs checks the number of positional arguments.
func needArgs(c *cli.Context, n int, what string) ([]string, error) {
	pos, err := positional(c)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, cli.Exit(fmt.Sprintf("%s: want %s, got %d argument(s) %q (see --help)", c.Command.FullName(), what, len(pos), pos), 2)
	}
	return pos, nil
}

// required checks flags that must be given (checked here rather than by
// urfave/cli, which would not see them after positional arguments).
func required(c *cli.Context, names ...string) error {
	for _, n := range names {
		if !c.IsSet(n) {
			return cli.Exit(fmt.Sprintf("%s: --%s is required (see --help)", c.Command.FullName(), n), 2)
		}
	}
	return nil
}

// progress prints a one-line progress report on stderr: rewritten in place
// on a terminal, else a line every 10%.
type progress struct {
	w     io.Writer
	what  string
	tty   bool
	last  time.Time
	step  int
	shown bool
}

func newProgress(c *cli.Context, what string) *progress {
	p := &progress{w: c.App.ErrWriter, what: what}
	if f, ok := p.w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(done, total int) {
	if p.w == nil {
		return
	}
	if p.tty {
		if time.Since(p.last) < 200*time.Millisecond && done != total {
			return
		}
		p.last = time.Now()
		if total > 0 {
			fmt.Fprintf(p.w, "\r%s %d/%d (%d%%)", p.what, done, total, 100*done/total)
		} else {
			fmt.Fprintf(p.w, "\r%s %d", p.what, done)
		}
		p.shown = true
		return
	}
	if total <= 0 {
		return
	}
	if s := 10 * done / total; s > p.step {
		p.step = s
		fmt.Fprintf(p.w, "%s %d/%d (%d%%)\n", p.what, done, total, 100*done/total)
	}
}

func (p *progress) done() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}

// Import flags shared by every format.
func importFlags(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output dataset (required): a directory of part files, or one file if it ends in .arrow"},
		&cli.StringFlag{Name: "name", Usage: "dataset name written into the metadata (default: from the input)"},
		&cli.IntFlag{Name: "rows-per-file", Value: arrowds.DefaultRowsPerFile, Usage: "start a new part file after this many rows"},
		&cli.BoolFlag{Name: "skip-bad", Usage: "count and skip unreadable rows instead of stopping at the first"},
		&cli.BoolFlag{Name: "force", Usage: "replace an existing output"},
		&cli.IntFlag{Name: "workers", Usage: "image decoding goroutines (default: number of CPUs)"},
	}, extra...)
}

func imageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "channels", Usage: "store 1 (gray) or 3 (RGB) channels (default: 3 if any image is in colour)"},
		&cli.IntFlag{Name: "depth", Usage: "store 8- or 16-bit pixels (default: 16 if any image is a 16-bit PNG)"},
	}
}

func importOptions(c *cli.Context) convert.Options {
	return convert.Options{
		Out: c.String("output"), Name: c.String("name"), RowsPerFile: c.Int("rows-per-file"),
		Overwrite: c.Bool("force"), SkipBad: c.Bool("skip-bad"), Workers: c.Int("workers"),
	}
}

func imageOptions(c *cli.Context) (convert.ImageOptions, error) {
	o := convert.ImageOptions{Channels: c.Int("channels")}
	switch c.Int("depth") {
	case 0:
	case 8:
		o.PixelType = arrowds.Uint8
	case 16:
		o.PixelType = arrowds.Uint16
	default:
		return o, cli.Exit(fmt.Sprintf("--depth %d: want 8 or 16", c.Int("depth")), 2)
	}
	if o.Channels != 0 && o.Channels != 1 && o.Channels != 3 {
		return o, cli.Exit(fmt.Sprintf("--channels %d: want 1 or 3", o.Channels), 2)
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseFractions(s string) ([3]float64, error) {
	var f [3]float64
	parts := splitList(s)
	if len(parts) < 2 || len(parts) > 3 {
		return f, fmt.Errorf("fractions %q: want TRAIN,VAL[,TEST] such as 0.8,0.1,0.1", s)
	}
	sum := 0.0
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 {
			return f, fmt.Errorf("fractions %q: %q is not a non-negative number", s, p)
		}
		f[i] = v
		sum += v
	}
	if len(parts) == 2 {
		f[2] = 1 - sum
		sum = 1
	}
	if f[2] < -1e-9 || sum < 1-1e-6 || sum > 1+1e-6 {
		return f, fmt.Errorf("fractions %q sum to %v, want 1", s, sum)
	}
	f[2] = max(f[2], 0)
	return f, nil
}

// runImport wires a converter to the command line.
func runImport(c *cli.Context, nargs int, what string, run func(args []string, o convert.Options) (convert.Result, error)) error {
	args, err := needArgs(c, nargs, what)
	if err != nil {
		return err
	}
	if err := required(c, "output"); err != nil {
		return err
	}
	o := importOptions(c)
	p := newProgress(c, "importing")
	o.Progress = p.update
	res, err := run(args, o)
	p.done()
	for _, pr := range res.Problems {
		fmt.Fprintf(c.App.ErrWriter, "skipped: %s\n", pr)
	}
	if res.Skipped > len(res.Problems) {
		fmt.Fprintf(c.App.ErrWriter, "skipped: ... and %d more\n", res.Skipped-len(res.Problems))
	}
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "wrote %s: %d rows", res.Path, res.Rows)
	var sp []string
	for _, s := range arrowds.Splits {
		if n := res.PerSplit[s]; n > 0 {
			sp = append(sp, fmt.Sprintf("%s %d", s, n))
		}
	}
	fmt.Fprintf(w, " (%s)", strings.Join(sp, ", "))
	if res.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", res.Skipped)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s, %d classes:", res.Meta.Task, len(res.Meta.Classes))
	for _, cl := range res.Meta.Classes {
		fmt.Fprintf(w, " %s=%d", cl, res.PerClass[cl])
	}
	fmt.Fprintln(w)
	return nil
}

func dataImportCommand() *cli.Command {
	medmnist := &cli.Command{
		Name:      "medmnist",
		Usage:     "import a MedMNIST .npz (any 2-D flag and size, incl. multi-label ChestMNIST)",
		ArgsUsage: "FILE.npz",
		Flags:     importFlags(&cli.StringFlag{Name: "flag", Usage: "MedMNIST flag such as pneumoniamnist (default: from the file name)"}),
		Action: func(c *cli.Context) error {
			return runImport(c, 1, "one .npz file", func(a []string, o convert.Options) (convert.Result, error) {
				return convert.MedMNIST(a[0], convert.MedMNISTOptions{Flag: c.String("flag")}, o)
			})
		},
	}
	folder := &cli.Command{
		Name:      "folder",
		Usage:     "import a folder with one sub-folder per class (PNG incl. 16-bit, JPEG)",
		ArgsUsage: "DIR",
		Description: "DIR/<class>/**/*.png|jpg. If DIR's sub-folders are train/val(id)/test, each holds class\n" +
			"sub-folders and gives its split.",
		Flags: importFlags(append(imageFlags(),
			&cli.StringFlag{Name: "classes", Usage: "comma-separated class order (default: sorted folder names)"},
			&cli.StringFlag{Name: "split", Value: "train", Usage: "split of the images when DIR has no train/val/test level"})...),
		Action: func(c *cli.Context) error {
			imo, err := imageOptions(c)
			if err != nil {
				return err
			}
			return runImport(c, 1, "one directory", func(a []string, o convert.Options) (convert.Result, error) {
				return convert.Folder(a[0], convert.FolderOptions{ImageOptions: imo, Classes: splitList(c.String("classes")), Split: c.String("split")}, o)
			})
		},
	}
	csvCmd := &cli.Command{
		Name:      "csv",
		Usage:     "import a CSV of path,label[,split[,group]] rows (header optional)",
		ArgsUsage: "FILE.csv",
		Flags: importFlags(append(imageFlags(),
			&cli.StringFlag{Name: "classes", Usage: "comma-separated class order (default: sorted label names)"},
			&cli.StringFlag{Name: "split", Value: "train", Usage: "split of rows without a split column"},
			&cli.StringFlag{Name: "root", Usage: "directory the image paths are relative to (default: the CSV's)"},
			&cli.BoolFlag{Name: "multilabel", Usage: "labels are ';'-separated class names"})...),
		Action: func(c *cli.Context) error {
			imo, err := imageOptions(c)
			if err != nil {
				return err
			}
			return runImport(c, 1, "one .csv file", func(a []string, o convert.Options) (convert.Result, error) {
				return convert.CSV(a[0], convert.CSVOptions{ImageOptions: imo, Classes: splitList(c.String("classes")),
					Split: c.String("split"), Root: c.String("root"), Multilabel: c.Bool("multilabel")}, o)
			})
		},
	}
	idxCmd := &cli.Command{
		Name:      "idx",
		Usage:     "import IDX files (MNIST / Fashion-MNIST: train-images-idx3-ubyte[.gz], ...)",
		ArgsUsage: "DIR",
		Flags:     importFlags(&cli.StringFlag{Name: "classes", Usage: "comma-separated class names for labels 0..K-1 (default: Fashion-MNIST's for a fashion directory, else digits)"}),
		Action: func(c *cli.Context) error {
			return runImport(c, 1, "one directory", func(a []string, o convert.Options) (convert.Result, error) {
				return convert.IDX(a[0], convert.IDXOptions{Classes: splitList(c.String("classes"))}, o)
			})
		},
	}
	mura := &cli.Command{
		Name:      "mura",
		Usage:     "import MURA from its *_image_paths.csv (label from the study folder, study as group)",
		ArgsUsage: "DIR|FILE.csv",
		Flags: importFlags(append(imageFlags(),
			&cli.StringFlag{Name: "body-part", Usage: "keep only these body parts, comma-separated (wrist, XR_ELBOW, ...)"})...),
		Action: func(c *cli.Context) error {
			imo, err := imageOptions(c)
			if err != nil {
				return err
			}
			return runImport(c, 1, "the MURA-v1.1 directory or one *_image_paths.csv", func(a []string, o convert.Options) (convert.Result, error) {
				return convert.MURA(a[0], convert.MURAOptions{ImageOptions: imo, BodyParts: splitList(c.String("body-part"))}, o)
			})
		},
	}
	def := synthetic.Default()
	synth := &cli.Command{
		Name:  "synthetic",
		Usage: "generate radiograph-like images whose label is a small structure among distractors (seeded)",
		Description: "Class 0 'normal' has no structure; classes 1.. have a ring, streak, cross or pair of dots inside\n" +
			"a lung field, among distractor blobs and noise. The structure is stored as mask and bbox.\n" +
			"The same flags give the same dataset, byte for byte.",
		Flags: importFlags(
			&cli.IntFlag{Name: "count", Value: def.Count, Usage: "number of images"},
			&cli.IntFlag{Name: "size", Value: def.Size, Usage: "image side in pixels (16..512)"},
			&cli.IntFlag{Name: "classes", Value: def.Classes, Usage: "number of classes (2..5)"},
			&cli.Uint64Flag{Name: "seed", Value: def.Seed, Usage: "random seed"},
			&cli.StringFlag{Name: "fractions", Value: "0.7,0.15,0.15", Usage: "train,val,test fractions (stratified by class)"},
			&cli.Float64Flag{Name: "noise", Value: def.Noise, Usage: "pixel noise standard deviation (pixels in [0,1])"},
			&cli.IntFlag{Name: "distractors", Value: def.Distractors, Usage: "distractor blobs per image (about)"}),
		Action: func(c *cli.Context) error {
			return runImport(c, 0, "no arguments", func(_ []string, o convert.Options) (convert.Result, error) {
				fr, err := parseFractions(c.String("fractions"))
				if err != nil {
					return convert.Result{}, cli.Exit(err.Error(), 2)
				}
				cfg := synthetic.Config{Count: c.Int("count"), Size: c.Int("size"), Classes: c.Int("classes"), Seed: c.Uint64("seed"),
					Fractions: fr, Noise: c.Float64("noise"), Distractors: c.Int("distractors")}
				return convert.Synthetic(cfg, o)
			})
		},
	}
	return &cli.Command{
		Name:  "import",
		Usage: "import images into an Arrow dataset: medmnist, folder, csv, idx, mura, synthetic",
		Description: "pgaug data import FORMAT INPUT -o OUT. Unreadable rows stop the import with an error naming\n" +
			"the file and row (or, with --skip-bad, are counted and skipped). The output appears only when\n" +
			"the import succeeds.",
		Subcommands: []*cli.Command{medmnist, folder, csvCmd, idxCmd, mura, synth},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				_ = cli.ShowSubcommandHelp(c)
				return cli.Exit(fmt.Sprintf("unknown import format %q", c.Args().First()), 2)
			}
			return cli.ShowSubcommandHelp(c)
		},
	}
}

func openDataset(path string) (*arrowds.Dataset, error) {
	return arrowds.Open(path)
}

func dataInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show a dataset's schema, metadata, counts per class and split, and image sizes",
		ArgsUsage: "DATASET",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "grid", Usage: "also write a PNG grid of sample images, one row per class"},
			&cli.IntFlag{Name: "per-class", Value: 8, Usage: "images per class in the grid"},
			&cli.StringFlag{Name: "split", Usage: "split the grid draws from (default: all)"},
			&cli.IntFlag{Name: "cell", Value: 64, Usage: "grid cell size in pixels"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the grid's sample"},
		},
		Action: func(c *cli.Context) error {
			args, err := needArgs(c, 1, "one dataset")
			if err != nil {
				return err
			}
			d, err := openDataset(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			s := ops.Inspect(d)
			s.Write(c.App.Writer)
			if g := c.String("grid"); g != "" {
				img, ids, err := ops.Grid(d, c.String("split"), c.Int("per-class"), c.Uint64("seed"), c.Int("cell"))
				if err != nil {
					return err
				}
				if err := imgio.WritePNG(g, img); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "\ngrid %s: one row per class\n", g)
				for k, row := range ids {
					fmt.Fprintf(c.App.Writer, "  %s: %s\n", d.Meta().Classes[k], strings.Join(row, " "))
				}
			}
			return nil
		},
	}
}

func dataSplitCommand() *cli.Command {
	return &cli.Command{
		Name:      "split",
		Usage:     "re-assign train/val/test: stratified by class, optionally keeping groups (patients) together",
		ArgsUsage: "DATASET",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output dataset (default: rewrite DATASET in place)"},
			&cli.StringFlag{Name: "fractions", Value: "0.8,0.1,0.1", Usage: "train,val,test fractions"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			&cli.BoolFlag{Name: "by-group", Usage: "keep every group (the group column: patient, study) in one split"},
			&cli.StringFlag{Name: "from", Usage: "re-split only rows now in these splits, e.g. train (default: all)"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing output"},
		},
		Action: func(c *cli.Context) error {
			args, err := needArgs(c, 1, "one dataset")
			if err != nil {
				return err
			}
			fr, err := parseFractions(c.String("fractions"))
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			d, err := openDataset(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			out, overwrite := c.String("output"), c.Bool("force")
			if out == "" {
				out, overwrite = args[0], true
			}
			if c.Bool("by-group") && !d.Columns().Group {
				return fmt.Errorf("%s has no group column; --by-group needs one", args[0])
			}
			p := newProgress(c, "splitting")
			counts, err := ops.Split(d, out, ops.SplitOptions{Fractions: fr, Seed: c.Uint64("seed"), ByGroup: c.Bool("by-group"),
				From: splitList(c.String("from"))}, overwrite, p.update)
			p.done()
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %s: train %d, val %d, test %d\n", out, counts["train"], counts["val"], counts["test"])
			return nil
		},
	}
}

func dataSampleCommand() *cli.Command {
	return &cli.Command{
		Name:      "sample",
		Usage:     "write a seeded k-shot subset: K rows per class",
		ArgsUsage: "DATASET",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output dataset (required)"},
			&cli.IntFlag{Name: "per-class", Aliases: []string{"k"}, Usage: "rows per class (required)"},
			&cli.StringFlag{Name: "split", Value: "train", Usage: "split to sample from (\"\" = all rows)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			&cli.BoolFlag{Name: "keep-other", Usage: "also copy the rows of the other splits (e.g. keep val and test)"},
			&cli.BoolFlag{Name: "allow-fewer", Usage: "take all rows of classes with fewer than K"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing output"},
		},
		Action: func(c *cli.Context) error {
			args, err := needArgs(c, 1, "one dataset")
			if err != nil {
				return err
			}
			if err := required(c, "output", "per-class"); err != nil {
				return err
			}
			d, err := openDataset(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			p := newProgress(c, "sampling")
			rows, err := ops.Sample(d, c.String("output"), ops.SampleOptions{PerClass: c.Int("per-class"), Split: c.String("split"),
				Seed: c.Uint64("seed"), KeepOther: c.Bool("keep-other"), AllowFewer: c.Bool("allow-fewer")}, c.Bool("force"), p.update)
			p.done()
			if err != nil {
				return err
			}
			per := map[string]int{}
			for _, r := range rows {
				per[d.Row(r).Split]++
			}
			var parts []string
			for _, s := range sortedKeys(per) {
				parts = append(parts, fmt.Sprintf("%s %d", s, per[s]))
			}
			fmt.Fprintf(c.App.Writer, "wrote %s: %d rows (%s)\n", c.String("output"), len(rows), strings.Join(parts, ", "))
			return nil
		},
	}
}

func sortedKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := indexOfSplit(out[i]), indexOfSplit(out[j])
		if a != b {
			return a < b
		}
		return out[i] < out[j]
	})
	return out
}

func indexOfSplit(s string) int {
	for i, v := range arrowds.Splits {
		if v == s {
			return i
		}
	}
	return len(arrowds.Splits)
}

func dataStatsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "compute per-channel mean/std of a split and write them into the dataset metadata",
		ArgsUsage: "DATASET",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "split", Value: "train", Usage: "split to compute over (\"\" = all rows)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write a copy here instead of updating DATASET in place"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the statistics without writing"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing output"},
		},
		Action: func(c *cli.Context) error {
			args, err := needArgs(c, 1, "one dataset")
			if err != nil {
				return err
			}
			d, err := openDataset(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			p := newProgress(c, "reading")
			var mean, std []float64
			out := c.String("output")
			if c.Bool("dry-run") {
				mean, std, err = ops.ComputeStats(d, c.String("split"), p.update)
			} else if out == "" {
				out = args[0]
				mean, std, err = ops.Stats(d, out, c.String("split"), true, p.update)
			} else {
				mean, std, err = ops.Stats(d, out, c.String("split"), c.Bool("force"), p.update)
			}
			p.done()
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "split %q: mean %v std %v (pixels scaled to [0,1])\n", c.String("split"), fmtList(mean), fmtList(std))
			if !c.Bool("dry-run") {
				fmt.Fprintf(c.App.Writer, "wrote the statistics into %s\n", out)
			}
			return nil
		},
	}
}

func fmtList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 6, 64)
	}
	return "[" + strings.Join(s, " ") + "]"
}
