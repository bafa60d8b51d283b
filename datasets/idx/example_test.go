package idx_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/pgaug/pgaug/datasets/idx"
)

func ExampleReader_Next() {
	// Two 2x2 images, as in train-images-idx3-ubyte.
	file := []byte{0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8}
	r, err := idx.NewReader(bytes.NewReader(file))
	if err != nil {
		log.Fatal(err)
	}
	img := make([]uint8, r.Header().RecordSize())
	for r.Remaining() > 0 {
		if err := r.Next(img); err != nil {
			log.Fatal(err)
		}
		fmt.Println(img)
	}
	// Output:
	// [1 2 3 4]
	// [5 6 7 8]
}
