// Package fit runs the plain supervised training loop shared by the
// trainers: epochs over a datasets/loader.Loader, an optimizer step per batch
// with a learning-rate schedule, evaluation on a validation loader each
// epoch with the metrics of package metrics, progress lines and a JSON-lines
// metrics log.
package fit
