// Package metrics computes the classification metrics both papers report,
// from predicted class probabilities and true labels: accuracy, balanced
// accuracy, macro precision/recall/F1, AUROC (binary; one-vs-one and
// one-vs-rest macro averages for several classes), mean predictive entropy
// and the confusion matrix. Aggregate averages the probabilities of the
// images of one study (MURA) before scoring.
package metrics
