package checkpoint

import (
	"encoding"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/trainer/optim"
)

// State is everything a checkpoint holds. Use [NewState] (or set the maps
// before use); [Load] returns a State whose maps are never nil.
type State struct {
	// Step counts optimizer steps of the run (it names the file [Save] writes).
	Step int64
	// Epoch and BatchInEpoch locate the next batch to train on.
	Epoch, BatchInEpoch int64

	// Scalars holds float64 values (a reward baseline's EMA, the best metric
	// so far, ...), restored bit for bit (NaN and ±Inf included).
	Scalars map[string]float64
	// Counters holds int64 values; the helpers keep optimizer step counts and
	// BatchNorm batch counts here.
	Counters map[string]int64
	// Vectors holds small host vectors (e.g. dataset-level α/β), bit for bit.
	// A nil vector reads back as an empty one.
	Vectors map[string][]float32
	// RNG holds marshalled random number generator states (see [State.AddRNG]).
	RNG map[string][]byte
	// Meta holds strings (method, configuration hash, ...); keys and values
	// must be valid UTF-8.
	Meta map[string]string
	// Tensors holds the bulk float32 tensors; the helpers put model
	// parameters, BatchNorm statistics and optimizer buffers here.
	Tensors map[string]Tensor
}

// Tensor is a float32 tensor in row-major order; len(Data) is the product of
// Shape (1 for an empty Shape).
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewState returns an empty State with every map allocated.
func NewState() *State {
	s := &State{}
	s.init()
	return s
}

func (s *State) init() {
	if s.Scalars == nil {
		s.Scalars = map[string]float64{}
	}
	if s.Counters == nil {
		s.Counters = map[string]int64{}
	}
	if s.Vectors == nil {
		s.Vectors = map[string][]float32{}
	}
	if s.RNG == nil {
		s.RNG = map[string][]byte{}
	}
	if s.Meta == nil {
		s.Meta = map[string]string{}
	}
	if s.Tensors == nil {
		s.Tensors = map[string]Tensor{}
	}
}

// key joins a prefix and the parts of a helper's key with '/'.
func key(prefix string, parts ...string) string {
	k := strings.Join(parts, "/")
	if prefix == "" {
		return k
	}
	return prefix + "/" + k
}

func checkPrefix(prefix string) error {
	if strings.Contains(prefix, "/") {
		return fmt.Errorf("checkpoint: prefix %q contains '/'", prefix)
	}
	return nil
}

// deleteUnder removes the keys of the maps that start with p.
func deleteUnder[V any](m map[string]V, p string) {
	for k := range m {
		if strings.HasPrefix(k, p) {
			delete(m, k)
		}
	}
}

// denseFloats returns the backing slice of a float32 tensor.
func denseFloats(d *tensor.Dense) ([]float32, error) {
	if d == nil {
		return nil, fmt.Errorf("the tensor is nil")
	}
	if d.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("the tensor is %v, want float32", d.Dtype())
	}
	f, ok := d.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("the tensor holds %T, want []float32", d.Data())
	}
	if len(f) != d.Shape().TotalSize() {
		return nil, fmt.Errorf("the tensor has %d values for shape %v (a view?)", len(f), d.Shape())
	}
	return f, nil
}

func sameShape(a []int, b tensor.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func bnNodes(m *importer.Model) []string {
	nodes := make([]string, 0, len(m.BN))
	for n := range m.BN {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	return nodes
}

// AddModel copies every parameter value of m (trainable or not) and the
// running statistics of its BatchNormalization layers into s under prefix,
// replacing what an earlier AddModel stored there. Call it while no graph of
// m runs.
func (s *State) AddModel(prefix string, m *importer.Model) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("checkpoint: AddModel %q: the model is nil", prefix)
	}
	s.init()
	tensors := map[string]Tensor{}
	counters := map[string]int64{}
	for _, p := range m.Params {
		f, err := denseFloats(p.Value)
		if err != nil {
			return fmt.Errorf("checkpoint: AddModel %q: parameter %q of %s: %w", prefix, p.Name, m.Source, err)
		}
		tensors[key(prefix, "param", p.Name)] = Tensor{Shape: append([]int(nil), p.Value.Shape()...), Data: append([]float32(nil), f...)}
	}
	for _, node := range bnNodes(m) {
		st := m.BN[node].State
		if st == nil {
			return fmt.Errorf("checkpoint: AddModel %q: BatchNormalization %q of %s has no state", prefix, node, m.Source)
		}
		mean, variance := st.Stats()
		tensors[key(prefix, "bn", node, "running_mean")] = Tensor{Shape: []int{len(mean)}, Data: mean}
		tensors[key(prefix, "bn", node, "running_var")] = Tensor{Shape: []int{len(variance)}, Data: variance}
		counters[key(prefix, "bn", node, "batches_tracked")] = st.BatchesTracked
	}
	deleteUnder(s.Tensors, key(prefix, "param")+"/")
	deleteUnder(s.Tensors, key(prefix, "bn")+"/")
	deleteUnder(s.Counters, key(prefix, "bn")+"/")
	for k, v := range tensors {
		s.Tensors[k] = v
	}
	for k, v := range counters {
		s.Counters[k] = v
	}
	return nil
}

