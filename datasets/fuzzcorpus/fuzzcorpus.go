package fuzzcorpus

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EnvWrite names the environment variable that makes Add write seed files.
const EnvWrite = "PGAUG_FUZZ_WRITE_SEEDS"

// MaxSeedBytes bounds a written seed file: committed corpora stay small.
const MaxSeedBytes = 100 << 10

// Add adds a seed (the fuzz function's arguments after *testing.T: []byte,
// string, bool, int, int64, uint8 or uint64 values) to f and, when
// PGAUG_FUZZ_WRITE_SEEDS is set, writes it to testdata/fuzz/<f.Name()>/<name>
// (relative to the package directory, where go test runs).
func Add(f *testing.F, name string, args ...any) {
	f.Helper()
	f.Add(args...)
	if os.Getenv(EnvWrite) == "" {
		return
	}
	data, err := Encode(args...)
	if err != nil {
		f.Fatalf("seed %s: %v", name, err)
	}
	if len(data) > MaxSeedBytes {
		f.Fatalf("seed %s is %d bytes, more than the %d a committed seed may have", name, len(data), MaxSeedBytes)
	}
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		f.Fatal(err)
	}
}

// Encode returns args in the corpus file format of go test ("go test fuzz
// v1" and one typed literal a line).
func Encode(args ...any) ([]byte, error) {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		case int64:
			fmt.Fprintf(&b, "int64(%d)\n", v)
		case uint8:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", v)
		default:
			return nil, fmt.Errorf("unsupported seed argument type %T", a)
		}
	}
	return []byte(b.String()), nil
}
