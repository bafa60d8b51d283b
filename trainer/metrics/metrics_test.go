package metrics

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// A 3-class case worked by hand. Predictions (argmax) vs labels:
// labels 0 0 1 1 2 2 ; predicted 0 1 1 1 2 0
// confusion [[1,1,0],[0,2,0],[1,0,1]]
// recall: 1/2, 1, 1/2 → macro 2/3; precision: 1/2, 2/3, 1 → macro 13/18
// F1: 1/2, 4/5, 2/3 → macro (0.5+0.8+0.6666667)/3 = 0.6555556; accuracy 4/6.
func TestThreeClassByHand(t *testing.T) {
	probs := []float32{
		0.7, 0.2, 0.1,
		0.3, 0.6, 0.1,
		0.1, 0.8, 0.1,
		0.2, 0.5, 0.3,
		0.1, 0.2, 0.7,
		0.5, 0.1, 0.4,
	}
	labels := []int{0, 0, 1, 1, 2, 2}
	r, err := Compute(probs, labels, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{1, 1, 0}, {0, 2, 0}, {1, 0, 1}}
	for i := range want {
		for j := range want[i] {
			if r.ConfusionMatrix[i][j] != want[i][j] {
				t.Fatalf("confusion %v, want %v", r.ConfusionMatrix, want)
			}
		}
	}
	checks := map[string][2]float64{
		"accuracy":  {r.Accuracy, 4.0 / 6},
		"balanced":  {r.BalancedAcc, 2.0 / 3},
		"precision": {r.MacroPrecision, 13.0 / 18},
		"recall":    {r.MacroRecall, 2.0 / 3},
		"f1":        {r.MacroF1, (0.5 + 0.8 + 2.0/3) / 3},
	}
	for name, c := range checks {
		if !near(c[0], c[1]) {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
}

// Binary AUROC by hand: positives scored 0.9, 0.4; negatives 0.5, 0.1, 0.4.
// Pairs (pos > neg): 0.9 beats all 3; 0.4 beats 0.1, ties 0.4 (½), loses to 0.5
// → (3 + 1.5) / 6 = 0.75.
func TestBinaryAUROCWithTies(t *testing.T) {
	a := BinaryAUROC([]float64{0.9, 0.4, 0.5, 0.1, 0.4}, []bool{true, true, false, false, false})
	if !near(a, 0.75) {
		t.Fatalf("AUROC %v, want 0.75", a)
	}
	if !math.IsNaN(BinaryAUROC([]float64{1, 2}, []bool{true, true})) {
		t.Fatal("AUROC with no negatives must be NaN")
	}
}

// A perfect ranking gives AUROC 1 for every averaging; entropy of uniform rows is ln K.
func TestPerfectAndUniform(t *testing.T) {
	probs := []float32{0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8}
	r, err := Compute(probs, []int{0, 1, 2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.AUROC, 1) || !near(r.AUROCOneVsRest, 1) || r.Accuracy != 1 {
		t.Fatalf("perfect predictions: %+v", r)
	}
	u := []float32{0.5, 0.5, 0.5, 0.5}
	r, err = Compute(u, []int{0, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.MeanEntropy, math.Log(2)) || !near(r.AUROC, 0.5) {
		t.Fatalf("uniform: entropy %v AUROC %v", r.MeanEntropy, r.AUROC)
	}
}

func TestAggregateByStudy(t *testing.T) {
	probs := []float32{0.9, 0.1, 0.5, 0.5, 0.2, 0.8}
	p, l, g, err := Aggregate(probs, []int{0, 0, 1}, []string{"s1", "s1", "s2"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 2 || g[0] != "s1" || l[0] != 0 || l[1] != 1 || math.Abs(float64(p[0])-0.7) > 1e-6 || math.Abs(float64(p[3])-0.8) > 1e-6 {
		t.Fatalf("got %v %v %v", p, l, g)
	}
	if _, _, _, err := Aggregate(probs, []int{0, 1, 1}, []string{"s1", "s1", "s2"}, 2); err == nil {
		t.Fatal("a study with two labels must be an error")
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Compute([]float32{1, 0}, []int{2}, 2); err == nil {
		t.Fatal("label out of range must be an error")
	}
	if _, err := Compute([]float32{1}, []int{0}, 2); err == nil {
		t.Fatal("wrong probability count must be an error")
	}
}
