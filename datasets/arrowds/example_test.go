package arrowds_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/datasets/arrowds"
)

// Write a small dataset, then open it and read one image.
func Example() {
	dir, _ := os.MkdirTemp("", "arrowds-example-")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "tiny")

	meta := arrowds.Metadata{Name: "tiny", Task: arrowds.Binary, Classes: []string{"normal", "abnormal"},
		Channels: 1, PixelType: arrowds.Uint8, Licence: "CC0-1.0"}
	w, err := arrowds.Create(out, arrowds.WriterOptions{Meta: meta})
	if err != nil {
		log.Fatal(err)
	}
	for i, split := range []string{"train", "train", "val"} {
		err := w.Write(&arrowds.Sample{
			ID: fmt.Sprintf("img-%d", i), Source: "example", Split: split, Label: int32(i % 2),
			Image: arrowds.Image{Height: 2, Width: 2, Channels: 1, Pix: []uint8{0, 64, 128, uint8(255 - i)}},
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil { // the dataset appears here, atomically
		log.Fatal(err)
	}

	d, err := arrowds.Open(out)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	m := d.Meta()
	fmt.Println(d.Len(), "rows;", m.Task, m.Classes, "; train rows:", d.Indices("train"))
	var im arrowds.Image
	if err := d.ReadImage(1, &im); err != nil {
		log.Fatal(err)
	}
	r := d.Row(1)
	fmt.Println(r.ID, m.Classes[r.Label], im.Height, im.Width, im.Pix)
	// Output:
	// 3 rows; binary [normal abnormal] ; train rows: [0 1]
	// img-1 abnormal 2 2 [0 64 128 254]
}
