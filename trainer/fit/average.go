package fit

import (
	"fmt"
	"sort"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/trainer/checkpoint"
)

// WeightAverage averages snapshots of a model's weights: every parameter and
// the BatchNorm running statistics (the published fine-tuning recipe
// averages the last epochs' weights). Sums are float32, so a checkpointed
// average resumes bit for bit.
type WeightAverage struct {
	m   *importer.Model
	sum map[string][]float32
	n   int64
}

// NewWeightAverage starts an empty average of m's weights.
func NewWeightAverage(m *importer.Model) *WeightAverage {
	return &WeightAverage{m: m, sum: map[string][]float32{}}
}

// tensors lists the model's averaged buffers by name.
func (a *WeightAverage) tensors() map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range a.m.Params {
		out["param/"+p.Name] = p.Value.Data().([]float32)
	}
	for node, bn := range a.m.BN {
		out["bn/"+node+"/mean"] = bn.State.RunningMean
		out["bn/"+node+"/var"] = bn.State.RunningVar
	}
	return out
}

// Add adds the model's current weights to the average.
func (a *WeightAverage) Add() {
	for name, v := range a.tensors() {
		s, ok := a.sum[name]
		if !ok {
			s = make([]float32, len(v))
			a.sum[name] = s
		}
		for i, x := range v {
			s[i] += x
		}
	}
	a.n++
}

// Count is the number of snapshots added.
func (a *WeightAverage) Count() int { return int(a.n) }

// Apply writes the average into the model (in place, so every graph built
// from it sees it).
func (a *WeightAverage) Apply() error {
	if a.n == 0 {
		return fmt.Errorf("weight average: no snapshot was added")
	}
	inv := 1 / float32(a.n)
	for name, v := range a.tensors() {
		s, ok := a.sum[name]
		if !ok || len(s) != len(v) {
			return fmt.Errorf("weight average: %s changed since the snapshots", name)
		}
		for i := range v {
			v[i] = s[i] * inv
		}
	}
	return nil
}

// SaveState adds the running sums to a checkpoint under prefix.
func (a *WeightAverage) SaveState(s *checkpoint.State, prefix string) {
	names := make([]string, 0, len(a.sum))
	for n := range a.sum {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.Vectors[prefix+"/"+n] = append([]float32(nil), a.sum[n]...)
	}
	s.Counters[prefix+".count"] = a.n
}

// RestoreState reads what SaveState wrote.
func (a *WeightAverage) RestoreState(s *checkpoint.State, prefix string) error {
	a.n = s.Counters[prefix+".count"]
	a.sum = map[string][]float32{}
	if a.n == 0 {
		return nil
	}
	for name, v := range a.tensors() {
		saved, ok := s.Vectors[prefix+"/"+name]
		if !ok || len(saved) != len(v) {
			return fmt.Errorf("the checkpoint's weight average has no %s of %d values", name, len(v))
		}
		a.sum[name] = append([]float32(nil), saved...)
	}
	return nil
}
