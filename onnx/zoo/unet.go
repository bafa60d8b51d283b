package zoo

import "fmt"

// A light U-Net for small images and fast CPU runs (pgaug's own): three
// encoder levels of two 3×3 conv + ReLU (16, 32, 64 channels) with 2×2 max
// pooling, a 128-channel centre, and a decoder of stride-2 transposed
// convolutions + ReLU followed, after concatenating the skip connection, by
// two 3×3 conv + ReLU, as TernausNet's decoder; one sigmoid channel at the
// input resolution. PyTorch's default initialisation throughout. It stands in
// for TernausNet-11 as the APGA policy where 23 M parameters are too many.
func buildSmallUNet(arch string, o Options) (*net, val) {
	n := newNet(arch, o.InChannels, o.Size)
	convRelu := func(path string, x val, cout int) val {
		dims := []int64{int64(cout), int64(x.c), 3, 3}
		bias := torchDefault(dims)
		x = n.conv(path+".conv", x, cout, 3, 1, 1, torchDefault, &bias)
		return n.relu(path+".relu", x)
	}
	double := func(path string, x val, cout int) val {
		return convRelu(path+".1", convRelu(path+".0", x, cout), cout)
	}
	pool := func(x val) val { return n.maxPool("pool", x, 2, 2, 0) }
	up := func(path string, x val, cout int) val {
		return n.relu(path+".relu", n.convTranspose(path+".up", x, cout, 3, 2, 1, 1))
	}
	widths := []int{16, 32, 64}
	var skips []val
	x := n.input
	for i, w := range widths {
		x = double(fmt.Sprintf("enc%d", i+1), x, w)
		skips = append(skips, x)
		x = pool(x)
	}
	x = double("center", x, 2*widths[len(widths)-1])
	for i := len(widths) - 1; i >= 0; i-- {
		path := fmt.Sprintf("dec%d", i+1)
		x = up(path, x, widths[i])
		x = double(path, n.concat("", x, skips[i]), widths[i])
	}
	dims := []int64{1, int64(widths[0]), 1, 1}
	bias := torchDefault(dims)
	out := n.conv("final", x, 1, 1, 1, 0, torchDefault, &bias)
	out = n.unary("", "Sigmoid", out)
	return n, n.rename(out, ProbabilityName)
}