// problems collects restore errors and formats the first few.
type problems []string

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

func (p problems) err(what string) error {
	if len(p) == 0 {
		return nil
	}
	const show = 8
	msg := strings.Join(p[:min(len(p), show)], "; ")
	if len(p) > show {
		msg += fmt.Sprintf("; and %d more", len(p)-show)
	}
	return fmt.Errorf("checkpoint: %s: %s", what, msg)
}

// RestoreModel copies the values AddModel stored under prefix back into m:
// into the existing parameter tensors (which every graph built from m
// shares, so graphs built before the restore see the restored weights) and
// BatchNorm states. Everything is checked before anything is written: a
// missing, mis-shaped or unexpected tensor is an error naming it, and m is
// then left unchanged. Call it while no graph of m runs.
func (s *State) RestoreModel(prefix string, m *importer.Model) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("checkpoint: RestoreModel %q: the model is nil", prefix)
	}
	what := fmt.Sprintf("restoring %q into %s", prefix, m.Source)
	type copyJob struct{ dst, src []float32 }
	var jobs []copyJob
	var bad problems
	expected := map[string]bool{}
	for _, p := range m.Params {
		k := key(prefix, "param", p.Name)
		expected[k] = true
		dst, err := denseFloats(p.Value)
		if err != nil {
			bad.add("parameter %q: %v", p.Name, err)
			continue
		}
		t, ok := s.Tensors[k]
		switch {
		case !ok:
			bad.add("parameter %q is missing (no tensor %q)", p.Name, k)
		case !sameShape(t.Shape, p.Value.Shape()) || len(t.Data) != len(dst):
			bad.add("parameter %q has shape %v (%d values) in the checkpoint, %v in the model", p.Name, t.Shape, len(t.Data), p.Value.Shape())
		default:
			jobs = append(jobs, copyJob{dst, t.Data})
		}
	}
	type bnJob struct {
		bs             *importer.BatchNormStats
		mean, variance []float32
		batches        int64
	}
	var bns []bnJob
	for _, node := range bnNodes(m) {
		bs := m.BN[node]
		if bs.State == nil {
			bad.add("BatchNormalization %q has no state", node)
			continue
		}
		channels := len(bs.State.RunningMean)
		job := bnJob{bs: bs}
		ok := true
		for _, stat := range []string{"running_mean", "running_var"} {
			k := key(prefix, "bn", node, stat)
			expected[k] = true
			t, found := s.Tensors[k]
			switch {
			case !found:
				bad.add("%s of BatchNormalization %q is missing (no tensor %q)", stat, node, k)
				ok = false
			case len(t.Shape) != 1 || t.Shape[0] != channels || len(t.Data) != channels:
				bad.add("%s of BatchNormalization %q has shape %v in the checkpoint, [%d] in the model", stat, node, t.Shape, channels)
				ok = false
			case stat == "running_mean":
				job.mean = t.Data
			default:
				for i, v := range t.Data {
					if !(v >= 0) || math.IsInf(float64(v), 1) {
						bad.add("running_var of BatchNormalization %q: value %d is %v", node, i, v)
						ok = false
						break
					}
				}
				job.variance = t.Data
			}
		}
		ck := key(prefix, "bn", node, "batches_tracked")
		n, found := s.Counters[ck]
		if !found {
			bad.add("the batch count of BatchNormalization %q is missing (no counter %q)", node, ck)
			ok = false
		}
		job.batches = n
		if ok {
			bns = append(bns, job)
		}
	}
	var extra []string
	paramP, bnP := key(prefix, "param")+"/", key(prefix, "bn")+"/"
	for k := range s.Tensors {
		if (strings.HasPrefix(k, paramP) || strings.HasPrefix(k, bnP)) && !expected[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		bad.add("the checkpoint has %q, which the model lacks", k)
	}
	if err := bad.err(what); err != nil {
		return err
	}
	for _, j := range jobs {
		copy(j.dst, j.src)
	}
	for _, j := range bns {
		if err := j.bs.State.SetStats(j.mean, j.variance); err != nil {
			return fmt.Errorf("checkpoint: %s: BatchNormalization %q: %w", what, j.bs.Node, err)
		}
		j.bs.State.BatchesTracked = j.batches
	}
	return nil
}

