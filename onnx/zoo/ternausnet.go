package zoo

import "fmt"

// TernausNet-11 (Iglovikov & Shvets 2018): a U-Net whose encoder is
// torchvision's VGG11 feature extractor (names encoder.0 .. encoder.18,
// Kaiming-normal fan_out/ReLU weights and zero biases as torchvision's VGG
// initialises them) and whose decoder blocks are a 3×3 conv + ReLU and a
// stride-2 transposed conv + ReLU, with PyTorch's default initialisation.
// The output is one channel through a sigmoid at the input resolution.

const ternausFilters = 32

func vggInit(dims []int64) initSpec { return kaimingFanOut(dims) }

var zeroBias = constInit(0)

func buildTernausNet(arch string, o Options) (*net, val) {
	n := newNet(arch, o.InChannels, o.Size)
	enc := func(idx int, x val, cout int) val {
		x = n.conv(fmt.Sprintf("encoder.%d", idx), x, cout, 3, 1, 1, vggInit, &zeroBias)
		return n.relu(fmt.Sprintf("encoder.%d", idx+1), x)
	}
	pool := func(x val) val { return n.maxPool("pool", x, 2, 2, 0) }
	convRelu := func(path string, x val, cout int) val {
		dims := []int64{int64(cout), int64(x.c), 3, 3}
		bias := torchDefault(dims)
		x = n.conv(path+".conv", x, cout, 3, 1, 1, torchDefault, &bias)
		return n.relu(path+".activation", x)
	}
	decoder := func(path string, x val, mid, out int) val {
		x = convRelu(path+".block.0", x, mid)
		x = n.convTranspose(path+".block.1", x, out, 3, 2, 1, 1)
		return n.relu(path+".block.2", x)
	}
	f := ternausFilters
	conv1 := enc(0, n.input, 64)
	conv2 := enc(3, pool(conv1), 128)
	conv3s := enc(6, pool(conv2), 256)
	conv3 := enc(8, conv3s, 256)
	conv4s := enc(11, pool(conv3), 512)
	conv4 := enc(13, conv4s, 512)
	conv5s := enc(16, pool(conv4), 512)
	conv5 := enc(18, conv5s, 512)
	center := decoder("center", pool(conv5), f*8*2, f*8)
	dec5 := decoder("dec5", n.concat("", center, conv5), f*8*2, f*8)
	dec4 := decoder("dec4", n.concat("", dec5, conv4), f*8*2, f*4)
	dec3 := decoder("dec3", n.concat("", dec4, conv3), f*4*2, f*2)
	dec2 := decoder("dec2", n.concat("", dec3, conv2), f*2*2, f)
	dec1 := convRelu("dec1", n.concat("", dec2, conv1), f)
	dims := []int64{1, int64(f), 1, 1}
	bias := torchDefault(dims)
	out := n.conv("final", dec1, 1, 1, 1, 0, torchDefault, &bias)
	out = n.unary("", "Sigmoid", out)
	return n, n.rename(out, ProbabilityName)
}
