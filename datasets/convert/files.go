package convert

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/imgio"
)

// ImageOptions choose the stored channels and pixel type of file importers.
type ImageOptions struct {
	Channels  int               // 1 or 3; 0: 3 if any image is in colour, else 1
	PixelType arrowds.PixelType // uint8 or uint16; "": uint16 if any image is a 16-bit PNG, else uint8
}

// fileJob is one image file to import.
type fileJob struct {
	path                     string
	id, source, split, group string
	label                    int32
	labels                   []int32
	where                    string // names the origin in errors
}

var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// resolveImageOptions fills automatic channels / pixel type from the image
// headers: 3 channels if any image is in colour, uint16 if any is 16-bit.
func resolveImageOptions(jobs []fileJob, io ImageOptions) ImageOptions {
	if io.Channels != 0 && io.PixelType != "" {
		return io
	}
	ch, pt := 1, arrowds.Uint8
	for _, j := range jobs {
		cfg, _, err := imgio.DecodeConfig(j.path)
		if err != nil {
			continue // reported when the image is decoded
		}
		c, p := imgio.NativeModel(cfg.ColorModel)
		ch = max(ch, c)
		if p == arrowds.Uint16 {
			pt = p
		}
		if ch == 3 && pt == arrowds.Uint16 {
			break
		}
	}
	if io.Channels == 0 {
		io.Channels = ch
	}
	if io.PixelType == "" {
		io.PixelType = pt
	}
	return io
}

// writeFiles decodes the files on worker goroutines and writes them in order.
func writeFiles(jobs []fileJob, meta arrowds.Metadata, cols arrowds.Columns, imo ImageOptions, opts Options) (Result, error) {
	imo = resolveImageOptions(jobs, imo)
	if imo.Channels != 1 && imo.Channels != 3 {
		return Result{}, fmt.Errorf("channels must be 1 or 3, got %d", imo.Channels)
	}
	meta.Channels, meta.PixelType = imo.Channels, imo.PixelType
	s, err := newSink(opts, meta, cols, len(jobs))
	if err != nil {
		return Result{}, err
	}
	err = ordered(len(jobs), opts.Workers, func(i int) (arrowds.Image, error) {
		img, err := imgio.DecodeFile(jobs[i].path)
		if err != nil {
			return arrowds.Image{}, err
		}
		return imgio.ToPixels(img, imo.Channels, imo.PixelType)
	}, func(i int, im arrowds.Image, err error) error {
		j := &jobs[i]
		if err != nil {
			if j.where != j.path {
				err = fmt.Errorf("image %s: %w", j.path, err)
			}
			return s.bad(j.where, err)
		}
		smp := &arrowds.Sample{ID: j.id, Source: j.source, Split: j.split, Group: j.group, Label: j.label, Labels: j.labels, Image: im}
		return s.add(j.where, smp)
	})
	return s.close(err)
}

// FolderOptions configures Folder.
type FolderOptions struct {
	ImageOptions
	// Classes fixes the class order (every class folder must be listed);
	// empty: the sorted folder names.
	Classes []string
	// Split is the split of every image when the folder has no
	// train/val/test level (default "train").
	Split string
}