// AddOptimizer copies o's buffers and step count into s under prefix,
// replacing what an earlier AddOptimizer stored there.
func (s *State) AddOptimizer(prefix string, o optim.Optimizer) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	if o == nil {
		return fmt.Errorf("checkpoint: AddOptimizer %q: the optimizer is nil", prefix)
	}
	s.init()
	bufs, steps := o.State()
	p := key(prefix, "optim") + "/"
	deleteUnder(s.Tensors, p)
	deleteUnder(s.Counters, p)
	deleteUnder(s.Meta, p)
	s.Counters[key(prefix, "optim", "steps")] = steps
	s.Meta[key(prefix, "optim", "type")] = fmt.Sprintf("%T", o)
	for name, list := range bufs {
		for i, b := range list {
			s.Tensors[key(prefix, "optim", "buf", name, strconv.Itoa(i))] = Tensor{Shape: []int{len(b)}, Data: append([]float32(nil), b...)}
		}
	}
	return nil
}

// buffersPerParam is how many buffers the optimizers of package optim keep
// per parameter (0: unknown).
func buffersPerParam(o optim.Optimizer) int {
	switch o.(type) {
	case *optim.SGD:
		return 1
	case *optim.Adam:
		return 2
	}
	return 0
}

// RestoreOptimizer gives o the buffers and step count AddOptimizer stored
// under prefix. o must be of the same type as the optimizer saved. The
// buffers are passed to o.SetState without copying (the optimizers of
// package optim copy them).
func (s *State) RestoreOptimizer(prefix string, o optim.Optimizer) (err error) {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	if o == nil {
		return fmt.Errorf("checkpoint: RestoreOptimizer %q: the optimizer is nil", prefix)
	}
	what := fmt.Sprintf("restoring optimizer %q", prefix)
	stepsKey := key(prefix, "optim", "steps")
	steps, ok := s.Counters[stepsKey]
	if !ok {
		return fmt.Errorf("checkpoint: %s: no optimizer state (no counter %q)", what, stepsKey)
	}
	if typ, ok := s.Meta[key(prefix, "optim", "type")]; ok && typ != fmt.Sprintf("%T", o) {
		return fmt.Errorf("checkpoint: %s: the checkpoint holds a %s, restoring into a %T", what, typ, o)
	}
	var bad problems
	byName := map[string]map[int][]float32{}
	bp := key(prefix, "optim", "buf") + "/"
	for k, t := range s.Tensors {
		rest, ok := strings.CutPrefix(k, bp)
		if !ok {
			continue
		}
		cut := strings.LastIndexByte(rest, '/')
		var idx int
		var err error
		if cut >= 0 {
			idx, err = strconv.Atoi(rest[cut+1:])
		}
		if cut <= 0 || err != nil || idx < 0 {
			bad.add("malformed buffer name %q", k)
			continue
		}
		if len(t.Shape) != 1 || t.Shape[0] != len(t.Data) {
			bad.add("buffer %q has shape %v, want one dimension", k, t.Shape)
			continue
		}
		name := rest[:cut]
		if byName[name] == nil {
			byName[name] = map[int][]float32{}
		}
		byName[name][idx] = t.Data
	}
	want := buffersPerParam(o)
	bufs := make(map[string][][]float32, len(byName))
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := byName[name]
		list := make([][]float32, len(m))
		for i := range list {
			b, ok := m[i]
			if !ok {
				bad.add("parameter %q: buffer %d of %d is missing", name, i, len(m))
				break
			}
			list[i] = b
		}
		if want > 0 && len(m) != want {
			bad.add("parameter %q has %d buffers, a %T keeps %d", name, len(m), o, want)
		}
		bufs[name] = list
	}
	if err := bad.err(what); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("checkpoint: %s: %T.SetState failed: %v", what, o, r)
		}
	}()
	o.SetState(bufs, steps)
	return nil
}

// AddRNG stores the marshalled state of a random number generator (e.g. a
// math/rand/v2 *rand.PCG or *rand.ChaCha8) under name.
func (s *State) AddRNG(name string, r encoding.BinaryMarshaler) error {
	if r == nil {
		return fmt.Errorf("checkpoint: AddRNG %q: the generator is nil", name)
	}
	b, err := r.MarshalBinary()
	if err != nil {
		return fmt.Errorf("checkpoint: AddRNG %q: %w", name, err)
	}
	s.init()
	s.RNG[name] = b
	return nil
}

// RestoreRNG restores a generator stored by AddRNG.
func (s *State) RestoreRNG(name string, r encoding.BinaryUnmarshaler) error {
	b, ok := s.RNG[name]
	if !ok {
		return fmt.Errorf("checkpoint: RestoreRNG: no generator state %q in the checkpoint", name)
	}
	if err := r.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("checkpoint: RestoreRNG %q: %w", name, err)
	}
	return nil
}
