// Package fuzzcorpus helps fuzz targets keep their seed corpora in the
// repository: Add gives a seed to the fuzzing engine and, when the
// environment variable PGAUG_FUZZ_WRITE_SEEDS is set, also writes it to
// testdata/fuzz/<FuzzName>/<name> in the corpus file format of go test, so
// that the committed seed files are made by the package's own writers and
// can be made again:
//
//	PGAUG_FUZZ_WRITE_SEEDS=1 go test -run '^FuzzLoad$' ./trainer/checkpoint/
//
// It is imported only by tests.
package fuzzcorpus
