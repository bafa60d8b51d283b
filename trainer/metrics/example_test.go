package metrics_test

import (
	"fmt"

	"github.com/pgaug/pgaug/trainer/metrics"
)

// Scoring six predictions of a binary classifier on an imbalanced set. probs
// holds one row of class probabilities per sample; the predicted class is the
// larger one. Balanced accuracy is the mean recall: (4/4 + 1/2)/2. AUROC ranks
// the class-1 scores: 7 of the 8 positive–negative pairs are ordered right.
func ExampleCompute() {
	probs := []float32{
		0.9, 0.1, // label 0, right
		0.8, 0.2, // label 0, right
		0.7, 0.3, // label 0, right
		0.6, 0.4, // label 0, right
		0.1, 0.9, // label 1, right
		0.65, 0.35, // label 1, wrong
	}
	labels := []int{0, 0, 0, 0, 1, 1}
	r, err := metrics.Compute(probs, labels, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accuracy %.4f, balanced %.4f, macro F1 %.4f, AUROC %.4f\n",
		r.Accuracy, r.BalancedAcc, r.MacroF1, r.AUROC)
	fmt.Println("confusion [true][predicted]:", r.ConfusionMatrix)
	for k, c := range r.PerClass {
		fmt.Printf("class %d: precision %.4f recall %.4f support %d\n", k, c.Precision, c.Recall, c.Support)
	}
	// Output:
	// accuracy 0.8333, balanced 0.7500, macro F1 0.7778, AUROC 0.8750
	// confusion [true][predicted]: [[4 0] [1 1]]
	// class 0: precision 0.8000 recall 1.0000 support 4
	// class 1: precision 1.0000 recall 0.5000 support 2
}

// Three classes: the AUROC is the one-vs-one macro average, AUROCOneVsRest
// the one-vs-rest one.
func ExampleCompute_multiclass() {
	probs := []float32{
		0.7, 0.2, 0.1,
		0.5, 0.4, 0.1,
		0.2, 0.6, 0.2,
		0.3, 0.3, 0.4,
		0.1, 0.2, 0.7,
		0.2, 0.5, 0.3,
	}
	labels := []int{0, 0, 1, 1, 2, 2}
	r, err := metrics.Compute(probs, labels, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accuracy %.4f, macro F1 %.4f\n", r.Accuracy, r.MacroF1)
	fmt.Printf("AUROC ovo %.4f, ovr %.4f\n", r.AUROC, r.AUROCOneVsRest)
	fmt.Println(r.ConfusionMatrix)
	// Output:
	// accuracy 0.6667, macro F1 0.6667
	// AUROC ovo 0.8750, ovr 0.8750
	// [[2 0 0] [0 1 1] [0 1 1]]
}

// A MURA study is scored from the mean of its images' probabilities:
// Aggregate averages the rows of each group before Compute.
func ExampleAggregate() {
	probs := []float32{
		0.8, 0.2, // study A, image 1
		0.4, 0.6, // study A, image 2
		0.3, 0.7, // study B, image 1
		0.6, 0.4, // study A, image 3
	}
	labels := []int{0, 0, 1, 0}
	groups := []string{"A", "A", "B", "A"}
	p, l, g, err := metrics.Aggregate(probs, labels, groups, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range g {
		fmt.Printf("study %s: label %d, probabilities %.4f %.4f\n", g[i], l[i], p[2*i], p[2*i+1])
	}
	r, _ := metrics.Compute(p, l, 2)
	fmt.Printf("study accuracy %.4f\n", r.Accuracy)
	// Output:
	// study A: label 0, probabilities 0.6000 0.4000
	// study B: label 1, probabilities 0.3000 0.7000
	// study accuracy 1.0000
}

// BinaryAUROC counts the positive–negative pairs ranked correctly, ties as
// half: here 3 of the 4 pairs.
func ExampleBinaryAUROC() {
	scores := []float64{0.1, 0.6, 0.4, 0.8}
	positive := []bool{false, false, true, true}
	fmt.Printf("%.4f\n", metrics.BinaryAUROC(scores, positive))
	// Output: 0.7500
}

// Softmax turns a batch of logits (N×K) into probabilities.
func ExampleSoftmax() {
	p := metrics.Softmax([]float32{0, 0, 1, 2, 0, 0}, 2)
	for i := 0; i < len(p); i += 2 {
		fmt.Printf("%.4f %.4f\n", p[i], p[i+1])
	}
	// Output:
	// 0.5000 0.5000
	// 0.2689 0.7311
	// 0.5000 0.5000
}
