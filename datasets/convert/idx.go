package convert

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/idx"
)

// FashionMNISTClasses are Fashion-MNIST's class names.
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// IDXOptions configures IDX.
type IDXOptions struct {
	// Classes names the labels 0..K-1; empty: Fashion-MNIST's names when the
	// directory's name mentions "fashion", else "0".."K-1".
	Classes []string
}

var idxImages = regexp.MustCompile(`^(train|t10k|test|val)-images[.-]idx3-ubyte(\.gz)?$`)

// IDX imports the IDX image/label file pairs of a directory
// (train-images-idx3-ubyte[.gz] with train-labels-idx1-ubyte[.gz], and the
// same for t10k / test / val), as MNIST and Fashion-MNIST ship them.
// train becomes the train split, t10k and test the test split.
func IDX(dir string, xo IDXOptions, opts Options) (Result, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return Result{}, err
	}
	type pair struct{ split, images, labels string }
	var pairs []pair
	for _, e := range ents {
		m := idxImages.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		lab := ""
		for _, cand := range []string{m[1] + "-labels-idx1-ubyte" + m[2], m[1] + "-labels.idx1-ubyte" + m[2],
			m[1] + "-labels-idx1-ubyte", m[1] + "-labels-idx1-ubyte.gz"} {
			if _, err := os.Stat(filepath.Join(dir, cand)); err == nil {
				lab = cand
				break
			}
		}
		if lab == "" {
			return Result{}, fmt.Errorf("%s: %s has no matching %s-labels-idx1-ubyte file", dir, e.Name(), m[1])
		}
		sp, _ := normSplit(m[1])
		pairs = append(pairs, pair{sp, filepath.Join(dir, e.Name()), filepath.Join(dir, lab)})
	}
	if len(pairs) == 0 {
		return Result{}, fmt.Errorf("%s: no <train|t10k|test|val>-images-idx3-ubyte[.gz] files", dir)
	}
	// Labels first (small): they fix the classes and the total.
	labels := make([][]uint8, len(pairs))
	maxLabel, total := 0, 0
	for i, p := range pairs {
		labels[i], err = readIDXLabels(p.labels)
		if err != nil {
			return Result{}, err
		}
		for _, v := range labels[i] {
			maxLabel = max(maxLabel, int(v))
		}
		total += len(labels[i])
	}
	name := filepath.Base(filepath.Clean(dir))
	if name == "." || name == "/" {
		name = "idx"
	}
	classes := xo.Classes
	meta := arrowds.Metadata{Name: name, Channels: 1, PixelType: arrowds.Uint8, Source: "IDX files in " + name}
	if len(classes) == 0 && strings.Contains(strings.ToLower(dir), "fashion") {
		classes = FashionMNISTClasses
		meta.Licence = "MIT"
		meta.Attribution = "Xiao, H., Rasul, K., Vollgraf, R. Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms (2017), Zalando Research"
	}
	if len(classes) == 0 {
		for c := 0; c <= max(maxLabel, 1); c++ {
			classes = append(classes, strconv.Itoa(c))
		}
	}
	meta.Classes, meta.Task = classes, taskFor(len(classes))
	s, err := newSink(opts, meta, arrowds.Columns{}, total)
	if err != nil {
		return Result{}, err
	}
	s.src = dir
	for i, p := range pairs {
		if err := idxPart(p.images, p.labels, p.split, name, labels[i], s); err != nil {
			return s.close(err)
		}
	}
	return s.close(nil)
}

func readIDXLabels(path string) ([]uint8, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := idx.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer r.Close()
	if len(r.Header().Dims) != 1 {
		return nil, fmt.Errorf("%s: labels have dimensions %v, want one (N)", path, r.Header().Dims)
	}
	n := r.Header().Records()
	st, _ := f.Stat()
	if st != nil && !strings.HasSuffix(path, ".gz") && int64(n) > st.Size() {
		return nil, fmt.Errorf("%s: header declares %d labels in a %d-byte file", path, n, st.Size())
	}
	out := make([]uint8, 0, min(n, 1<<24))
	one := make([]uint8, 1)
	for len(out) < n {
		if err := r.Next(one); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, one[0])
	}
	return out, nil
}

func idxPart(imPath, labPath, split, name string, labels []uint8, s *sink) error {
	f, err := os.Open(imPath)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := idx.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", imPath, err)
	}
	defer r.Close()
	h := r.Header()
	if len(h.Dims) != 3 {
		return fmt.Errorf("%s: images have dimensions %v, want three (N, height, width)", imPath, h.Dims)
	}
	if h.Records() != len(labels) {
		return fmt.Errorf("%s has %d images but %s has %d labels", imPath, h.Records(), labPath, len(labels))
	}
	nc := len(s.res.Meta.Classes)
	for i := 0; i < h.Records(); i++ {
		smp := &arrowds.Sample{
			ID:     fmt.Sprintf("%s-%s-%05d", name, split, i),
			Source: fmt.Sprintf("%s[%d]", filepath.Base(imPath), i),
			Split:  split,
			Image:  arrowds.Image{Height: h.Dims[1], Width: h.Dims[2], Channels: 1, Pix: make([]uint8, h.Dims[1]*h.Dims[2])},
			Label:  int32(labels[i]),
		}
		if err := r.Next(smp.Pix); err != nil {
			return fmt.Errorf("%s: image %d: %w", imPath, i, err)
		}
		where := fmt.Sprintf("%s, record %d", labPath, i)
		if int(labels[i]) >= nc {
			if err := s.bad(where, fmt.Errorf("label %d out of range [0,%d)", labels[i], nc)); err != nil {
				return err
			}
			continue
		}
		if err := s.add(where, smp); err != nil {
			return err
		}
	}
	return nil
}
