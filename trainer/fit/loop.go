package fit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/progress"
)

// Method is one training algorithm's work on a batch, shared by every loop
// feature (schedules, evaluation, best-model selection, early stopping,
// checkpoints). Plain training, APGA and noise-mask heating implement it.
type Method interface {
	// TrainStep trains on one batch with the learning rates multiplied by
	// lrScale (the schedule's factor at this step). It returns the scalars
	// to log; "loss" is shown in the progress bar. A non-finite loss or
	// gradient must be returned as an error before any weight is updated
	// with it.
	TrainStep(ctx context.Context, b *loader.Batch, lrScale float64) (map[string]float64, error)
	// Evaluate scores the model being trained on a loader.
	Evaluate(ctx context.Context, l *loader.Loader) (metrics.Report, error)
	// SaveState adds everything a resumed run needs (weights, BN statistics,
	// optimizer state, RNG state, baselines) to s; RestoreState reads it.
	SaveState(s *checkpoint.State) error
	RestoreState(s *checkpoint.State) error
}

// ExtraEvaluator is a Method with scores beyond the classification
// metrics, e.g. how well a policy's masks mark the true region. The loop
// records them in every evaluation (Eval.Extra).
type ExtraEvaluator interface {
	EvaluateExtra(ctx context.Context, l *loader.Loader) (map[string]float64, error)
}

// BestRestorer is a Method that takes less than its whole state from the
// best checkpoint when training ends (RestoreBest): e.g. APGA keeps the
// classifier of the best evaluation but the policy as trained to the end.
type BestRestorer interface {
	RestoreBest(s *checkpoint.State) error
}

// LoopConfig configures Run.
type LoopConfig struct {
	Epochs int
	// EvalEvery evaluates (and checkpoints) every this many steps as well as
	// at each epoch's end (0: at epoch ends only).
	EvalEvery int
	// Select is the validation metric that picks the best model: accuracy
	// (default), balanced_accuracy, macro_f1, auroc, or loss (lower is better).
	Select string
	// Patience stops training after this many epochs without a better
	// validation metric (0: never).
	Patience int
	// Schedule gives the learning-rate factor per step (nil: constant).
	Schedule Schedule
	// CheckpointDir receives a checkpoint at each evaluation (keeping the
	// newest Keep) and best.pgck for the best model ("": no checkpoints).
	CheckpointDir string
	Keep          int
	// Resume continues from the newest checkpoint in CheckpointDir if there
	// is one.
	Resume bool
	// RestoreBest loads the best checkpoint into the method when training
	// ends (needs CheckpointDir and a validation loader).
	RestoreBest bool
	// Meta is recorded in each checkpoint. On resume the checkpoint's Meta
	// must pass ResumeCheck, or, when that is nil, match on the keys "method"
	// and "config".
	Meta map[string]string
	// ResumeCheck says whether a run with this configuration may continue
	// from a checkpoint with the given Meta; its error says why not.
	ResumeCheck func(saved map[string]string) error
	// Progress receives the progress bar or log lines (nil: none).
	Progress io.Writer
	// Metrics receives the JSON-lines log: a "step" record every LogEvery
	// steps, an "eval" record at each evaluation, an "epoch" record per epoch.
	Metrics  io.Writer
	LogEvery int
	// OnStart is called once before training starts, with the step it
	// continues after: 0 for a fresh run, the checkpoint's step for a resumed
	// one (e.g. to drop the log records a killed run wrote after its last
	// checkpoint, which the resumed run writes again).
	OnStart func(fromStep int64) error
	// OnEval is called after each evaluation, before its checkpoint is
	// written (e.g. to draw mask grids); it must not change the method's
	// state.
	OnEval func(ctx context.Context, ev Eval) error
	// OnEpochEnd is called after each epoch's training steps, before its
	// evaluation and checkpoint (e.g. to add the weights to an average,
	// which the method's checkpoint then holds).
	OnEpochEnd func(ctx context.Context, epoch int) error
	// OnEpoch is called with each epoch's finished record (after its
	// evaluation), e.g. to say in words what the epoch's means show.
	OnEpoch func(rec EpochRecord) error
}