// Folder imports a folder with one sub-folder per class (images found
// recursively inside each; .png, .jpg, .jpeg). If the folder's sub-folders
// are instead split names (train, val/valid, test), each holds class
// sub-folders and gives its images that split. Ids and sources are the
// paths relative to the folder.
func Folder(root string, fo FolderOptions, opts Options) (Result, error) {
	st, err := os.Stat(root)
	if err != nil {
		return Result{}, err
	}
	if !st.IsDir() {
		return Result{}, fmt.Errorf("%s is not a directory (want one sub-folder per class)", root)
	}
	subs, err := subdirs(root)
	if err != nil {
		return Result{}, err
	}
	if len(subs) == 0 {
		return Result{}, fmt.Errorf("%s has no sub-folders (want one per class)", root)
	}
	splitLevel := true
	for _, d := range subs {
		if _, ok := normSplit(d); !ok {
			splitLevel = false
		}
	}
	type classDir struct{ split, class, dir string }
	var dirs []classDir
	if splitLevel {
		for _, sd := range subs {
			sp, _ := normSplit(sd)
			cs, err := subdirs(filepath.Join(root, sd))
			if err != nil {
				return Result{}, err
			}
			for _, c := range cs {
				dirs = append(dirs, classDir{sp, c, filepath.Join(root, sd, c)})
			}
		}
	} else {
		sp := "train"
		if fo.Split != "" {
			var ok bool
			if sp, ok = normSplit(fo.Split); !ok {
				return Result{}, fmt.Errorf("split %q is not one of train, val, test", fo.Split)
			}
		}
		for _, c := range subs {
			dirs = append(dirs, classDir{sp, c, filepath.Join(root, c)})
		}
	}
	names := map[string]bool{}
	for _, d := range dirs {
		if !utf8.ValidString(d.class) {
			return Result{}, fmt.Errorf("%s: class folder name %q is not valid UTF-8 (class names are stored as JSON)", d.dir, d.class)
		}
		names[d.class] = true
	}
	classes, err := classOrder(names, fo.Classes, "class folder")
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", root, err)
	}
	var jobs []fileJob
	for _, d := range dirs {
		label := int32(indexOf(classes, d.class))
		err := filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(e.Name(), ".") && p != d.dir {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if e.IsDir() || !imageExts[strings.ToLower(filepath.Ext(p))] {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			jobs = append(jobs, fileJob{path: p, id: rel, source: rel, split: d.split, label: label, where: p})
			return nil
		})
		if err != nil {
			return Result{}, fmt.Errorf("listing %s: %w", d.dir, err)
		}
	}
	if len(jobs) == 0 {
		return Result{}, fmt.Errorf("%s: no .png/.jpg/.jpeg images in the class folders", root)
	}
	meta := arrowds.Metadata{Name: filepath.Base(filepath.Clean(root)), Task: taskFor(len(classes)), Classes: classes,
		Source: "image folder " + filepath.Base(filepath.Clean(root))}
	return writeFiles(jobs, meta, arrowds.Columns{}, fo.ImageOptions, opts)
}

func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// classOrder returns the class list: the given order (which must cover
// every name found) or the sorted names.
func classOrder(found map[string]bool, given []string, what string) ([]string, error) {
	if len(given) > 0 {
		for n := range found {
			if indexOf(given, n) < 0 {
				return nil, fmt.Errorf("%s %q is not in the given classes %v", what, n, given)
			}
		}
		return append([]string(nil), given...), nil
	}
	var out []string
	for n := range found {
		out = append(out, n)
	}
	sortClassNames(out)
	if len(out) < 2 {
		return nil, fmt.Errorf("found %d class(es) %v; a classification dataset needs at least 2", len(out), out)
	}
	return out, nil
}

// CSVOptions configures CSV.
type CSVOptions struct {
	ImageOptions
	Classes []string // class order; empty: sorted names found
	Split   string   // split of rows without a split column (default "train")
	// Root is the directory image paths are relative to (default: the CSV's
	// directory).
	Root string
	// Multilabel reads the label cell as class names separated by ';'.
	Multilabel bool
}

