package convert

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/npy"
)

// medFlag describes one 2-D MedMNIST dataset (from MedMNIST v2's INFO).
type medFlag struct {
	task    arrowds.Task
	classes []string
	licence string
	source  string
}

const medAttribution = "MedMNIST v2: Yang, J. et al. MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image classification. Scientific Data 10, 41 (2023)"

var organs = []string{"bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left", "lung-right", "pancreas", "spleen"}

var medFlags = map[string]medFlag{
	"pathmnist": {arrowds.Multiclass, []string{"adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle",
		"normal colon mucosa", "cancer-associated stroma", "colorectal adenocarcinoma epithelium"}, "CC BY 4.0",
		"Kather et al., NCT-CRC-HE-100K (2019)"},
	"chestmnist": {arrowds.Multilabel, []string{"atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule",
		"pneumonia", "pneumothorax", "consolidation", "edema", "emphysema", "fibrosis", "pleural", "hernia"}, "CC0 1.0",
		"Wang et al., NIH ChestX-ray14 (2017)"},
	"dermamnist": {arrowds.Multiclass, []string{"actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
		"benign keratosis-like lesions", "dermatofibroma", "melanoma", "melanocytic nevi", "vascular lesions"}, "CC BY-NC 4.0",
		"Tschandl et al., HAM10000 (2018)"},
	"octmnist": {arrowds.Multiclass, []string{"choroidal neovascularization", "diabetic macular edema", "drusen", "normal"},
		"CC BY 4.0", "Kermany et al., retinal OCT images (2018)"},
	"pneumoniamnist": {arrowds.Binary, []string{"normal", "pneumonia"}, "CC BY 4.0",
		"Kermany et al., pediatric chest X-ray images (2018)"},
	"retinamnist": {arrowds.Multiclass, []string{"0", "1", "2", "3", "4"}, "CC BY 4.0",
		"Liu et al., DeepDRiD (2022); ordinal grades treated as classes"},
	"breastmnist": {arrowds.Binary, []string{"malignant", "normal, benign"}, "CC BY 4.0",
		"Al-Dhabyani et al., breast ultrasound images (2020)"},
	"bloodmnist": {arrowds.Multiclass, []string{"basophil", "eosinophil", "erythroblast",
		"immature granulocytes(myelocytes, metamyelocytes and promyelocytes)", "lymphocyte", "monocyte", "neutrophil", "platelet"},
		"CC BY 4.0", "Acevedo et al., peripheral blood cell images (2020)"},
	"tissuemnist": {arrowds.Multiclass, []string{"Collecting Duct, Connecting Tubule", "Distal Convoluted Tubule",
		"Glomerular endothelial cells", "Interstitial endothelial cells", "Leukocytes", "Podocytes",
		"Proximal Tubule Segments", "Thick Ascending Limb"}, "CC BY 4.0", "Woloshuk et al., kidney cortex cells (2021)"},
	"organamnist": {arrowds.Multiclass, organs, "CC BY 4.0", "Bilic et al., LiTS (2019); Xu et al. (2019), axial view"},
	"organcmnist": {arrowds.Multiclass, organs, "CC BY 4.0", "Bilic et al., LiTS (2019); Xu et al. (2019), coronal view"},
	"organsmnist": {arrowds.Multiclass, organs, "CC BY 4.0", "Bilic et al., LiTS (2019); Xu et al. (2019), sagittal view"},
}

// MedMNISTOptions configures MedMNIST.
type MedMNISTOptions struct {
	// Flag names the MedMNIST dataset (pneumoniamnist, chestmnist, ...);
	// empty: taken from the file name (e.g. pneumoniamnist_224.npz).
	Flag string
}

var sizeSuffix = regexp.MustCompile(`_(\d+)$`)

