package metrics

import (
	"fmt"
	"math"
	"sort"
)

// Report holds every metric for one evaluation.
type Report struct {
	N               int         `json:"n"`
	Classes         int         `json:"classes"`
	Accuracy        float64     `json:"accuracy"`
	BalancedAcc     float64     `json:"balanced_accuracy"`
	MacroPrecision  float64     `json:"macro_precision"`
	MacroRecall     float64     `json:"macro_recall"`
	MacroF1         float64     `json:"macro_f1"`
	AUROC           float64     `json:"auroc"`            // binary AUROC, or one-vs-one macro AUROC (as the noise-mask paper)
	AUROCOneVsRest  float64     `json:"auroc_ovr"`        // one-vs-rest macro AUROC (equals AUROC for two classes)
	MeanEntropy     float64     `json:"mean_entropy"`     // mean predictive entropy (nats)
	MeanLoss        float64     `json:"mean_loss"`        // mean cross-entropy of the true class
	ConfusionMatrix [][]int     `json:"confusion_matrix"` // [true][predicted]
	PerClass        []ClassStat `json:"per_class"`
}

// ClassStat holds one class's precision, recall, F1 and support.
type ClassStat struct {
	Precision, Recall, F1 float64
	Support               int
}

// Compute scores probabilities probs (N×K, row-major, rows summing to 1)
// against labels (N, in [0, K)).
func Compute(probs []float32, labels []int, classes int) (Report, error) {
	n := len(labels)
	if classes < 2 {
		return Report{}, fmt.Errorf("metrics: %d classes, need at least 2", classes)
	}
	if len(probs) != n*classes {
		return Report{}, fmt.Errorf("metrics: %d probabilities for %d samples × %d classes", len(probs), n, classes)
	}
	if n == 0 {
		return Report{}, fmt.Errorf("metrics: no samples")
	}
	r := Report{N: n, Classes: classes, ConfusionMatrix: make([][]int, classes), PerClass: make([]ClassStat, classes)}
	for i := range r.ConfusionMatrix {
		r.ConfusionMatrix[i] = make([]int, classes)
	}
	var entropy, lossSum float64
	for i, y := range labels {
		if y < 0 || y >= classes {
			return Report{}, fmt.Errorf("metrics: label %d of sample %d is outside [0, %d)", y, i, classes)
		}
		row := probs[i*classes : (i+1)*classes]
		pred := argmax(row)
		r.ConfusionMatrix[y][pred]++
		for _, p := range row {
			if p > 0 {
				entropy -= float64(p) * math.Log(float64(p))
			}
		}
		lossSum -= math.Log(math.Max(float64(row[y]), 1e-12))
	}
	r.MeanEntropy = entropy / float64(n)
	r.MeanLoss = lossSum / float64(n)

	correct := 0
	var recallSum, precSum, f1Sum float64
	present := 0
	for k := 0; k < classes; k++ {
		tp := r.ConfusionMatrix[k][k]
		correct += tp
		support, predicted := 0, 0
		for j := 0; j < classes; j++ {
			support += r.ConfusionMatrix[k][j]
			predicted += r.ConfusionMatrix[j][k]
		}
		cs := ClassStat{Support: support}
		if support > 0 {
			cs.Recall = float64(tp) / float64(support)
			present++
		}
		if predicted > 0 {
			cs.Precision = float64(tp) / float64(predicted)
		}
		if cs.Precision+cs.Recall > 0 {
			cs.F1 = 2 * cs.Precision * cs.Recall / (cs.Precision + cs.Recall)
		}
		r.PerClass[k] = cs
		recallSum += cs.Recall
		precSum += cs.Precision
		f1Sum += cs.F1
	}
	r.Accuracy = float64(correct) / float64(n)
	// Macro averages over all classes (scikit-learn's average="macro" with
	// zero_division=0); balanced accuracy over the classes present.
	r.MacroPrecision = precSum / float64(classes)
	r.MacroRecall = recallSum / float64(classes)
	r.MacroF1 = f1Sum / float64(classes)
	if present > 0 {
		r.BalancedAcc = recallSum / float64(present)
	}
	r.AUROC, r.AUROCOneVsRest = math.NaN(), math.NaN()
	if classes == 2 {
		scores := make([]float64, n)
		pos := make([]bool, n)
		for i, y := range labels {
			scores[i] = float64(probs[i*2+1])
			pos[i] = y == 1
		}
		r.AUROC = BinaryAUROC(scores, pos)
		r.AUROCOneVsRest = r.AUROC
	} else {
		r.AUROC = oneVsOne(probs, labels, classes)
		r.AUROCOneVsRest = oneVsRest(probs, labels, classes)
	}
	return r, nil
}

