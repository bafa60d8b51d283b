package spatial

import (
	"testing"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

// The executor hands each operator the buffer it wrote on the run before:
// the convolution's forward pass, input gradient and weight gradient must
// write every element of a used destination (optest fills it with NaNs),
// under every strategy and with image batching.
func TestConvUsePreallocDo(t *testing.T) {
	for i, cc := range convCases {
		t.Run(cc.name, func(t *testing.T) {
			a, err := resolveConv("Conv", cc.p, [2]int{cc.h, cc.w}, [2]int{cc.kh, cc.kw})
			if err != nil {
				t.Fatal(err)
			}
			in := cc.inputs(uint64(700 + 10*i))
			g := geomOf(a, cc)
			dy := dense(randData(uint64(800+i), g.n*g.smlSz()), g.n, g.o, g.oh, g.ow)
			outPad := [2]int{g.h - ((g.oh-1)*g.sh + g.effH() - g.pt - g.pb), g.w - ((g.ow-1)*g.sw + g.effW() - g.pl - g.pr)}
			strategies(t, func(t *testing.T) {
				if cc.bias {
					optest.CheckPrealloc(t, &convOp{a: a, bias: true}, in[0], in[1], in[2])
				} else {
					optest.CheckPrealloc(t, &convOp{a: a}, in[0], in[1])
				}
				optest.CheckPrealloc(t, &convTransposeOp{a: a, outPad: outPad}, dy, in[1])
				optest.CheckPrealloc(t, &convWeightGradOp{a: a}, in[0], dy)
			})
		})
	}
}

// geomOf is the geometry of a case's forward pass.
func geomOf(a attrs, cc convCase) geom {
	oh := (cc.h+a.pt+a.pb-((cc.kh-1)*a.dh+1))/a.sh + 1
	ow := (cc.w+a.pl+a.pr-((cc.kw-1)*a.dw+1))/a.sw + 1
	return geom{attrs: a, n: cc.n, c: cc.c, h: cc.h, w: cc.w, o: cc.o, oh: oh, ow: ow}
}
