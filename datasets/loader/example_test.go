package loader_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/datasets/transform"
)

// Train-time loading: a shuffled split, augmentation, NCHW float32 batches.
func Example() {
	dir, _ := os.MkdirTemp("", "loader-example-")
	defer os.RemoveAll(dir)
	cfg := synthetic.Default() // 600 images of 32x32, two classes
	if _, err := convert.Synthetic(cfg, convert.Options{Out: filepath.Join(dir, "synth")}); err != nil {
		log.Fatal(err)
	}
	ds, err := arrowds.Open(filepath.Join(dir, "synth"))
	if err != nil {
		log.Fatal(err)
	}
	defer ds.Close()

	aug, err := transform.Parse("randomresizedcrop=28:0.6-1,hflip=0.5,channels=3,normalize=0.5:0.25")
	if err != nil {
		log.Fatal(err)
	}
	l, err := loader.New(ds, loader.Config{Split: "train", BatchSize: 64, Shuffle: true, Seed: 1, DropLast: true, Transform: aug})
	if err != nil {
		log.Fatal(err)
	}
	for epoch := 0; epoch < 2; epoch++ {
		it := l.Epoch(context.Background(), epoch)
		n := 0
		for {
			b, err := it.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				log.Fatal(err)
			}
			if n == 0 {
				fmt.Printf("epoch %d: batch %dx%dx%dx%d, %d labels, first id %s\n", epoch, b.N, b.C, b.H, b.W, len(b.Labels), b.IDs[0])
			}
			n++
			b.Release()
		}
		it.Close()
		fmt.Println("batches:", n)
	}
	// Output:
	// epoch 0: batch 64x3x28x28, 64 labels, first id synthetic-000573
	// batches: 6
	// epoch 1: batch 64x3x28x28, 64 labels, first id synthetic-000083
	// batches: 6
}
