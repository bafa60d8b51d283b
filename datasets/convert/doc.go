// Package convert imports image-classification data into pgaug's Arrow
// dataset format (see package arrowds): MedMNIST .npz archives, folders of
// class sub-folders, CSV lists of path,label, IDX files (Fashion-MNIST),
// MURA's image-path lists, and the synthetic generator.
//
// Every importer streams: one image is in memory at a time (file importers
// decode a few ahead on worker goroutines, keeping the output order), and the
// output appears atomically when the import succeeds. A row that cannot be
// read is an error naming the file and the row or entry and what was
// expected; with Options.SkipBad it is counted, reported in Result.Problems
// and skipped instead.
package convert
