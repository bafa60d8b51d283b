package zoo

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// initKind is how a parameter tensor is initialised.
type initKind uint8

const (
	initConst   initKind = iota // every element a
	initNormal                  // N(0, a²)
	initUniform                 // U(−a, a)
)

// initSpec is an initialisation: a constant, a normal with standard
// deviation a, or a uniform on (−a, a).
type initSpec struct {
	kind initKind
	a    float64
}

func constInit(v float64) initSpec { return initSpec{initConst, v} }

// fans returns PyTorch's fan_in and fan_out of a weight of the given dims
// (torch.nn.init._calculate_fan_in_and_fan_out): dims[1]·receptive field and
// dims[0]·receptive field. For a ConvTranspose weight (Cin, Cout, k, k) this
// makes fan_in = Cout·k·k, as PyTorch computes it.
func fans(dims []int64) (fanIn, fanOut int64) {
	receptive := int64(1)
	for _, d := range dims[2:] {
		receptive *= d
	}
	return dims[1] * receptive, dims[0] * receptive
}

// kaimingFanOut is nn.init.kaiming_normal_(w, mode="fan_out",
// nonlinearity="relu"): N(0, 2/fan_out), torchvision's ResNet and VGG
// convolutions.
func kaimingFanOut(dims []int64) initSpec {
	_, out := fans(dims)
	return initSpec{initNormal, math.Sqrt(2 / float64(out))}
}

// kaimingFanIn is nn.init.kaiming_normal_(w) with its defaults (mode
// "fan_in", leaky_relu with a=0, so gain √2): N(0, 2/fan_in), torchvision's
// DenseNet convolutions.
func kaimingFanIn(dims []int64) initSpec {
	in, _ := fans(dims)
	return initSpec{initNormal, math.Sqrt(2 / float64(in))}
}

// torchDefault is PyTorch's default initialisation of Linear, Conv2d and
// ConvTranspose2d weights and biases (kaiming_uniform_ with a=√5 for the
// weight, and the same bound for the bias): U(−1/√fan_in, 1/√fan_in) with the
// weight's fan_in.
func torchDefault(weightDims []int64) initSpec {
	in, _ := fans(weightDims)
	return initSpec{initUniform, 1 / math.Sqrt(float64(in))}
}

// streamID derives a parameter's random stream from its name, so that each
// tensor's values depend only on the seed and the name: adding a layer or
// changing the class count leaves every other tensor unchanged.
func streamID(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// fill returns n values drawn as spec says from the stream of (seed, name).
func fill(name string, n int, spec initSpec, seed uint64) []float32 {
	out := make([]float32, n)
	switch spec.kind {
	case initConst:
		if spec.a != 0 {
			for i := range out {
				out[i] = float32(spec.a)
			}
		}
	case initNormal:
		rng := rand.New(rand.NewPCG(seed, streamID(name)))
		for i := range out {
			out[i] = float32(rng.NormFloat64() * spec.a)
		}
	case initUniform:
		rng := rand.New(rand.NewPCG(seed, streamID(name)))
		for i := range out {
			out[i] = float32((2*rng.Float64() - 1) * spec.a)
		}
	}
	return out
}
