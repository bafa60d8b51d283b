package zoo

import "fmt"

// smallcnn: three 3×3 conv-BN-ReLU blocks (16, 32, 64 channels, a 2×2 max
// pool after the first two), global average pooling and a Linear layer:
// about 24k parameters, fast enough for tests and demos. Initialised like a
// torchvision ResNet (Kaiming-normal fan_out convs, BN 1/0, default Linear).

var smallCNNWidths = []int{16, 32, 64}

func buildSmallCNN(arch string, o Options) (*net, val) {
	n := newNet(arch, o.InChannels, o.Size)
	x := n.input
	for i, c := range smallCNNWidths {
		k := i + 1
		x = n.conv(fmt.Sprintf("conv%d", k), x, c, 3, 1, 1, kaimingFanOut, nil)
		x = n.bn(fmt.Sprintf("bn%d", k), x)
		x = n.relu(fmt.Sprintf("relu%d", k), x)
		if i < len(smallCNNWidths)-1 {
			x = n.maxPool(fmt.Sprintf("pool%d", k), x, 2, 2, 0)
		}
	}
	return n, n.head("fc", x, o.Classes, false)
}
