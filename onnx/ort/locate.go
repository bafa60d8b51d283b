package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// EnvVar is the environment variable that names the ONNX Runtime library.
const EnvVar = "PGAUG_ORT_LIB"

// LocalLibPath is where scripts/setup.sh puts the library, relative to the
// project root.
const LocalLibPath = ".deps/onnxruntime/libonnxruntime.so.1"

// HowToGet is appended to every "library not found" error.
const HowToGet = "run scripts/setup.sh (it installs ONNX Runtime 1.30 into " + LocalLibPath +
	"), or point --ort-lib / " + EnvVar + " at a libonnxruntime.so of version 1.20 or later " +
	"(a CUDA build enables --device cuda)"

// Source says where a library path came from.
type Source string

// The places a library path can come from.
const (
	FromFlag  Source = "--ort-lib"
	FromEnv   Source = EnvVar
	FromLocal Source = "project-local default"
)

// Locate returns the library path to use: explicit (if not empty), then the
// environment variable, then the project-local default.
func Locate(explicit string) (string, Source, error) {
	if explicit != "" {
		return explicit, FromFlag, checkFile(explicit, FromFlag)
	}
	if p := os.Getenv(EnvVar); p != "" {
		return p, FromEnv, checkFile(p, FromEnv)
	}
	var tried []string
	for _, start := range searchRoots() {
		for dir := start; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, LocalLibPath)
			if _, err := os.Stat(p); err == nil {
				return p, FromLocal, nil
			}
			tried = append(tried, p)
			if parent := filepath.Dir(dir); parent == dir {
				break
			}
		}
	}
	return "", FromLocal, fmt.Errorf("ONNX Runtime library not found (no %s flag, %s unset, none of %s exists): %s",
		FromFlag, EnvVar, strings.Join(tried, ", "), HowToGet)
}

func searchRoots() []string {
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			roots = append(roots, filepath.Dir(exe))
		}
	}
	return roots
}

func checkFile(p string, src Source) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("ONNX Runtime library %q (from %s): %w; %s", p, src, err, HowToGet)
	}
	if st.IsDir() {
		return fmt.Errorf("ONNX Runtime library %q (from %s) is a directory, expected the libonnxruntime.so file; %s", p, src, HowToGet)
	}
	return nil
}

var (
	initMu   sync.Mutex
	initPath string
)

// ErrAlreadyLoaded is returned by Init when a different library was loaded
// earlier in this process (ONNX Runtime can be loaded once per process).
var ErrAlreadyLoaded = errors.New("another ONNX Runtime library is already loaded in this process")

// Init locates and loads ONNX Runtime once per process. Later calls with the
// same resolved path are no-ops; it returns the path that was loaded.
func Init(explicit string) (string, error) {
	p, src, err := Locate(explicit)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	initMu.Lock()
	defer initMu.Unlock()
	if onnxruntime.IsInitialized() {
		if abs == initPath {
			return abs, nil
		}
		return "", fmt.Errorf("loading %q: %w (%q)", abs, ErrAlreadyLoaded, initPath)
	}
	onnxruntime.SetSharedLibraryPath(abs)
	if err := onnxruntime.InitializeEnvironment(onnxruntime.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("loading ONNX Runtime library %q (from %s): %v; %s", abs, src, err, HowToGet)
	}
	initPath = abs
	return abs, nil
}

// Version returns the loaded ONNX Runtime's version string ("" before Init).
func Version() string {
	if !onnxruntime.IsInitialized() {
		return ""
	}
	return onnxruntime.GetVersion()
}
