package onnxio_test

import (
	"os"
	"path/filepath"
	"testing"
)

// conformanceDir returns the ONNX conformance test data directory
// (shared/onnx-conformance beside or inside the checkout), skipping the test
// when it is absent.
func conformanceDir(t testing.TB) string {
	t.Helper()
	dir := findConformanceDir()
	if dir == "" {
		t.Skip("ONNX conformance data (shared/onnx-conformance) not found beside or inside the checkout")
	}
	return dir
}

// findConformanceDir looks for shared/onnx-conformance inside and beside the
// module root; it returns "" when there is none.
func findConformanceDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			for _, c := range []string{filepath.Join(dir, "shared"), filepath.Join(dir, "..", "shared")} {
				p := filepath.Join(c, "onnx-conformance")
				if st, err := os.Stat(p); err == nil && st.IsDir() {
					return p
				}
			}
			return ""
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// nodeTest returns the directory of one conformance node test.
func nodeTest(t testing.TB, name string) string {
	return filepath.Join(conformanceDir(t), "node", name)
}
