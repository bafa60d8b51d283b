// Package pipeline puts the stages together; the CLI commands are thin
// wrappers over its functions.
//
//   - Train (plain training and the Cutout, Grad-CAM and CutMix baselines),
//     TrainAPGA, TrainNoiseMask (heating) and Finetune train from ONNX files
//     (or zoo networks) and an Arrow dataset into a run directory:
//     classifier.onnx (policy.onnx), metrics.jsonl, checkpoints/, figures.
//   - Evaluate scores an ONNX classifier with ONNX Runtime.
//   - RunPipeline runs import → converge → each method → inference → report
//     in stages that a re-run skips when done; Experiment repeats it over
//     seeds and tabulates mean ± std and 95% intervals; Demo runs it on
//     synthetic data.
//
// Sub-packages: infer (batch inference with ONNX Runtime), transfer
// (frozen-feature probes and few-shot evaluation), report (PNG figures and
// the HTML page).
package pipeline
