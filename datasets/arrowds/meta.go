package arrowds

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
)

// FormatVersion is the version of the layout written into every file's schema
// metadata under KeyFormat.
const FormatVersion = "1"

// Schema metadata keys. Every value is a string; lists are JSON.
const (
	KeyFormat      = "pgaug.format"      // "pgaug-image/1"
	KeyName        = "pgaug.name"        // short dataset name, e.g. "pneumoniamnist"
	KeyTask        = "pgaug.task"        // binary | multiclass | multilabel
	KeyClasses     = "pgaug.classes"     // JSON array of class names, index = label
	KeyChannels    = "pgaug.channels"    // "1" or "3" (every row has this many channels)
	KeyPixelDType  = "pgaug.pixel_dtype" // uint8 | uint16
	KeySource      = "pgaug.source"      // where the data came from
	KeyLicence     = "pgaug.licence"     // licence of the images
	KeyAttribution = "pgaug.attribution" // citation / attribution text
	KeyNormMean    = "pgaug.norm_mean"   // JSON array, per channel, of pixels scaled to [0,1]
	KeyNormStd     = "pgaug.norm_std"    // JSON array, per channel, of pixels scaled to [0,1]
	KeyNormSplit   = "pgaug.norm_split"  // split the statistics were computed on
	KeyDescription = "pgaug.description" // free text
	formatPrefix   = "pgaug-image/"      // value prefix of KeyFormat
	keyPrefix      = "pgaug."            // all keys this package owns
	maxClasses     = 1 << 16             // sanity bound for class lists read from files
	maxChannels    = 3                   // 1 (gray) or 3 (RGB)
	maxImageSide   = 1 << 15             // 32768 pixels: bound for height/width values
	defaultName    = "dataset"           // name used when none is given
)

// Task is the kind of classification problem.
type Task string

// The tasks.
const (
	Binary     Task = "binary"     // one label in {0,1}
	Multiclass Task = "multiclass" // one label in [0,K)
	Multilabel Task = "multilabel" // a multi-hot vector of K labels
)

// PixelType is the element type of the pixels column.
type PixelType string

// The pixel types.
const (
	Uint8  PixelType = "uint8"
	Uint16 PixelType = "uint16"
)

// Bytes returns the size of one pixel value in bytes.
func (p PixelType) Bytes() int {
	if p == Uint16 {
		return 2
	}
	return 1
}

// Max returns the largest pixel value (255 or 65535); pixels are divided by
// it to scale them to [0,1].
func (p PixelType) Max() float32 {
	if p == Uint16 {
		return 65535
	}
	return 255
}

// Splits are the split names the writer accepts, in their canonical order.
var Splits = []string{"train", "val", "test"}

// Metadata is the dataset-level description stored in every file's schema
// metadata.
type Metadata struct {
	Name        string
	Task        Task
	Classes     []string
	Channels    int
	PixelType   PixelType
	Source      string
	Licence     string
	Attribution string
	Description string
	// NormMean and NormStd are per-channel statistics of the pixels scaled to
	// [0,1] (nil when not computed, see `pgaug data stats`); NormSplit names
	// the split they were computed on.
	NormMean  []float64
	NormStd   []float64
	NormSplit string
	// Extra holds schema metadata keys this package does not own; they are
	// written back unchanged.
	Extra map[string]string
}

// Validate checks that the metadata describes a dataset pgaug can write.
func (m *Metadata) Validate() error {
	switch m.Task {
	case Binary:
		if len(m.Classes) != 2 {
			return fmt.Errorf("task binary needs exactly 2 classes, got %d", len(m.Classes))
		}
	case Multiclass, Multilabel:
		if len(m.Classes) < 1 {
			return fmt.Errorf("task %s needs at least 1 class", m.Task)
		}
	default:
		return fmt.Errorf("task %q is not one of binary, multiclass, multilabel", m.Task)
	}
	if len(m.Classes) > maxClasses {
		return fmt.Errorf("%d classes is more than the %d supported", len(m.Classes), maxClasses)
	}
	seen := make(map[string]bool, len(m.Classes))
	for i, c := range m.Classes {
		if c == "" {
			return fmt.Errorf("class %d has an empty name", i)
		}
		if !utf8.ValidString(c) {
			// JSON would store it as U+FFFD: another name, maybe another class's.
			return fmt.Errorf("class name %q is not valid UTF-8", c)
		}
		if seen[c] {
			return fmt.Errorf("class name %q appears twice", c)
		}
		seen[c] = true
	}
	if m.Channels != 1 && m.Channels != 3 {
		return fmt.Errorf("channels must be 1 or 3, got %d", m.Channels)
	}
	if m.PixelType != Uint8 && m.PixelType != Uint16 {
		return fmt.Errorf("pixel dtype must be uint8 or uint16, got %q", m.PixelType)
	}
	if err := m.validateNorm(); err != nil {
		return err
	}
	return nil
}

func (m *Metadata) validateNorm() error {
	if m.NormMean == nil && m.NormStd == nil {
		return nil
	}
	if len(m.NormMean) != m.Channels || len(m.NormStd) != m.Channels {
		return fmt.Errorf("normalisation needs %d mean and %d std values, got %d and %d",
			m.Channels, m.Channels, len(m.NormMean), len(m.NormStd))
	}
	for i := range m.NormMean {
		if math.IsNaN(m.NormMean[i]) || math.IsInf(m.NormMean[i], 0) {
			return fmt.Errorf("normalisation mean[%d] is %v", i, m.NormMean[i])
		}
		if !(m.NormStd[i] > 0) || math.IsInf(m.NormStd[i], 0) {
			return fmt.Errorf("normalisation std[%d] is %v, want a positive number", i, m.NormStd[i])
		}
	}
	return nil
}

