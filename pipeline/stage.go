package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/pipeline/fingerprint"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// StageRecord is what a finished stage leaves in its directory
// (stage.json): what it made, and the fingerprint of what it was made from.
// A re-run with the same fingerprint skips the stage; a different one runs
// it again, and everything downstream of it, since each stage's inputs
// include the fingerprints of the stages it consumes.
type StageRecord struct {
	Name    string                    `json:"name"`
	Dir     string                    `json:"dir"`
	Seconds float64                   `json:"seconds"`
	Outputs map[string]string         `json:"outputs"`
	Final   map[string]metrics.Report `json:"final,omitempty"`
	// Saliency holds a training stage's saliency scores per split (see
	// RunResult.Saliency), Warnings what went wrong in words.
	Saliency map[string]map[string]float64 `json:"saliency,omitempty"`
	Warnings []string                      `json:"warnings,omitempty"`
	Note     string                        `json:"note,omitempty"`
	// Fingerprint is the sum of Inputs: the settings the stage's result
	// depends on, the dataset's and models' identities, and the
	// fingerprints of the stages it consumes (keys "stage.NAME").
	Fingerprint string               `json:"fingerprint"`
	Inputs      fingerprint.Settings `json:"inputs"`
	// ReusedFrom is the stage directory of another run the results were
	// copied from (--reuse-from), if they were.
	ReusedFrom string `json:"reused_from,omitempty"`
	Skipped    bool   `json:"-"`
}

// The files of a stage directory: the record of a finished stage, and the
// inputs of a started one (so that an interrupted stage resumes only with
// the same inputs).
const (
	StageFile       = "stage.json"
	StageInputsFile = "stage.inputs.json"
)

// stageInputs is what a stage's result depends on: the configuration keys
// (from all, the whole configuration's settings) named exactly or by a
// prefix ending in ".", and the fingerprints of the stages it consumes.
func stageInputs(all fingerprint.Settings, keys []string, upstream ...StageRecord) fingerprint.Settings {
	s := fingerprint.Settings{}
	for k, v := range all {
		for _, want := range keys {
			if k == want || strings.HasSuffix(want, ".") && strings.HasPrefix(k, want) {
				s[k] = v
			}
		}
	}
	for _, u := range upstream {
		s["stage."+u.Name] = u.Fingerprint
	}
	return s
}

// describeChange says what differs between a stage's recorded inputs and
// the current ones: settings by key, consumed stages by name.
func describeChange(old, cur fingerprint.Settings) string {
	var settings []fingerprint.Change
	var stages []string
	for _, c := range fingerprint.Diff(old, cur) {
		if name, ok := strings.CutPrefix(c.Key, "stage."); ok {
			stages = append(stages, name)
			continue
		}
		settings = append(settings, c)
	}
	var parts []string
	if len(settings) > 0 {
		parts = append(parts, fingerprint.Describe(settings, 6))
	}
	if len(stages) > 0 {
		parts = append(parts, "the stage it consumes changed ("+strings.Join(stages, ", ")+")")
	}
	if len(parts) == 0 {
		return "its record has no fingerprint (written by an older pgaug)"
	}
	return strings.Join(parts, "; ")
}

// readStageFile reads a stage record (stage.json or stage.inputs.json);
// ok is false when there is none.
func readStageFile(path string) (rec StageRecord, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, false, fmt.Errorf("%s is damaged (%v); delete it to run the stage again", path, err)
	}
	return rec, true, nil
}