// Eval is one evaluation's record.
type Eval struct {
	Kind   string          `json:"kind"` // "eval"
	Step   int64           `json:"step"`
	Epoch  int             `json:"epoch"`
	Val    *metrics.Report `json:"val,omitempty"`
	Score  float64         `json:"score"`
	Best   bool            `json:"best"`
	Reason string          `json:"reason"` // "every" or "epoch"
	// Extra holds an ExtraEvaluator's scores; in JSON they are keys of the
	// record itself.
	Extra map[string]float64 `json:"-"`
}

// MarshalJSON writes the record with Extra's keys beside the others.
func (e Eval) MarshalJSON() ([]byte, error) {
	type plain Eval
	b, err := json.Marshal(plain(e))
	if err != nil || len(e.Extra) == 0 {
		return b, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range e.Extra {
		if _, clash := m[k]; clash {
			return nil, fmt.Errorf("fit: the extra score %q has the name of an evaluation field", k)
		}
		if m[k], err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("fit: extra score %s: %w", k, err)
		}
	}
	return json.Marshal(m)
}

// EpochRecord summarises one epoch.
type EpochRecord struct {
	Kind         string             `json:"kind"` // "epoch"
	Epoch        int                `json:"epoch"`
	Step         int64              `json:"step"`
	Steps        int                `json:"steps"`
	Mean         map[string]float64 `json:"mean"` // mean of each step scalar over the epoch
	LRScale      float64            `json:"lr_scale"`
	Seconds      float64            `json:"seconds"`
	ImagesPerSec float64            `json:"images_per_second"`
	Val          *metrics.Report    `json:"val,omitempty"`
}

// Summary is what Run gives back.
type Summary struct {
	Epochs      []EpochRecord
	Evals       []Eval
	Steps       int64
	BestScore   float64
	BestStep    int64
	BestEpoch   int
	Stopped     string // why training ended early ("" when it ran every epoch)
	ResumedFrom string // the checkpoint a resumed run started from
}

// ErrNonFinite marks a training step that produced NaN or Inf.
var ErrNonFinite = errors.New("non-finite value")

// SelectScore returns the metric named name from r, oriented so that larger
// is better (the loss is negated).
func SelectScore(r metrics.Report, name string) (float64, error) {
	switch strings.ToLower(name) {
	case "", "accuracy", "acc":
		return r.Accuracy, nil
	case "balanced_accuracy", "balanced_acc", "bacc":
		return r.BalancedAcc, nil
	case "macro_f1", "f1":
		return r.MacroF1, nil
	case "auroc", "auc":
		return r.AUROC, nil
	case "loss":
		return -r.MeanLoss, nil
	}
	return 0, fmt.Errorf("selection metric %q: want accuracy, balanced_accuracy, macro_f1, auroc or loss", name)
}