// CSV imports a CSV file of path,label rows (optionally split and group
// columns). A first row naming the columns (path, label, split, group; in any
// order) is a header; without one the columns are path,label[,split[,group]].
// Labels are class names. Quotes, CRLF and LF line ends are accepted.
func CSV(path string, co CSVOptions, opts Options) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	root := co.Root
	if root == "" {
		root = filepath.Dir(path)
	}
	col := map[string]int{"path": 0, "label": 1, "split": 2, "group": 3}
	type row struct {
		line                      int
		path, label, split, group string
	}
	var rows []row
	first := true
	var badRows []error
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				badRows = append(badRows, fmt.Errorf("%s, line %d: %v", path, pe.Line, pe.Err))
				if !opts.SkipBad {
					return Result{}, badRows[0]
				}
				continue
			}
			return Result{}, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if h := headerColumns(rec); h != nil {
				col = h
				continue
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		get := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		r := row{line: line, path: get("path"), label: get("label"), split: get("split"), group: get("group")}
		if !utf8.ValidString(r.label) {
			// Class names are stored as JSON, which has no room for it.
			e := fmt.Errorf("%s, line %d: label %q is not valid UTF-8", path, line, r.label)
			if !opts.SkipBad {
				return Result{}, e
			}
			badRows = append(badRows, e)
			continue
		}
		if r.path == "" || r.label == "" {
			e := fmt.Errorf("%s, line %d: want path,label[,split[,group]], got %d field(s) %q", path, line, len(rec), rec)
			if !opts.SkipBad {
				return Result{}, e
			}
			badRows = append(badRows, e)
			continue
		}
		rows = append(rows, r)
	}
	if _, ok := col["path"]; !ok {
		return Result{}, fmt.Errorf("%s: the header has no path column", path)
	}
	names := map[string]bool{}
	for _, r := range rows {
		for _, n := range splitLabels(r.label, co.Multilabel) {
			names[n] = true
		}
	}
	classes, err := classOrder(names, co.Classes, "label")
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	defSplit := "train"
	if co.Split != "" {
		var ok bool
		if defSplit, ok = normSplit(co.Split); !ok {
			return Result{}, fmt.Errorf("split %q is not one of train, val, test", co.Split)
		}
	}
	var jobs []fileJob
	cols := arrowds.Columns{}
	for _, r := range rows {
		where := fmt.Sprintf("%s, line %d", path, r.line)
		sp := defSplit
		if r.split != "" {
			var ok bool
			if sp, ok = normSplit(r.split); !ok {
				e := fmt.Errorf("%s: split %q is not one of train, val, test", where, r.split)
				if !opts.SkipBad {
					return Result{}, e
				}
				badRows = append(badRows, e)
				continue
			}
		}
		p := r.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, filepath.FromSlash(p))
		}
		j := fileJob{path: p, id: r.path, source: r.path, split: sp, group: r.group, where: where}
		if r.group != "" {
			cols.Group = true
		}
		if co.Multilabel {
			j.label = -1
			j.labels = make([]int32, len(classes))
			for _, n := range splitLabels(r.label, true) {
				j.labels[indexOf(classes, n)] = 1
			}
		} else {
			j.label = int32(indexOf(classes, r.label))
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return Result{}, fmt.Errorf("%s: no rows", path)
	}
	task := taskFor(len(classes))
	if co.Multilabel {
		task = arrowds.Multilabel
	}
	meta := arrowds.Metadata{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), Task: task, Classes: classes,
		Source: "CSV " + filepath.Base(path)}
	res, err := writeFiles(jobs, meta, cols, co.ImageOptions, opts)
	for _, e := range badRows {
		res.Skipped++
		if len(res.Problems) < maxProblems {
			res.Problems = append(res.Problems, e.Error())
		}
	}
	return res, err
}

