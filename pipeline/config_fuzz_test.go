package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/fuzzcorpus"
)

// FuzzLoadRunConfig writes arbitrary bytes as a TOML config and loads it
// as `pgaug pipeline run` and `pgaug experiment` do. LoadRunConfig must
// return a configuration or an error naming the file, never panic; a
// configuration it accepts must survive every key's Get, the checks and
// each method's variant, and write (WriteTOML) and load back the same.
func FuzzLoadRunConfig(f *testing.F) {
	var def bytes.Buffer
	if err := DefaultRunConfig().EncodeTOML(&def); err != nil {
		f.Fatal(err)
	}
	fuzzcorpus.Add(f, "defaults", def.Bytes())
	fuzzcorpus.Add(f, "variants", []byte("dir = \"x\"\nmethods = [\"apga\", \"noisemask@gauss\"]\nseeds = [4, 5]\n[data]\npath = \"d.arrow\"\nper_class = 100\n"+
		"[apga]\nepochs = 7\npreset = \"reference\"\n[noisemask]\nblur_sigma = 1.5\n[variants.gauss]\n\"noisemask.noise\" = \"gaussian\"\n\"finetune.epochs\" = \"3\"\n"))
	fuzzcorpus.Add(f, "unknown-key", []byte("[data]\npath = \"d.arrow\"\nbogus = 1\n[nosuchsection]\nx = 2\n"))
	fuzzcorpus.Add(f, "wrong-type", []byte("seed = \"one\"\n[baseline]\nlr = [1, 2]\n"))
	fuzzcorpus.Add(f, "truncated", def.Bytes()[:def.Len()/3])
	if exps, err := filepath.Glob(filepath.Join("..", "scripts", "experiments", "*.toml")); err == nil {
		for _, p := range exps {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.toml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadRunConfig(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("the error does not name the file %s: %v", path, err)
			}
			return
		}
		for _, k := range ConfigKeys() {
			if _, ok := c.Get(k.Name); !ok {
				t.Fatalf("key %s has no value", k.Name)
			}
		}
		_ = c.check() // may refuse, must not panic
		for _, m := range c.Methods {
			c.ForMethod(m)
		}
		var first bytes.Buffer
		if err := c.EncodeTOML(&first); err != nil {
			t.Fatalf("a loaded configuration does not encode: %v", err)
		}
		again := filepath.Join(t.TempDir(), "again.toml")
		if err := c.WriteTOML(again); err != nil {
			t.Fatalf("WriteTOML: %v", err)
		}
		c2, err := LoadRunConfig(again)
		if err != nil {
			t.Fatalf("a written configuration does not load: %v\n%s", err, first.String())
		}
		var second bytes.Buffer
		if err := c2.EncodeTOML(&second); err != nil {
			t.Fatal(err)
		}
		if first.String() != second.String() {
			t.Fatalf("the configuration changed in a write and load:\n%s\n----\n%s", first.String(), second.String())
		}
	})
}
