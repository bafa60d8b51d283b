package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary act as pgaug itself when PGAUG_TEST_AS_MAIN is set, so
// the tests below start a real process that links gorgonia and ONNX Runtime.
func TestMain(m *testing.M) {
	if os.Getenv("PGAUG_TEST_AS_MAIN") == "1" {
		os.Args = append([]string{"pgaug"}, os.Args[1:]...)
		main()
		return
	}
	code := m.Run()
	removeBinary()
	os.Exit(code)
}

func runPgaug(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "PGAUG_TEST_AS_MAIN=1"), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("starting pgaug: %v", err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

func TestBinaryStartsAndRunsAGorgoniaGraph(t *testing.T) {
	out, code := runPgaug(t, nil, "doctor")
	if code != 0 {
		t.Fatalf("pgaug doctor exited %d:\n%s", code, out)
	}
	for _, want := range []string{
		"ok    gorgonia graph  forward and gradient of a 2x3 graph match",
		"ok    ONNX Runtime    version 1.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Errorf("doctor output shows a panic:\n%s", out)
	}
}

func TestMissingORTIsOneClearError(t *testing.T) {
	out, code := runPgaug(t, []string{"PGAUG_ORT_LIB=/no/such/libonnxruntime.so"}, "doctor")
	if code == 0 {
		t.Fatalf("doctor must fail without ONNX Runtime:\n%s", out)
	}
	if !strings.Contains(out, "/no/such/libonnxruntime.so") || !strings.Contains(out, "scripts/setup.sh") {
		t.Errorf("the error must name the path and how to get the library:\n%s", out)
	}
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "SIGSEGV") {
		t.Errorf("a missing library must not panic:\n%s", out)
	}
}

func TestHelpListsTheGroups(t *testing.T) {
	out, code := runPgaug(t, nil, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, g := range []string{"model", "data", "train", "infer", "eval", "pipeline", "demo"} {
		if !strings.Contains(out, "\n   "+g+" ") {
			t.Errorf("--help does not list the %q group:\n%s", g, out)
		}
	}
	if _, code := runPgaug(t, nil, "model", "nonsense"); code != 2 {
		t.Errorf("an unknown sub-command should exit 2, got %d", code)
	}
}
