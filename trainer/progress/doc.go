// Package progress reports the progress of long work: an updating bar with
// rate and extra fields on a terminal, plain periodic log lines elsewhere
// (files, pipes, CI logs).
package progress
