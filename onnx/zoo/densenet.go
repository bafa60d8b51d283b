package zoo

import "fmt"

// DenseNet-BC as torchvision.models.densenet builds it: growth rate 32,
// bottleneck width 4·32, 64 initial features, transitions halving the
// channels. Convolutions are bias-free with nn.init.kaiming_normal_'s
// defaults (fan_in, gain √2), BatchNorms start at 1, 0, 0, 1, and the
// classifier has PyTorch's default Linear weight and a zero bias.

const (
	denseGrowth   = 32
	denseBNSize   = 4
	denseInitFeat = 64
)

var (
	densenet121Blocks = []int{6, 12, 24, 16}
	densenet169Blocks = []int{6, 12, 32, 32}
)

func buildDenseNet(arch string, blocks []int, o Options) (*net, val) {
	n := newNet(arch, o.InChannels, o.Size)
	x := n.conv("features.conv0", n.input, denseInitFeat, 7, 2, 3, kaimingFanIn, nil)
	x = n.bn("features.norm0", x)
	x = n.relu("features.relu0", x)
	x = n.maxPool("features.pool0", x, 3, 2, 1)
	for bi, layers := range blocks {
		block := fmt.Sprintf("features.denseblock%d", bi+1)
		feats := []val{x}
		for li := 1; li <= layers; li++ {
			path := fmt.Sprintf("%s.denselayer%d", block, li)
			in := n.concat(path, feats...)
			y := n.bn(path+".norm1", in)
			y = n.relu(path+".relu1", y)
			y = n.conv(path+".conv1", y, denseBNSize*denseGrowth, 1, 1, 0, kaimingFanIn, nil)
			y = n.bn(path+".norm2", y)
			y = n.relu(path+".relu2", y)
			y = n.conv(path+".conv2", y, denseGrowth, 3, 1, 1, kaimingFanIn, nil)
			feats = append(feats, y)
		}
		x = n.concat(block, feats...)
		if bi != len(blocks)-1 {
			path := fmt.Sprintf("features.transition%d", bi+1)
			x = n.bn(path+".norm", x)
			x = n.relu(path+".relu", x)
			x = n.conv(path+".conv", x, x.c/2, 1, 1, 0, kaimingFanIn, nil)
			x = n.avgPool(path+".pool", x, 2, 2, false)
		}
	}
	x = n.bn("features.norm5", x)
	x = n.relu("", x)
	return n, n.head("classifier", x, o.Classes, true)
}