func splitLabels(cell string, multi bool) []string {
	if !multi {
		return []string{cell}
	}
	var out []string
	for _, p := range strings.Split(cell, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// headerColumns maps column names when rec is a header row, else nil.
func headerColumns(rec []string) map[string]int {
	m := map[string]int{}
	for i, c := range rec {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "path", "file", "filename", "image", "image_path":
			m["path"] = i
		case "label", "labels", "class", "target":
			m["label"] = i
		case "split", "set", "fold":
			m["split"] = i
		case "group", "patient", "patient_id", "study", "study_id":
			m["group"] = i
		}
	}
	if _, ok := m["path"]; !ok {
		return nil
	}
	if _, ok := m["label"]; !ok {
		return nil
	}
	return m
}

// MURAOptions configures MURA.
type MURAOptions struct {
	ImageOptions
	// BodyParts keeps only these body parts (e.g. "wrist" or "XR_WRIST",
	// case-insensitive); empty: all.
	BodyParts []string
}

var (
	muraStudy = regexp.MustCompile(`^study\d+_(positive|negative)$`)
	muraCSV   = regexp.MustCompile(`^(train|valid|val|test)_image_paths\.csv$`)
)

// MURA imports the MURA musculoskeletal radiograph dataset from its
// *_image_paths.csv files (a directory holding them, or one such file).
// Each line is an image path like
// MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png, with or
// without a header line, CRLF or LF. The label comes from the study folder
// (positive/negative), the split from the CSV's name (train, valid -> val),
// and the group is the study (body part/patient/study).
func MURA(input string, mo MURAOptions, opts Options) (Result, error) {
	st, err := os.Stat(input)
	if err != nil {
		return Result{}, err
	}
	var csvs []string
	if st.IsDir() {
		ents, err := os.ReadDir(input)
		if err != nil {
			return Result{}, err
		}
		for _, e := range ents {
			if muraCSV.MatchString(e.Name()) {
				csvs = append(csvs, filepath.Join(input, e.Name()))
			}
		}
		if len(csvs) == 0 {
			return Result{}, fmt.Errorf("%s has no train_image_paths.csv / valid_image_paths.csv", input)
		}
	} else {
		if !muraCSV.MatchString(filepath.Base(input)) {
			return Result{}, fmt.Errorf("%s: want a file named <split>_image_paths.csv (train, valid or test)", input)
		}
		csvs = []string{input}
	}
	parts := map[string]bool{}
	for _, b := range mo.BodyParts {
		b = strings.ToUpper(strings.TrimSpace(b))
		if b == "" {
			continue
		}
		if !strings.HasPrefix(b, "XR_") {
			b = "XR_" + b
		}
		parts[b] = true
	}
	var jobs []fileJob
	var badRows []error
	for _, cpath := range csvs {
		m := muraCSV.FindStringSubmatch(filepath.Base(cpath))
		split, _ := normSplit(m[1])
		js, bad, err := muraList(cpath, split, parts, opts.SkipBad)
		if err != nil {
			return Result{}, err
		}
		jobs = append(jobs, js...)
		badRows = append(badRows, bad...)
	}
	if len(jobs) == 0 {
		return Result{}, fmt.Errorf("%s: no images (body parts %v)", input, mo.BodyParts)
	}
	if mo.Channels == 0 {
		mo.Channels = 1
	}
	if mo.PixelType == "" {
		mo.PixelType = arrowds.Uint8
	}
	meta := arrowds.Metadata{
		Name: "mura", Task: arrowds.Binary, Classes: []string{"negative", "positive"}, Source: "MURA v1.1",
		Licence:     "Stanford MURA Dataset Research Use Agreement",
		Attribution: "Rajpurkar, P. et al. MURA: Large Dataset for Abnormality Detection in Musculoskeletal Radiographs (2017)",
	}
	res, err := writeFiles(jobs, meta, arrowds.Columns{Group: true}, mo.ImageOptions, opts)
	for _, e := range badRows {
		res.Skipped++
		if len(res.Problems) < maxProblems {
			res.Problems = append(res.Problems, e.Error())
		}
	}
	return res, err
}

func muraList(cpath, split string, parts map[string]bool, skipBad bool) ([]fileJob, []error, error) {
	data, err := os.ReadFile(cpath)
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Dir(cpath)
	var jobs []fileJob
	var bad []error
	var base string // the directory the paths turned out to be relative to
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		lineNo := n + 1
		if line == "" {
			continue
		}
		if i := strings.IndexByte(line, ','); i >= 0 { // "path,label" variants: keep the path
			line = strings.TrimSpace(line[:i])
		}
		line = strings.Trim(line, `"`)
		where := fmt.Sprintf("%s, line %d", cpath, lineNo)
		comps := strings.Split(filepath.ToSlash(line), "/")
		if lineNo == 1 && !imageExts[strings.ToLower(filepath.Ext(line))] {
			continue // header
		}
		var part, patient, study string
		label := int32(-1)
		for i, c := range comps {
			if strings.HasPrefix(c, "XR_") {
				part = c
			}
			if m := muraStudy.FindStringSubmatch(c); m != nil {
				study = c
				if i > 0 {
					patient = comps[i-1]
				}
				label = 0
				if m[1] == "positive" {
					label = 1
				}
			}
		}
		if label < 0 || part == "" {
			e := fmt.Errorf("%s: path %q has no XR_<BODY PART>/patient/studyN_positive|negative folders", where, line)
			if !skipBad {
				return nil, nil, e
			}
			bad = append(bad, e)
			continue
		}
		if len(parts) > 0 && !parts[part] {
			continue
		}
		p := ""
		if base != "" {
			p = filepath.Join(base, filepath.FromSlash(line))
		} else {
			for _, b := range []string{filepath.Dir(dir), dir, filepath.Dir(filepath.Dir(dir))} {
				if _, err := os.Stat(filepath.Join(b, filepath.FromSlash(line))); err == nil {
					base, p = b, filepath.Join(b, filepath.FromSlash(line))
					break
				}
			}
			if p == "" {
				p = filepath.Join(filepath.Dir(dir), filepath.FromSlash(line))
			}
		}
		jobs = append(jobs, fileJob{path: p, id: line, source: line, split: split, label: label,
			group: part + "/" + patient + "/" + study, where: where})
	}
	return jobs, bad, nil
}