// ClassIndex returns the index of the named class, or -1.
func (m *Metadata) ClassIndex(name string) int {
	for i, c := range m.Classes {
		if c == name {
			return i
		}
	}
	return -1
}

// Clone returns a deep copy.
func (m Metadata) Clone() Metadata {
	m.Classes = append([]string(nil), m.Classes...)
	if m.NormMean != nil {
		m.NormMean = append([]float64(nil), m.NormMean...)
	}
	if m.NormStd != nil {
		m.NormStd = append([]float64(nil), m.NormStd...)
	}
	if m.Extra != nil {
		e := make(map[string]string, len(m.Extra))
		for k, v := range m.Extra {
			e[k] = v
		}
		m.Extra = e
	}
	return m
}

// structuralEqual reports whether two files' metadata describe the same
// dataset (same task, classes, channels and pixel type).
func (m *Metadata) structuralEqual(o *Metadata) bool {
	if m.Task != o.Task || m.Channels != o.Channels || m.PixelType != o.PixelType || len(m.Classes) != len(o.Classes) {
		return false
	}
	for i := range m.Classes {
		if m.Classes[i] != o.Classes[i] {
			return false
		}
	}
	return true
}

// ToArrow encodes the metadata as Arrow schema metadata (sorted keys).
func (m *Metadata) ToArrow() arrow.Metadata {
	kv := map[string]string{}
	for k, v := range m.Extra {
		kv[k] = v
	}
	name := m.Name
	if name == "" {
		name = defaultName
	}
	kv[KeyFormat] = formatPrefix + FormatVersion
	kv[KeyName] = name
	kv[KeyTask] = string(m.Task)
	kv[KeyClasses] = mustJSON(m.Classes)
	kv[KeyChannels] = strconv.Itoa(m.Channels)
	kv[KeyPixelDType] = string(m.PixelType)
	set := func(k, v string) {
		if v != "" {
			kv[k] = v
		}
	}
	set(KeySource, m.Source)
	set(KeyLicence, m.Licence)
	set(KeyAttribution, m.Attribution)
	set(KeyDescription, m.Description)
	if m.NormMean != nil {
		kv[KeyNormMean] = mustJSON(m.NormMean)
		kv[KeyNormStd] = mustJSON(m.NormStd)
		set(KeyNormSplit, m.NormSplit)
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = kv[k]
	}
	return arrow.NewMetadata(keys, vals)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with []string and []float64
	}
	return string(b)
}

// MetadataFromArrow decodes schema metadata written by ToArrow (or by another
// tool following the layout described in the package documentation).
func MetadataFromArrow(md arrow.Metadata) (Metadata, error) {
	var m Metadata
	get := func(k string) (string, bool) {
		i := md.FindKey(k)
		if i < 0 {
			return "", false
		}
		return md.Values()[i], true
	}
	if f, ok := get(KeyFormat); ok && f != formatPrefix+FormatVersion {
		return m, fmt.Errorf("metadata %s is %q; this pgaug reads %q", KeyFormat, f, formatPrefix+FormatVersion)
	}
	for _, k := range []string{KeyTask, KeyClasses, KeyChannels, KeyPixelDType} {
		if _, ok := get(k); !ok {
			return m, fmt.Errorf("schema metadata lacks %q (not a pgaug image dataset?)", k)
		}
	}
	m.Name, _ = get(KeyName)
	t, _ := get(KeyTask)
	m.Task = Task(t)
	cl, _ := get(KeyClasses)
	if err := json.Unmarshal([]byte(cl), &m.Classes); err != nil {
		return m, fmt.Errorf("metadata %s: want a JSON array of strings: %w", KeyClasses, err)
	}
	ch, _ := get(KeyChannels)
	n, err := strconv.Atoi(ch)
	if err != nil || n < 1 || n > maxChannels {
		return m, fmt.Errorf("metadata %s is %q, want 1 or 3", KeyChannels, ch)
	}
	m.Channels = n
	pt, _ := get(KeyPixelDType)
	m.PixelType = PixelType(pt)
	m.Source, _ = get(KeySource)
	m.Licence, _ = get(KeyLicence)
	m.Attribution, _ = get(KeyAttribution)
	m.Description, _ = get(KeyDescription)
	m.NormSplit, _ = get(KeyNormSplit)
	if s, ok := get(KeyNormMean); ok {
		if err := json.Unmarshal([]byte(s), &m.NormMean); err != nil {
			return m, fmt.Errorf("metadata %s: want a JSON array of numbers: %w", KeyNormMean, err)
		}
	}
	if s, ok := get(KeyNormStd); ok {
		if err := json.Unmarshal([]byte(s), &m.NormStd); err != nil {
			return m, fmt.Errorf("metadata %s: want a JSON array of numbers: %w", KeyNormStd, err)
		}
	}
	for i, k := range md.Keys() {
		if len(k) >= len(keyPrefix) && k[:len(keyPrefix)] == keyPrefix {
			continue
		}
		if m.Extra == nil {
			m.Extra = map[string]string{}
		}
		m.Extra[k] = md.Values()[i]
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("schema metadata: %w", err)
	}
	return m, nil
}