// Run trains m on train for cfg.Epochs epochs, evaluating on val (nil: no
// evaluation, no best-model selection).
func Run(ctx context.Context, m Method, train, val *loader.Loader, cfg LoopConfig) (Summary, error) {
	var sum Summary
	if cfg.Epochs < 1 {
		return sum, fmt.Errorf("fit: want at least 1 epoch, got %d", cfg.Epochs)
	}
	if _, err := SelectScore(metrics.Report{}, cfg.Select); err != nil {
		return sum, err
	}
	sched := cfg.Schedule
	if sched == nil {
		sched = Constant()
	}
	nb := train.NumBatches()
	if nb == 0 {
		return sum, fmt.Errorf("fit: the training loader gives no batch (batch size larger than the split with drop-last?)")
	}
	total := cfg.Epochs * nb
	lt := &loopState{cfg: cfg, m: m, val: val, sum: &sum, bestScore: math.Inf(-1), bestLoss: math.Inf(1)}
	lt.sum.BestScore = math.Inf(-1)

	startEpoch, startBatch := 0, 0
	var resumedMean map[string]float64
	resumedSteps := 0
	if cfg.CheckpointDir != "" {
		if err := os.MkdirAll(cfg.CheckpointDir, 0o755); err != nil {
			return sum, fmt.Errorf("checkpoint directory: %w", err)
		}
	}
	if cfg.Resume && cfg.CheckpointDir != "" {
		path, ok, err := checkpoint.Latest(cfg.CheckpointDir)
		if err != nil {
			return sum, err
		}
		if ok {
			s, err := checkpoint.Load(path)
			if err != nil {
				return sum, err
			}
			if err := cfg.checkResume(s.Meta); err != nil {
				return sum, fmt.Errorf("cannot resume from %s: %w (use a new output directory, or the same settings)", path, err)
			}
			if err := m.RestoreState(s); err != nil {
				return sum, fmt.Errorf("resuming from %s: %w", path, err)
			}
			lt.step = s.Step
			startEpoch, startBatch = int(s.Epoch), int(s.BatchInEpoch)
			if startBatch >= nb {
				startEpoch, startBatch = startEpoch+1, 0
			}
			if v, ok := s.Scalars["fit.best_score"]; ok {
				lt.bestScore = v
				lt.bestLoss = s.Scalars["fit.best_loss"]
				lt.sum.BestScore = v
				lt.sum.BestStep = int64(s.Scalars["fit.best_step"])
				lt.sum.BestEpoch = int(s.Scalars["fit.best_epoch"])
			}
			lt.lastImproved = int(s.Scalars["fit.last_improved_epoch"])
			if startBatch > 0 {
				// Mid-epoch: the epoch's means go on from the steps before
				// the checkpoint.
				resumedMean = map[string]float64{}
				for k, v := range s.Scalars {
					if name, ok := strings.CutPrefix(k, epochSumPrefix); ok {
						resumedMean[name] = v
					}
				}
				resumedSteps = int(s.Scalars["fit.epoch_steps"])
			}
			sum.ResumedFrom = path
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "resuming from %s (epoch %d, batch %d, step %d)\n", path, startEpoch+1, startBatch, lt.step)
			}
		}
	}

	if sum.ResumedFrom == "" && cfg.CheckpointDir != "" {
		// A fresh start: an older run's checkpoints must not be resumed
		// later, nor its best model restored.
		if err := checkpoint.Clear(cfg.CheckpointDir, BestCheckpoint); err != nil {
			return sum, err
		}
	}
	if cfg.OnStart != nil {
		if err := cfg.OnStart(lt.step); err != nil {
			return sum, err
		}
	}
	for epoch := startEpoch; epoch < cfg.Epochs; epoch++ {
		rec := EpochRecord{Kind: "epoch", Epoch: epoch + 1, Mean: map[string]float64{}}
		start := time.Now()
		images := 0
		bar := progress.New(cfg.Progress, fmt.Sprintf("epoch %d/%d", epoch+1, cfg.Epochs), int64(nb), progress.Options{Unit: "step"})
		from := 0
		if epoch == startEpoch {
			from = startBatch
			for k, v := range resumedMean {
				rec.Mean[k] = v
			}
			rec.Steps = resumedSteps
		}
		lt.epochRec = &rec
		it := train.EpochFrom(ctx, epoch, from)
		for bi := from; ; bi++ {
			b, err := it.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				it.Close()
				return sum, fmt.Errorf("epoch %d: loading batch %d: %w", epoch+1, bi+1, err)
			}
			scale := sched(int(lt.step), total)
			n := b.N
			vals, err := m.TrainStep(ctx, b, scale)
			b.Release()
			if err != nil {
				it.Close()
				return sum, lt.stepError(epoch, bi, err)
			}
			for k, v := range vals {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					it.Close()
					return sum, lt.stepError(epoch, bi, fmt.Errorf("%s is %v: %w", k, v, ErrNonFinite))
				}
				rec.Mean[k] += v
			}
			lt.step++
			rec.Steps++
			rec.LRScale = scale
			images += n
			bar.Add(1, fmt.Sprintf("loss %.4f  %.0f img/s", vals["loss"], float64(images)/time.Since(start).Seconds()))
			if cfg.Metrics != nil && cfg.LogEvery > 0 && lt.step%int64(cfg.LogEvery) == 0 {
				if err := writeJSON(cfg.Metrics, map[string]any{"kind": "step", "step": lt.step, "epoch": epoch + 1, "lr_scale": scale, "values": vals}); err != nil {
					it.Close()
					return sum, err
				}
			}
			if cfg.EvalEvery > 0 && lt.step%int64(cfg.EvalEvery) == 0 && bi+1 < nb {
				if _, err := lt.evaluate(ctx, epoch, bi+1, "every", nil); err != nil {
					it.Close()
					return sum, err
				}
			}
		}
		it.Close()
		bar.Done()
		lt.epochRec = nil // its sums become means
		for k := range rec.Mean {
			rec.Mean[k] /= float64(max(rec.Steps, 1))
		}
		rec.Step = lt.step
		rec.Seconds = time.Since(start).Seconds()
		rec.ImagesPerSec = float64(images) / max(rec.Seconds, 1e-9)
		if cfg.OnEpochEnd != nil {
			if err := cfg.OnEpochEnd(ctx, epoch+1); err != nil {
				return sum, fmt.Errorf("epoch %d: %w", epoch+1, err)
			}
		}
		ev, err := lt.evaluate(ctx, epoch, nb, "epoch", func(ev Eval) any {
			r := rec
			r.Val = ev.Val
			return r
		})
		if err != nil {
			return sum, err
		}
		rec.Val = ev.Val
		sum.Epochs = append(sum.Epochs, rec)
		if cfg.Progress != nil {
			line := fmt.Sprintf("epoch %d/%d  %s  %.0f img/s", epoch+1, cfg.Epochs, meanString(rec.Mean), rec.ImagesPerSec)
			if ev.Val != nil {
				line += fmt.Sprintf("  val acc %.4f  bal.acc %.4f  AUROC %.4f", ev.Val.Accuracy, ev.Val.BalancedAcc, ev.Val.AUROC)
				if ev.Best {
					line += "  (best)"
				}
			}
			fmt.Fprintln(cfg.Progress, line)
		}
		if cfg.OnEpoch != nil {
			if err := cfg.OnEpoch(rec); err != nil {
				return sum, fmt.Errorf("epoch %d: %w", epoch+1, err)
			}
		}
		if cfg.Patience > 0 && val != nil && epoch+1-lt.lastImproved >= cfg.Patience && epoch+1 < cfg.Epochs {
			sum.Stopped = fmt.Sprintf("early stop after epoch %d: no better validation %s for %d epochs", epoch+1, selectName(cfg.Select), cfg.Patience)
			if cfg.Progress != nil {
				fmt.Fprintln(cfg.Progress, sum.Stopped)
			}
			break
		}
	}
	sum.Steps = lt.step
	if cfg.RestoreBest && val != nil && cfg.CheckpointDir != "" {
		best := filepath.Join(cfg.CheckpointDir, BestCheckpoint)
		if _, err := os.Stat(best); err == nil {
			s, err := checkpoint.Load(best)
			if err != nil {
				return sum, err
			}
			restore := m.RestoreState
			if r, ok := m.(BestRestorer); ok {
				restore = r.RestoreBest
			}
			if err := restore(s); err != nil {
				return sum, fmt.Errorf("restoring the best model from %s: %w", best, err)
			}
		}
	}
	return sum, nil
}

