// Package infer runs an ONNX classifier over an Arrow dataset with ONNX
// Runtime and writes its predictions as an Arrow IPC file: one row per
// dataset row, in dataset order, with the row's id, its row index, its
// label (null when the dataset has none), the predicted class and the
// softmax probabilities of every class. When the dataset is labelled, Run
// also scores the predictions (trainer/metrics).
//
// The loader's workers decode and transform the next batches while ONNX
// Runtime runs the current one, and the session writes its logits straight
// into a reused buffer. bench_test.go (scripts/bench_infer.sh) compares the
// whole path with a bare ONNX Runtime loop over ready-made batches: for
// networks whose per-image cost dwarfs decoding (ResNet-18, DenseNet-169)
// the batch loop keeps pace with the bare loop once the session has warmed
// up; what remains is one-time cost (creating the session, ONNX Runtime's
// slower first runs). For tiny networks decoding itself competes with the
// session for the CPU.
//
// With test-time augmentation (Config.TTA) a policy network, a segmentation
// network with one sigmoid channel at the input resolution, marks the
// pixels that matter; the masked input x ⊙ (P > 0.5) is classified too and
// the prediction is the mean of the two softmax distributions.
//
// Predictions files are written under a hidden temporary name in the
// output's directory and renamed into place when complete, so a failed or
// interrupted run never leaves a half-written file. ReadPredictions reads
// one back.
package infer
