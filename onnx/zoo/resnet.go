package zoo

import "fmt"

// ResNets as torchvision.models.resnet builds them (v1.5: the stride sits
// on the 3×3 convolution of a bottleneck), and timm's resnet10t. Every
// convolution is bias-free with Kaiming-normal (fan_out, ReLU)
// initialisation, every BatchNorm starts at weight 1, bias 0, mean 0,
// variance 1, and fc has PyTorch's default Linear initialisation.

type resnetSpec struct {
	bottleneck bool
	layers     [4]int
	tieredStem bool // resnet10t: 3×3 convs 24, 32, 64 instead of one 7×7
	avgDown    bool // resnet10t: AvgPool + 1×1 conv downsampling
}

var (
	resnet10tSpec = resnetSpec{layers: [4]int{1, 1, 1, 1}, tieredStem: true, avgDown: true}
	resnet18Spec  = resnetSpec{layers: [4]int{2, 2, 2, 2}}
	resnet50Spec  = resnetSpec{bottleneck: true, layers: [4]int{3, 4, 6, 3}}
)

func buildResNet(arch string, spec resnetSpec, o Options) (*net, val) {
	n := newNet(arch, o.InChannels, o.Size)
	x := n.input
	if spec.tieredStem {
		// timm's "deep tiered" stem; PyTorch names: conv1.0 .. conv1.6.
		x = n.conv("conv1.0", x, 24, 3, 2, 1, kaimingFanOut, nil)
		x = n.bn("conv1.1", x)
		x = n.relu("conv1.2", x)
		x = n.conv("conv1.3", x, 32, 3, 1, 1, kaimingFanOut, nil)
		x = n.bn("conv1.4", x)
		x = n.relu("conv1.5", x)
		x = n.conv("conv1.6", x, 64, 3, 1, 1, kaimingFanOut, nil)
	} else {
		x = n.conv("conv1", x, 64, 7, 2, 3, kaimingFanOut, nil)
	}
	x = n.bn("bn1", x)
	x = n.relu("relu", x)
	x = n.maxPool("maxpool", x, 3, 2, 1)
	for li, blocks := range spec.layers {
		planes := 64 << li
		for bi := 0; bi < blocks; bi++ {
			stride := 1
			if li > 0 && bi == 0 {
				stride = 2
			}
			path := fmt.Sprintf("layer%d.%d", li+1, bi)
			if spec.bottleneck {
				x = bottleneck(n, path, x, planes, stride)
			} else {
				x = basicBlock(n, path, x, planes, stride, spec.avgDown)
			}
		}
	}
	return n, n.head("fc", x, o.Classes, false)
}

// downsample is the shortcut projection of a block's first layer: a strided
// 1×1 conv + BN (torchvision), or AvgPool(2, ceil) + 1×1 conv + BN (timm's
// avg_down; its modules are numbered 0 pool, 1 conv, 2 bn).
func downsample(n *net, path string, x val, out, stride int, avgDown bool) val {
	if avgDown {
		if stride > 1 {
			x = n.avgPool(path+".0", x, 2, stride, true)
		}
		x = n.conv(path+".1", x, out, 1, 1, 0, kaimingFanOut, nil)
		return n.bn(path+".2", x)
	}
	x = n.conv(path+".0", x, out, 1, stride, 0, kaimingFanOut, nil)
	return n.bn(path+".1", x)
}

func basicBlock(n *net, path string, x val, planes, stride int, avgDown bool) val {
	identity := x
	y := n.conv(path+".conv1", x, planes, 3, stride, 1, kaimingFanOut, nil)
	y = n.bn(path+".bn1", y)
	y = n.relu(path+".relu", y)
	y = n.conv(path+".conv2", y, planes, 3, 1, 1, kaimingFanOut, nil)
	y = n.bn(path+".bn2", y)
	if stride != 1 || x.c != planes {
		identity = downsample(n, path+".downsample", x, planes, stride, avgDown)
	}
	y = n.add(path, y, identity)
	return n.relu(path+".relu", y)
}

func bottleneck(n *net, path string, x val, planes, stride int) val {
	const expansion = 4
	identity := x
	y := n.conv(path+".conv1", x, planes, 1, 1, 0, kaimingFanOut, nil)
	y = n.bn(path+".bn1", y)
	y = n.relu(path+".relu", y)
	y = n.conv(path+".conv2", y, planes, 3, stride, 1, kaimingFanOut, nil)
	y = n.bn(path+".bn2", y)
	y = n.relu(path+".relu", y)
	y = n.conv(path+".conv3", y, planes*expansion, 1, 1, 0, kaimingFanOut, nil)
	y = n.bn(path+".bn3", y)
	if stride != 1 || x.c != planes*expansion {
		identity = downsample(n, path+".downsample", x, planes*expansion, stride, false)
	}
	y = n.add(path, y, identity)
	return n.relu(path+".relu", y)
}