// checkResume applies ResumeCheck, or the default comparison of the
// "method" and "config" keys.
func (cfg LoopConfig) checkResume(saved map[string]string) error {
	if cfg.ResumeCheck != nil {
		return cfg.ResumeCheck(saved)
	}
	for _, k := range []string{"method", "config"} {
		if want, have := cfg.Meta[k], saved[k]; want != have {
			return fmt.Errorf("it was written with %s %q, this run has %q", k, have, want)
		}
	}
	return nil
}

// BestCheckpoint is the file name of the best model's checkpoint.
const BestCheckpoint = "best.pgck"

type loopState struct {
	cfg          LoopConfig
	m            Method
	val          *loader.Loader
	sum          *Summary
	step         int64
	bestScore    float64
	bestLoss     float64
	lastImproved int // epoch (1-based) of the last improvement
	lastSaved    string
	// epochRec is the epoch in progress, whose running sums a mid-epoch
	// checkpoint keeps.
	epochRec *EpochRecord
}

// epochSumPrefix prefixes the checkpoint scalars holding the running sums
// of the epoch in progress.
const epochSumPrefix = "fit.epoch_sum."

func selectName(s string) string {
	if s == "" {
		return "accuracy"
	}
	return s
}

func meanString(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.4g", k, m[k])
	}
	return strings.Join(parts, "  ")
}

func (lt *loopState) stepError(epoch, bi int, err error) error {
	where := fmt.Sprintf("epoch %d, batch %d (step %d)", epoch+1, bi+1, lt.step+1)
	if lt.lastSaved != "" {
		return fmt.Errorf("%s: %w; training stopped, the last good checkpoint is %s", where, err, lt.lastSaved)
	}
	return fmt.Errorf("%s: %w; training stopped (no checkpoint was written yet)", where, err)
}

