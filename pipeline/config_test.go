package pipeline

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRunConfigFileFlagsAndRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(p, []byte("dir = \"x\"\nmethods = [\"apga\", \"cutout\"]\n[data]\npath = \"d.arrow\"\nper_class = 100\n[apga]\nepochs = 7\npreset = \"reference\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadRunConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != "x" || !reflect.DeepEqual(c.Methods, []string{"apga", "cutout"}) || c.Data.PerClass != 100 || c.APGA.Epochs != 7 || c.APGA.Preset != "reference" {
		t.Fatalf("decoded %+v", c)
	}
	if c.APGA.Batch != DefaultRunConfig().APGA.Batch {
		t.Fatal("keys absent from the file must keep their defaults")
	}
	// Flags override the file: every key by its section.key name.
	for k, v := range map[string]string{"apga.epochs": "3", "seeds": "4,5", "apga.tta": "true", "noisemask.blur_sigma": "1.5", "data.path": "e.arrow"} {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Get(k); got != v {
			t.Fatalf("%s = %q after setting %q", k, got, v)
		}
	}
	if err := c.Set("apga.epochs", "many"); err == nil || !strings.Contains(err.Error(), "apga.epochs") {
		t.Fatalf("a bad value must name its key: %v", err)
	}
	if err := c.Set("apga.epoch", "3"); err == nil {
		t.Fatal("an unknown key must be refused")
	}
	// The written config reads back the same.
	out := filepath.Join(dir, "out.toml")
	if err := c.WriteTOML(out); err != nil {
		t.Fatal(err)
	}
	back, err := LoadRunConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	c.Version, back.Version = "", ""
	if !reflect.DeepEqual(c, back) {
		t.Fatalf("round trip:\n%+v\n%+v", c, back)
	}
	// Unknown keys in a file are named.
	if err := os.WriteFile(p, []byte("[apga]\nepoch = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRunConfig(p); err == nil || !strings.Contains(err.Error(), "apga.epoch") {
		t.Fatalf("unknown key: %v", err)
	}
	// Every key has a help text.
	for _, k := range ConfigKeys() {
		if k.Help == "" {
			t.Errorf("key %s has no help", k.Name)
		}
	}
	if err := (RunConfig{Dir: "x", Data: DataSection{Path: "d"}, Methods: []string{"magic"}}).check(); err == nil {
		t.Error("an unknown method must be refused")
	}
}
