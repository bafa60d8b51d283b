package heat

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/pgaug/pgaug/trainer/blas"
)

// The paper and reinforce losses train bit for bit as they did before the
// scaled loss and the parameter bound were added: five steps' values, both
// networks' parameters and the dataset-level parameters hash to what the
// code gave then, per BLAS build (recorded on amd64).
func TestPaperAndReinforceUnchanged(t *testing.T) {
	want := map[string]map[string]string{
		"openblas": {LossPaper: "745852bbb5ddf39dd74e838c2f32ef917bda5ee8e83bd8388a0eee989acb8189",
			LossReinforce: "65b8d792b91fbec6778869d444747aa4a2fc77c57aad2ea32a8e0a423f052c09"},
		"gonum (pure Go)": {LossPaper: "2874bc7a9cb4c33d56a88c5c7a693859c58d2d34cab8dda231c71d5bb2458a54",
			LossReinforce: "0a8b0afdc1224e919484efe59b02e2826c0b618c5adfedb22a2e3b863a4a9231"},
	}[blas.Name()]
	if want == nil || runtime.GOARCH != "amd64" {
		t.Skipf("no recorded hashes for the %s build on %s", blas.Name(), runtime.GOARCH)
	}
	// The values the steps reported before; later ones are not hashed.
	keys := []string{"loss", "objective", "policy_loss", "policy_lr", "mask_mean", "alpha_mean", "beta_mean", "policy_grad_norm", "paper_loss", "advantage"}
	for _, lossName := range []string{LossPaper, LossReinforce} {
		m := newMethod(t, lossName, 3)
		rng := rand.New(rand.NewPCG(1, 2))
		h := sha256.New()
		put := func(v float64) { _ = binary.Write(h, binary.LittleEndian, math.Float64bits(v)) }
		for i := 0; i < 5; i++ {
			vals, err := m.TrainStep(context.Background(), batch(rng, 8), 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if v, ok := vals[k]; ok {
					fmt.Fprint(h, k)
					put(v)
				}
			}
		}
		for _, net := range []string{"classifier", "policy"} {
			nt := m.Classifier
			if net == "policy" {
				nt = m.Policy
			}
			fmt.Fprint(h, net)
			ps, err := nt.Params([]int{8, 1, side, side})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				fmt.Fprint(h, p.Name)
				for _, v := range p.Value {
					put(float64(v))
				}
			}
		}
		for _, v := range append(append([]float32(nil), m.Dataset.A...), m.Dataset.B...) {
			put(float64(v))
		}
		got := fmt.Sprintf("%x", h.Sum(nil))
		switch {
		case got == want[lossName]:
		case blas.Name() == "openblas":
			// OpenBLAS picks its kernels by CPU, and their rounding with
			// them; the pure-Go build's hash holds on any amd64 machine.
			t.Skipf("%s: hash %s, recorded %s on another CPU's OpenBLAS kernels; run the check in the pure-Go build (go test without -tags openblas)", lossName, got, want[lossName])
		default:
			t.Errorf("%s (%s build): hash %s, recorded %s", lossName, blas.Name(), got, want[lossName])
		}
	}
}
