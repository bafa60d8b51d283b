package cli

import "github.com/urfave/cli/v2"

// The command groups. Each group's commands are defined next to it, in the
// group's own file, as they are built.

func modelCommand() *cli.Command {
	return group("model", "import, inspect, verify, convert and export ONNX models",
		"Pretrained backbones arrive as ONNX, become trainable gorgonia graphs and leave as ONNX.",
		modelCommands()...)
}

func dataCommand() *cli.Command {
	return group("data", "import, inspect, split and sample Arrow datasets",
		"Datasets are Apache Arrow IPC files (a directory of them for large datasets).",
		dataCommands()...)
}

func trainCommand() *cli.Command {
	return group("train", "train classifiers: baseline, APGA, noise-mask heating, fine-tuning",
		"Every trainer reads ONNX models and Arrow datasets and writes ONNX models, a JSON-lines\n"+
			"metrics log and checkpoints into its output directory.",
		trainCommands()...)
}

func inferCommand() *cli.Command {
	return inferTopCommand() // a command with flags, not a group: see infer.go
}

func evalCommand() *cli.Command {
	return group("eval", "evaluate models: metrics, transfer probes, few-shot",
		"Metrics: accuracy, macro precision/recall/F1, AUROC, balanced accuracy, entropy.",
		evalCommands()...)
}

func pipelineCommand() *cli.Command {
	return group("pipeline", "run the whole pipeline from a config file",
		"import backbones -> heat (APGA or noise mask) -> export -> fine-tune -> infer -> report.",
		pipelineCommands()...)
}
