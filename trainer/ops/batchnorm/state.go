package batchnorm

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Mode selects how BatchNorm normalises.
type Mode int32

// Modes.
const (
	// Train normalises with the batch statistics (biased variance) and
	// updates the running statistics in the forward pass.
	Train Mode = iota
	// Eval normalises with the running statistics and leaves them alone.
	Eval
	// Frozen is Eval for BatchNorm: a network trained with its BatchNorm
	// layers frozen (fine-tuning) sets Frozen so that other layers can still
	// tell training from evaluation.
	Frozen
	// Recount normalises with the batch statistics, as Train, but leaves the
	// running statistics alone: for a training pass over a batch whose
	// statistics a Train pass has already counted (a policy step that
	// recomputes, with gradients, the forward pass its sample came from; in
	// PyTorch both are one pass).
	Recount
)

func (m Mode) String() string {
	switch m {
	case Train:
		return "train"
	case Eval:
		return "eval"
	case Frozen:
		return "frozen"
	case Recount:
		return "recount"
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// ModeFlag is a mode shared by the BatchNorm operators of a network. Switch
// it between runs of a machine (not during one): the operators read it every
// time they run, so no graph needs rebuilding and no statistics are reset
// (gorgonia's own BatchNorm resets them whenever a machine is made).
type ModeFlag struct{ v atomic.Int32 }

// NewModeFlag returns a flag set to m.
func NewModeFlag(m Mode) *ModeFlag {
	f := new(ModeFlag)
	f.v.Store(int32(m))
	return f
}

// Set switches the mode.
func (f *ModeFlag) Set(m Mode) { f.v.Store(int32(m)) }

// Mode returns the current mode.
func (f *ModeFlag) Mode() Mode { return Mode(f.v.Load()) }

// State is the persistent state of one BatchNorm layer: its running
// statistics, epsilon and momentum. It lives outside any graph, so that the
// graphs built for different batch sizes share it and an exporter can read
// it. The operators update it under a lock; read it with [State.Stats] (or
// directly while no machine runs).
//
// Momentum follows PyTorch: after each training batch
//
//	running = (1 − Momentum)·running + Momentum·batch
//
// with the unbiased batch variance for the running variance (the biased one
// normalises the batch). ONNX's BatchNormalization momentum attribute is the
// weight of the old value instead (running = momentum·running +
// (1 − momentum)·batch): convert with [MomentumFromONNX] and
// [MomentumToONNX]. PyTorch's default 0.1 is ONNX's 0.9.
type State struct {
	RunningMean []float32
	RunningVar  []float32
	Epsilon     float64 // added to the variance (ONNX and PyTorch default 1e-5)
	Momentum    float64 // PyTorch convention, in [0, 1]
	// BatchesTracked counts training batches (PyTorch's num_batches_tracked).
	BatchesTracked int64

	mu sync.Mutex
}

// Defaults of ONNX and PyTorch.
const (
	DefaultEpsilon  = 1e-5
	DefaultMomentum = 0.1 // PyTorch convention; ONNX's default attribute is 0.9
)

// NewState returns the state of a fresh layer: running mean 0, running
// variance 1.
func NewState(channels int, epsilon, momentum float64) *State {
	s := &State{
		RunningMean: make([]float32, channels),
		RunningVar:  make([]float32, channels),
		Epsilon:     epsilon,
		Momentum:    momentum,
	}
	for i := range s.RunningVar {
		s.RunningVar[i] = 1
	}
	return s
}

// MomentumFromONNX converts an ONNX momentum attribute (weight of the running
// value) to the PyTorch convention used by [State] (weight of the batch).
func MomentumFromONNX(onnxMomentum float64) float64 { return 1 - onnxMomentum }

// MomentumToONNX converts a [State] momentum to the ONNX attribute.
func MomentumToONNX(momentum float64) float64 { return 1 - momentum }

// Stats returns copies of the running statistics.
func (s *State) Stats() (mean, variance []float32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]float32(nil), s.RunningMean...), append([]float32(nil), s.RunningVar...)
}

// SetStats copies running statistics (e.g. imported from ONNX) into the state.
func (s *State) SetStats(mean, variance []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(mean) != len(s.RunningMean) || len(variance) != len(s.RunningVar) {
		return fmt.Errorf("BatchNorm: SetStats got %d means and %d variances, the state has %d channels", len(mean), len(variance), len(s.RunningMean))
	}
	for i, v := range variance {
		if !(v >= 0) {
			return fmt.Errorf("BatchNorm: SetStats: variance %d is %v, want >= 0", i, v)
		}
	}
	copy(s.RunningMean, mean)
	copy(s.RunningVar, variance)
	return nil
}

func (s *State) validate(channels int) error {
	if s == nil {
		return fmt.Errorf("BatchNorm: state is nil")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.RunningMean) != channels || len(s.RunningVar) != channels {
		return fmt.Errorf("BatchNorm: state has %d running means and %d running variances, want %d (the channels of the input)",
			len(s.RunningMean), len(s.RunningVar), channels)
	}
	if !(s.Epsilon > 0) || math.IsInf(s.Epsilon, 0) {
		return fmt.Errorf("BatchNorm: epsilon is %v, want > 0", s.Epsilon)
	}
	if !(s.Momentum >= 0 && s.Momentum <= 1) {
		return fmt.Errorf("BatchNorm: momentum is %v, want in [0, 1] (PyTorch convention; ONNX's attribute m is 1 − m here)", s.Momentum)
	}
	return nil
}
