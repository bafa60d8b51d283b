package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
)

// Clear removes the numbered checkpoints and the named extras, and nothing
// else.
func TestClearRemovesOnlyCheckpoints(t *testing.T) {
	dir := t.TempDir()
	for _, step := range []int64{3, 10} {
		s := sampleState()
		s.Step = step
		if _, err := Save(dir, s, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := SaveAs(filepath.Join(dir, "best.pgck"), sampleState()); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Clear(dir, "best.pgck", "missing.pgck"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "notes.txt" {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("after Clear %s holds %v, want only notes.txt", dir, names)
	}
	if err := Clear(filepath.Join(dir, "absent")); err != nil {
		t.Fatalf("clearing a missing directory: %v", err)
	}
}
