package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Labeled names an experiment directory in a comparison.
type Labeled struct {
	Label, Dir string
}

// CompareExperiments puts the results of several experiments (each
// directory's results.json) into one: every method of each, named
// "label: method", except the rows that repeat one already there with the
// same numbers (a converged start or a baseline the experiments shared
// through --reuse-from), which appear once under their own name.
func CompareExperiments(exps []Labeled) (ExperimentResult, error) {
	var out ExperimentResult
	if len(exps) == 0 {
		return out, fmt.Errorf("compare: no experiments given")
	}
	for _, e := range exps {
		path := filepath.Join(e.Dir, "results.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return out, fmt.Errorf("compare: %w", err)
		}
		var r ExperimentResult
		if err := json.Unmarshal(b, &r); err != nil {
			return out, fmt.Errorf("compare: %s: %w", path, err)
		}
		if len(out.Seeds) == 0 {
			out.Seeds = r.Seeds
		} else if !reflect.DeepEqual(out.Seeds, r.Seeds) {
			return out, fmt.Errorf("compare: %s has seeds %v, %s has %v: compare experiments over the same seeds", exps[0].Dir, out.Seeds, e.Dir, r.Seeds)
		}
	next:
		for _, m := range r.Methods {
			for _, have := range out.Methods {
				if strings.TrimPrefix(have.Method, labelOf(have.Method)) == m.Method && reflect.DeepEqual(have.Metrics, m.Metrics) {
					continue next
				}
			}
			if !sharedRow(m.Method) {
				m.Method = e.Label + ": " + m.Method
			}
			out.Methods = append(out.Methods, m)
		}
		out.Runs = append(out.Runs, r.Runs...)
		out.Seconds += r.Seconds
	}
	out.Markdown = experimentMarkdown(out)
	return out, nil
}

// sharedRow says whether a method's row is the same in every experiment
// that shares its stages (the converged start).
func sharedRow(method string) bool { return method == "converged start" }

// labelOf is the "label: " prefix of a compared row ("" for none).
func labelOf(method string) string {
	if i := strings.Index(method, ": "); i >= 0 {
		return method[:i+2]
	}
	return ""
}