func argmax(row []float32) int {
	best := 0
	for k, p := range row {
		if p > row[best] {
			best = k
		}
	}
	return best
}

// BinaryAUROC is the area under the ROC curve of scores for the positives
// (the Mann–Whitney statistic with ties counted half). NaN when one class is absent.
func BinaryAUROC(scores []float64, positive []bool) float64 {
	type sp struct {
		s   float64
		pos bool
	}
	v := make([]sp, len(scores))
	np, nn := 0, 0
	for i, s := range scores {
		v[i] = sp{s, positive[i]}
		if positive[i] {
			np++
		} else {
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return math.NaN()
	}
	sort.Slice(v, func(a, b int) bool { return v[a].s < v[b].s })
	// Sum of the (mid-)ranks of the positives.
	var rankSum float64
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && v[j].s == v[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if v[k].pos {
				rankSum += mid
			}
		}
		i = j
	}
	return (rankSum - float64(np)*float64(np+1)/2) / (float64(np) * float64(nn))
}

// oneVsRest: macro average over classes of the AUROC of p_k for class k vs the rest.
func oneVsRest(probs []float32, labels []int, classes int) float64 {
	var sum float64
	count := 0
	for k := 0; k < classes; k++ {
		scores := make([]float64, len(labels))
		pos := make([]bool, len(labels))
		for i, y := range labels {
			scores[i] = float64(probs[i*classes+k])
			pos[i] = y == k
		}
		if a := BinaryAUROC(scores, pos); !math.IsNaN(a) {
			sum += a
			count++
		}
	}
	if count == 0 {
		return math.NaN()
	}
	return sum / float64(count)
}

// oneVsOne is Hand & Till's macro average over class pairs (as scikit-learn's
// roc_auc_score(multi_class="ovo")): for each pair (j, k) the mean of the
// AUROC of p_j separating j from k and of p_k separating k from j, on the
// samples of those two classes.
func oneVsOne(probs []float32, labels []int, classes int) float64 {
	var sum float64
	count := 0
	for j := 0; j < classes; j++ {
		for k := j + 1; k < classes; k++ {
			var sj, sk []float64
			var posJ, posK []bool
			for i, y := range labels {
				if y != j && y != k {
					continue
				}
				sj = append(sj, float64(probs[i*classes+j]))
				posJ = append(posJ, y == j)
				sk = append(sk, float64(probs[i*classes+k]))
				posK = append(posK, y == k)
			}
			a, b := BinaryAUROC(sj, posJ), BinaryAUROC(sk, posK)
			if math.IsNaN(a) || math.IsNaN(b) {
				continue
			}
			sum += (a + b) / 2
			count++
		}
	}
	if count == 0 {
		return math.NaN()
	}
	return sum / float64(count)
}

// Aggregate averages the probability rows of samples sharing a group id
// (e.g. the images of one MURA study) and returns one row and label per group,
// in order of first appearance. Samples of one group must share a label.
func Aggregate(probs []float32, labels []int, groups []string, classes int) ([]float32, []int, []string, error) {
	if len(groups) != len(labels) || len(probs) != len(labels)*classes {
		return nil, nil, nil, fmt.Errorf("metrics: %d groups, %d labels and %d probabilities do not match (%d classes)", len(groups), len(labels), len(probs), classes)
	}
	index := map[string]int{}
	var order []string
	var sums [][]float64
	var counts []int
	var glabels []int
	for i, g := range groups {
		k, ok := index[g]
		if !ok {
			k = len(order)
			index[g] = k
			order = append(order, g)
			sums = append(sums, make([]float64, classes))
			counts = append(counts, 0)
			glabels = append(glabels, labels[i])
		} else if glabels[k] != labels[i] {
			return nil, nil, nil, fmt.Errorf("metrics: group %q has samples labelled %d and %d", g, glabels[k], labels[i])
		}
		for c := 0; c < classes; c++ {
			sums[k][c] += float64(probs[i*classes+c])
		}
		counts[k]++
	}
	out := make([]float32, len(order)*classes)
	for k := range order {
		for c := 0; c < classes; c++ {
			out[k*classes+c] = float32(sums[k][c] / float64(counts[k]))
		}
	}
	return out, glabels, order, nil
}

// Softmax converts logits (N×K) into probabilities, row by row.
func Softmax(logits []float32, classes int) []float32 {
	out := make([]float32, len(logits))
	for i := 0; i+classes <= len(logits); i += classes {
		row := logits[i : i+classes]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for k, v := range row {
			e := math.Exp(float64(v - m))
			out[i+k] = float32(e)
			s += e
		}
		for k := range row {
			out[i+k] = float32(float64(out[i+k]) / s)
		}
	}
	return out
}
