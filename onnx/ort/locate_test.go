package ort

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocateOrder(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "libonnxruntime.so")
	if err := os.WriteFile(lib, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, lib)
	if p, src, err := Locate(""); err != nil || p != lib || src != FromEnv {
		t.Fatalf("env: got %q %q %v", p, src, err)
	}
	other := filepath.Join(dir, "other.so")
	os.WriteFile(other, []byte("x"), 0o644)
	if p, src, err := Locate(other); err != nil || p != other || src != FromFlag {
		t.Fatalf("flag must win over env: got %q %q %v", p, src, err)
	}
}

func TestLocateMissingSaysHowToGetIt(t *testing.T) {
	t.Setenv(EnvVar, "/nonexistent/libonnxruntime.so")
	_, _, err := Locate("")
	if err == nil {
		t.Fatal("want an error for a missing library")
	}
	for _, want := range []string{"/nonexistent/libonnxruntime.so", EnvVar, "scripts/setup.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, _, err := Locate(t.TempDir()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a directory must be refused clearly, got %v", err)
	}
}

func TestInitRefusesNonLibraryWithoutPanic(t *testing.T) {
	bogus := filepath.Join(t.TempDir(), "libonnxruntime.so")
	if err := os.WriteFile(bogus, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Init(bogus)
	if err == nil {
		t.Fatal("loading a non-library must fail")
	}
	if !strings.Contains(err.Error(), bogus) || !strings.Contains(err.Error(), "scripts/setup.sh") {
		t.Errorf("error should name the file and say how to get a library: %v", err)
	}
}

// TestInitLoadsProjectLibrary needs the library scripts/setup.sh installs.
func TestInitLoadsProjectLibrary(t *testing.T) {
	t.Setenv(EnvVar, "")
	p, err := Init("")
	if err != nil {
		t.Fatalf("%v", err)
	}
	if !strings.HasPrefix(Version(), "1.") {
		t.Fatalf("loaded %s but version is %q", p, Version())
	}
	if p2, err := Init(""); err != nil || p2 != p {
		t.Fatalf("second Init: %q %v", p2, err)
	}
}
