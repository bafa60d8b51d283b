package npy_test

import (
	"fmt"
	"log"

	"github.com/pgaug/pgaug/datasets/npy"
)

// Stream the label array of a MedMNIST archive.
func ExampleNPZ_Open() {
	a, err := npy.OpenNPZ("testdata/tiny.npz")
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	r, closer, err := a.Open("train_labels")
	if err != nil {
		log.Fatal(err)
	}
	defer closer.Close()
	labels, err := r.ReadAllInt64(1 << 20)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Names(), r.Header(), labels)
	// Output: [train_images train_labels] uint8 (3, 1) [0 1 1]
}