// stage runs fn in dir unless dir (or a --reuse-from directory) holds the
// same stage finished with the same inputs.
func (r *runner) stage(name, dir string, inputs fingerprint.Settings, fn func(rec *StageRecord) error) (StageRecord, error) {
	fp := inputs.Sum()
	done, ok, err := readStageFile(filepath.Join(dir, StageFile))
	if err != nil {
		return done, fmt.Errorf("stage %s: %w", name, err)
	}
	switch {
	case ok && done.Fingerprint == fp:
		done.Skipped = true
		r.say("%s: already done (%s), skipped", name, dir)
		r.sum.Stages = append(r.sum.Stages, done)
		return done, nil
	case ok:
		if !r.mayRun(name) {
			return StageRecord{}, &StageNotDoneError{Stage: name, Dir: dir, Why: describeChange(done.Inputs, inputs) + " since it ran"}
		}
		r.say("%s: %s since it ran: removing its results and running it again", name, describeChange(done.Inputs, inputs))
		if err := clearStageDir(dir); err != nil {
			return done, fmt.Errorf("stage %s: %w", name, err)
		}
	default:
		started, ok, err := readStageFile(filepath.Join(dir, StageInputsFile))
		if err != nil {
			return started, fmt.Errorf("stage %s: %w", name, err)
		}
		if ok && started.Fingerprint != fp {
			if !r.mayRun(name) {
				return StageRecord{}, &StageNotDoneError{Stage: name, Dir: dir, Why: "an interrupted run of it had other inputs"}
			}
			r.say("%s: an interrupted run of it had other inputs (%s): starting it afresh", name, describeChange(started.Inputs, inputs))
			if err := clearStageDir(dir); err != nil {
				return started, fmt.Errorf("stage %s: %w", name, err)
			}
		} else if !ok {
			if rec, ok, err := r.reuse(name, dir, inputs); err != nil || ok {
				return rec, err
			}
		}
	}

	if !r.mayRun(name) {
		return StageRecord{}, &StageNotDoneError{Stage: name, Dir: dir}
	}
	r.say("%s: starting (%s)", name, dir)
	t := time.Now()
	rec := StageRecord{Name: name, Dir: dir, Outputs: map[string]string{}, Fingerprint: fp, Inputs: inputs}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rec, err
	}
	if err := writeJSONFile(filepath.Join(dir, StageInputsFile), rec); err != nil {
		return rec, err
	}
	if err := fn(&rec); err != nil {
		return rec, fmt.Errorf("stage %s: %w", name, err)
	}
	rec.Seconds = time.Since(t).Seconds()
	if err := writeJSONFile(filepath.Join(dir, StageFile), rec); err != nil {
		return rec, err
	}
	r.say("%s: done in %.1fs", name, rec.Seconds)
	r.sum.Stages = append(r.sum.Stages, rec)
	return rec, nil
}

// mayRun says whether the run may run (or re-run) stage name.
func (r *runner) mayRun(name string) bool { return r.opts.mayRun == nil || r.opts.mayRun(name) }

// reuse copies the stage from the first --reuse-from directory that holds
// it finished with the same fingerprint.
func (r *runner) reuse(name, dir string, inputs fingerprint.Settings) (StageRecord, bool, error) {
	rel, err := filepath.Rel(r.cfg.Dir, dir)
	if err != nil {
		return StageRecord{}, false, err
	}
	for _, from := range r.cfg.ReuseFrom {
		src := filepath.Join(from, rel)
		other, ok, err := readStageFile(filepath.Join(src, StageFile))
		if err != nil {
			r.say("%s: not reusing %s: %v", name, src, err)
			continue
		}
		if !ok || other.Fingerprint != inputs.Sum() {
			continue
		}
		if err := copyStageDir(src, dir); err != nil {
			return other, false, fmt.Errorf("stage %s: reusing %s: %w", name, src, err)
		}
		rec := other
		rec.Dir, rec.ReusedFrom, rec.Outputs = dir, src, map[string]string{}
		for k, v := range other.Outputs {
			p, err := filepath.Rel(other.Dir, v)
			if err != nil || strings.HasPrefix(p, "..") {
				return rec, false, fmt.Errorf("stage %s: %s records output %s outside its directory %s", name, src, v, other.Dir)
			}
			rec.Outputs[k] = filepath.Join(dir, p)
		}
		if err := writeJSONFile(filepath.Join(dir, StageFile), rec); err != nil {
			return rec, false, err
		}
		r.say("%s: reused from %s (same inputs)", name, src)
		rec.Skipped = true
		r.sum.Stages = append(r.sum.Stages, rec)
		return rec, true, nil
	}
	return StageRecord{}, false, nil
}

// isStageDir says whether a directory holds a (started or finished) stage
// of its own: stage directories nest (converge/infer), and each one is
// cleared, reused or skipped on its own.
func isStageDir(dir string) bool {
	for _, f := range []string{StageFile, StageInputsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// clearStageDir removes what a stage wrote into dir (its record last, so
// that an interrupted clear is finished by the next run), leaving the
// stage directories nested in it.
func clearStageDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.Name() == StageFile || e.IsDir() && isStageDir(p) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(dir, StageFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// copyStageDir copies a finished stage's files from src into dst, leaving
// out its record (the caller writes its own) and the stage directories
// nested in it. Files are hard-linked where the file system allows (runs
// never rewrite a finished stage's files in place), else copied
// atomically.
func copyStageDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if rel != "." && isStageDir(p) {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if rel == StageFile || !d.Type().IsRegular() {
			return nil
		}
		if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if os.Link(p, target) == nil {
			return nil
		}
		return atomicfile.Write(target, func(w io.Writer) error {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
	})
}
