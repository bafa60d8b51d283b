// Pgaug trains medical-image classifiers with policy-gradient augmentation:
// APGA (a segmentation policy's adversarial masks augment the classifier
// 1:1) and the policy-gradient Beta noise mask (which "heats" a classifier,
// then fine-tuned on clean images). Pretrained backbones are imported from
// ONNX, trained as gorgonia graphs, exported back to ONNX and run with ONNX
// Runtime; datasets are Apache Arrow IPC files.
//
// Usage:
//
//	pgaug [--ort-lib libonnxruntime.so] command [subcommand] [options]
//
// The commands:
//
//	model       inspect, verify (against ONNX Runtime), roundtrip, zoo, head, convert
//	data        import (medmnist, folder, csv, idx, mura, synthetic), inspect, split, sample, stats
//	train       baseline (none, cutout, gradcam, cutmix), apga, noisemask, finetune
//	infer       batch inference with ONNX Runtime (CPU or CUDA) to an Arrow predictions file
//	eval        metrics (ONNX Runtime), transfer (frozen-feature probes, few-shot)
//	pipeline    run CONFIG.toml: import → baseline → heat → fine-tune → infer → report; keys
//	experiment  the pipeline over methods × seeds: mean ± std and 95% intervals
//	demo        the built-in end-to-end demo on synthetic data (no downloads)
//	doctor      check that gorgonia, the BLAS and ONNX Runtime load and work
//
// For example:
//
//	pgaug train baseline --model zoo:resnet18 --data d.arrow -o runs/base --epochs 30
//	pgaug train apga --classifier runs/base/classifier.onnx --policy zoo:ternausnet11 --data d.arrow -o runs/apga
//	pgaug train noisemask --classifier zoo:resnet50 --policy zoo:resnet10t --data d.arrow -o runs/heat
//	pgaug train finetune --model runs/heat/classifier.onnx --data d.arrow -o runs/ft
//	pgaug infer --model runs/ft/classifier.onnx --data d.arrow --split test -o pred.arrow
//	pgaug experiment my.toml --seeds 1,2,3
//
// Every trainer writes a run directory: classifier.onnx (and policy.onnx),
// metrics.jsonl, summary.json and checkpoints; --resume continues a killed
// run exactly. 'pgaug COMMAND --help' describes each command's options and
// 'pgaug pipeline keys' lists the configuration keys. The ONNX Runtime
// library is --ort-lib, else $PGAUG_ORT_LIB, else
// .deps/onnxruntime/libonnxruntime.so.1 in the project.
package main