// MedMNIST imports a MedMNIST .npz file (any image size of a 2-D dataset;
// entries {train,val,test}_{images,labels}). Class names, task and licence
// come from MedMNIST's description of the flag; an unknown flag gets
// classes "0".."K-1" from the labels.
func MedMNIST(path string, mo MedMNISTOptions, opts Options) (Result, error) {
	a, err := npy.OpenNPZ(path)
	if err != nil {
		return Result{}, err
	}
	defer a.Close()
	flag := strings.ToLower(mo.Flag)
	if flag == "" {
		flag = sizeSuffix.ReplaceAllString(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), "")
		flag = strings.ToLower(flag)
	}
	info, known := medFlags[flag]

	type part struct {
		split         string
		n, h, w, c, k int
		labels        []int64
	}
	var parts []part
	total := 0
	multi := false
	maxLabel := int64(0)
	for _, split := range arrowds.Splits {
		imName, lbName := split+"_images", split+"_labels"
		if !a.Has(imName) && !a.Has(lbName) {
			continue
		}
		ih, err := a.Header(imName)
		if err != nil {
			return Result{}, err
		}
		p := part{split: split}
		switch {
		case len(ih.Shape) == 3:
			p.n, p.h, p.w, p.c = ih.Shape[0], ih.Shape[1], ih.Shape[2], 1
		case len(ih.Shape) == 4 && ih.Shape[3] == 3:
			p.n, p.h, p.w, p.c = ih.Shape[0], ih.Shape[1], ih.Shape[2], 3
		case len(ih.Shape) == 4:
			return Result{}, fmt.Errorf("%s: entry %s.npy is %s: a 3-D volume (MedMNIST 3-D flags are not supported); want (N, H, W) or (N, H, W, 3)", path, imName, ih)
		default:
			return Result{}, fmt.Errorf("%s: entry %s.npy is %s; want (N, H, W) or (N, H, W, 3)", path, imName, ih)
		}
		if ih.Kind != 'u' || ih.ItemSize != 1 {
			return Result{}, fmt.Errorf("%s: entry %s.npy is %s; want uint8 images", path, imName, ih)
		}
		lr, lc, err := a.Open(lbName)
		if err != nil {
			return Result{}, err
		}
		lh := lr.Header()
		switch {
		case len(lh.Shape) == 1 && lh.Shape[0] == p.n:
			p.k = 1
		case len(lh.Shape) == 2 && lh.Shape[0] == p.n:
			p.k = lh.Shape[1]
		default:
			lc.Close()
			return Result{}, fmt.Errorf("%s: entry %s.npy is %s; want (%d, K) labels for the %d images of %s.npy", path, lbName, lh, p.n, p.n, imName)
		}
		p.labels, err = lr.ReadAllInt64(p.n * max(p.k, 1))
		lc.Close()
		if err != nil {
			return Result{}, fmt.Errorf("%s: entry %s.npy: %w", path, lbName, err)
		}
		if len(parts) > 0 && (parts[0].c != p.c || parts[0].k != p.k) {
			return Result{}, fmt.Errorf("%s: %s has %d channels and %d labels per image, %s has %d and %d",
				path, split, p.c, p.k, parts[0].split, parts[0].c, parts[0].k)
		}
		multi = p.k > 1
		for _, v := range p.labels {
			maxLabel = max(maxLabel, v)
		}
		total += p.n
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return Result{}, fmt.Errorf("%s: no {train,val,test}_images / _labels entries (it has %s)", path, strings.Join(a.Names(), ", "))
	}
	meta := arrowds.Metadata{
		Name: flag, Channels: parts[0].c, PixelType: arrowds.Uint8,
		Source: "MedMNIST " + filepath.Base(path), Attribution: medAttribution,
	}
	if known {
		meta.Task, meta.Classes = info.task, info.classes
		meta.Licence = info.licence
		meta.Attribution += "; source data: " + info.source
		if (info.task == arrowds.Multilabel) != multi {
			return Result{}, fmt.Errorf("%s: %s is %s but the labels have %d values per image", path, flag, info.task, parts[0].k)
		}
		if multi && parts[0].k != len(info.classes) {
			return Result{}, fmt.Errorf("%s: %s has %d classes but the labels have %d values per image", path, flag, len(info.classes), parts[0].k)
		}
	} else if multi {
		meta.Task = arrowds.Multilabel
		for k := 0; k < parts[0].k; k++ {
			meta.Classes = append(meta.Classes, strconv.Itoa(k))
		}
	} else {
		k := int(max(maxLabel+1, 2))
		if k > 1<<16 {
			return Result{}, fmt.Errorf("%s: label %d is implausibly large for a class index", path, maxLabel)
		}
		meta.Task = taskFor(k)
		for c := 0; c < k; c++ {
			meta.Classes = append(meta.Classes, strconv.Itoa(c))
		}
	}
	s, err := newSink(opts, meta, arrowds.Columns{}, total)
	if err != nil {
		return Result{}, err
	}
	s.src = path
	for _, p := range parts {
		if err := medPart(a, path, flag, p.split, p.n, p.h, p.w, p.c, p.k, p.labels, s); err != nil {
			return s.close(err)
		}
	}
	return s.close(nil)
}

func medPart(a *npy.NPZ, path, flag, split string, n, h, w, c, k int, labels []int64, s *sink) error {
	imName := split + "_images"
	r, closer, err := a.Open(imName)
	if err != nil {
		return err
	}
	defer closer.Close()
	nc := len(s.res.Meta.Classes)
	for i := 0; i < n; i++ {
		smp := &arrowds.Sample{
			ID:     fmt.Sprintf("%s-%s-%05d", flag, split, i),
			Source: fmt.Sprintf("%s:%s[%d]", filepath.Base(path), imName, i),
			Split:  split,
			Image:  arrowds.Image{Height: h, Width: w, Channels: c, Pix: make([]uint8, h*w*c)},
		}
		if err := r.ReadUint8(smp.Pix); err != nil {
			// A truncated image array cannot be resynchronised: fatal.
			return fmt.Errorf("%s: entry %s.npy, image %d: %w", path, imName, i, err)
		}
		where := fmt.Sprintf("%s: entry %s_labels.npy, row %d", path, split, i)
		lab := labels[i*k : (i+1)*k]
		if k == 1 {
			if lab[0] < 0 || lab[0] >= int64(nc) {
				if err := s.bad(where, fmt.Errorf("label %d out of range [0,%d) (classes %v)", lab[0], nc, s.res.Meta.Classes)); err != nil {
					return err
				}
				continue
			}
			smp.Label = int32(lab[0])
		} else {
			smp.Label = -1
			smp.Labels = make([]int32, k)
			bad := false
			for j, v := range lab {
				if v != 0 && v != 1 {
					bad = true
					if err := s.bad(where, fmt.Errorf("multi-hot value %d for class %d, want 0 or 1", v, j)); err != nil {
						return err
					}
					break
				}
				smp.Labels[j] = int32(v)
			}
			if bad {
				continue
			}
		}
		if err := s.add(where, smp); err != nil {
			return err
		}
	}
	return nil
}