// evaluate scores the model, tracks the best one, writes the eval record
// (and then the records more makes of it: the epoch's) to the metrics log
// and then a checkpoint positioned after batch `next` of epoch. The records
// go first: a run killed between the two resumes from the checkpoint before,
// drops the records after it and writes them again, whereas a checkpoint
// written before its records would lose them for good.
func (lt *loopState) evaluate(ctx context.Context, epoch, next int, reason string, more func(Eval) any) (Eval, error) {
	ev := Eval{Kind: "eval", Step: lt.step, Epoch: epoch + 1, Reason: reason}
	if lt.val != nil {
		rep, err := lt.m.Evaluate(ctx, lt.val)
		if err != nil {
			return ev, fmt.Errorf("epoch %d, step %d: evaluation: %w", epoch+1, lt.step, err)
		}
		ev.Val = &rep
		if x, ok := lt.m.(ExtraEvaluator); ok {
			if ev.Extra, err = x.EvaluateExtra(ctx, lt.val); err != nil {
				return ev, fmt.Errorf("epoch %d, step %d: evaluation: %w", epoch+1, lt.step, err)
			}
		}
		ev.Score, _ = SelectScore(rep, lt.cfg.Select)
		// Ties (e.g. an accuracy that has not moved yet) go to the lower
		// validation loss.
		if ev.Score > lt.bestScore || ev.Score == lt.bestScore && rep.MeanLoss < lt.bestLoss {
			lt.bestLoss = rep.MeanLoss
			ev.Best = true
			lt.bestScore = ev.Score
			lt.lastImproved = epoch + 1
			lt.sum.BestScore, lt.sum.BestStep, lt.sum.BestEpoch = ev.Score, lt.step, epoch+1
		}
	}
	if lt.cfg.Metrics != nil {
		if err := writeJSON(lt.cfg.Metrics, ev); err != nil {
			return ev, err
		}
		if more != nil {
			if err := writeJSON(lt.cfg.Metrics, more(ev)); err != nil {
				return ev, err
			}
		}
	}
	lt.sum.Evals = append(lt.sum.Evals, ev)
	// What OnEval writes (mask grids) precedes the checkpoint too: a run
	// killed between the two draws them again when it resumes.
	if lt.cfg.OnEval != nil {
		if err := lt.cfg.OnEval(ctx, ev); err != nil {
			return ev, fmt.Errorf("after the evaluation at step %d: %w", lt.step, err)
		}
	}
	if lt.cfg.CheckpointDir != "" {
		s := checkpoint.NewState()
		s.Step, s.Epoch, s.BatchInEpoch = lt.step, int64(epoch), int64(next)
		for k, v := range lt.cfg.Meta {
			s.Meta[k] = v
		}
		if err := lt.m.SaveState(s); err != nil {
			return ev, fmt.Errorf("checkpoint at step %d: %w", lt.step, err)
		}
		s.Scalars["fit.best_score"] = lt.bestScore
		s.Scalars["fit.best_loss"] = lt.bestLoss
		s.Scalars["fit.best_step"] = float64(lt.sum.BestStep)
		s.Scalars["fit.best_epoch"] = float64(lt.sum.BestEpoch)
		s.Scalars["fit.last_improved_epoch"] = float64(lt.lastImproved)
		if r := lt.epochRec; r != nil {
			s.Scalars["fit.epoch_steps"] = float64(r.Steps)
			for k, v := range r.Mean {
				s.Scalars[epochSumPrefix+k] = v
			}
		}
		// The best model first: a run killed between the two files resumes
		// from the previous checkpoint and writes the same best again,
		// whereas a checkpoint that records a best not yet written would
		// restore an older best model at the end.
		if ev.Best {
			if err := checkpoint.SaveAs(filepath.Join(lt.cfg.CheckpointDir, BestCheckpoint), s); err != nil {
				return ev, err
			}
		}
		path, err := checkpoint.Save(lt.cfg.CheckpointDir, s, lt.cfg.Keep)
		if err != nil {
			return ev, err
		}
		lt.lastSaved = path
	}
	return ev, nil
}

func writeJSON(w io.Writer, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return fmt.Errorf("writing the metrics log: %w", err)
	}
	return nil
}
