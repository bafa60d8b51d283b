package arrowds

import (
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
)

// Column names.
const (
	ColID       = "id"
	ColSource   = "source"
	ColSplit    = "split"
	ColLabel    = "label"
	ColLabels   = "labels"
	ColHeight   = "height"
	ColWidth    = "width"
	ColChannels = "channels"
	ColGroup    = "group"
	ColBBox     = "bbox"
	ColPixels   = "pixels"
	ColMask     = "mask"
)

// Columns selects the optional columns of a dataset.
type Columns struct {
	Group bool // group: utf8, nullable (patient / study id)
	BBox  bool // bbox: fixed_size_list<float32>[4], nullable (x_min, y_min, x_max, y_max in pixels)
	Mask  bool // mask: list<uint8>, nullable (height*width values, one per pixel)
}

// Image is one image's pixels, row-major height x width x channels
// (channels interleaved). Exactly one of Pix and Pix16 is set, according to
// the dataset's PixelType.
type Image struct {
	Height, Width, Channels int
	Pix                     []uint8
	Pix16                   []uint16
}

// Len returns Height*Width*Channels.
func (im *Image) Len() int { return im.Height * im.Width * im.Channels }

// At returns the value at (y, x, c) as a float32 in the pixel type's range.
func (im *Image) At(y, x, c int) float32 {
	i := (y*im.Width+x)*im.Channels + c
	if im.Pix16 != nil {
		return float32(im.Pix16[i])
	}
	return float32(im.Pix[i])
}

// Sample is one row of a dataset.
type Sample struct {
	ID     string
	Source string
	Split  string
	Group  string
	// Label is the class index for binary and multiclass datasets; -1 for
	// multilabel ones.
	Label int32
	// Labels is the multi-hot vector (0/1, one per class) of a multilabel
	// dataset; nil otherwise.
	Labels []int32
	Image
	Mask []uint8   // nil: no mask; else Height*Width values
	BBox []float32 // nil: no box; else x_min, y_min, x_max, y_max
}

func labelsType(k int) arrow.DataType {
	return arrow.FixedSizeListOf(int32(k), arrow.PrimitiveTypes.Int32)
}

func pixelsType(p PixelType) arrow.DataType {
	if p == Uint16 {
		return arrow.ListOfNonNullable(arrow.PrimitiveTypes.Uint16)
	}
	return arrow.ListOfNonNullable(arrow.PrimitiveTypes.Uint8)
}

// NewSchema returns the Arrow schema of a dataset with the given metadata and
// optional columns. Column order: id, source, split, label|labels, height,
// width, channels, [group], [bbox], pixels, [mask] — the small columns first,
// so that reading them touches one contiguous region of each record batch.
func NewSchema(meta Metadata, cols Columns) (*arrow.Schema, error) {
	if err := meta.Validate(); err != nil {
		return nil, err
	}
	fields := []arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: ColSource, Type: arrow.BinaryTypes.String},
		{Name: ColSplit, Type: arrow.BinaryTypes.String},
	}
	if meta.Task == Multilabel {
		fields = append(fields, arrow.Field{Name: ColLabels, Type: labelsType(len(meta.Classes))})
	} else {
		fields = append(fields, arrow.Field{Name: ColLabel, Type: arrow.PrimitiveTypes.Int32})
	}
	fields = append(fields,
		arrow.Field{Name: ColHeight, Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: ColWidth, Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: ColChannels, Type: arrow.PrimitiveTypes.Int32},
	)
	if cols.Group {
		fields = append(fields, arrow.Field{Name: ColGroup, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	if cols.BBox {
		fields = append(fields, arrow.Field{Name: ColBBox,
			Type: arrow.FixedSizeListOf(4, arrow.PrimitiveTypes.Float32), Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: ColPixels, Type: pixelsType(meta.PixelType)})
	if cols.Mask {
		fields = append(fields, arrow.Field{Name: ColMask,
			Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Uint8), Nullable: true})
	}
	md := meta.ToArrow()
	return arrow.NewSchema(fields, &md), nil
}

// ColumnsOf reports which optional columns a schema has.
func ColumnsOf(s *arrow.Schema) Columns {
	return Columns{
		Group: s.HasField(ColGroup),
		BBox:  s.HasField(ColBBox),
		Mask:  s.HasField(ColMask),
	}
}

// checkSample validates a sample against the metadata before it is written.
func checkSample(meta *Metadata, cols Columns, s *Sample) error {
	if s.ID == "" {
		return fmt.Errorf("empty id")
	}
	// Arrow's utf8 columns hold UTF-8 only; readers in other languages
	// (pyarrow) refuse or mangle anything else.
	for _, f := range []struct{ name, v string }{{"id", s.ID}, {"source", s.Source}, {"group", s.Group}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s %q is not valid UTF-8 (Arrow's utf8 columns hold UTF-8 only)", f.name, f.v)
		}
	}
	okSplit := false
	for _, sp := range Splits {
		if s.Split == sp {
			okSplit = true
		}
	}
	if !okSplit {
		return fmt.Errorf("split %q is not one of train, val, test", s.Split)
	}
	if s.Height < 1 || s.Width < 1 || s.Height > maxImageSide || s.Width > maxImageSide {
		return fmt.Errorf("image size %dx%d out of range 1..%d", s.Height, s.Width, maxImageSide)
	}
	if s.Channels != meta.Channels {
		return fmt.Errorf("image has %d channels, the dataset %d", s.Channels, meta.Channels)
	}
	n := s.Len()
	switch meta.PixelType {
	case Uint8:
		if len(s.Pix) != n || s.Pix16 != nil {
			return fmt.Errorf("want %d uint8 pixel values (%dx%dx%d), got %d uint8 and %d uint16",
				n, s.Height, s.Width, s.Channels, len(s.Pix), len(s.Pix16))
		}
	case Uint16:
		if len(s.Pix16) != n || s.Pix != nil {
			return fmt.Errorf("want %d uint16 pixel values (%dx%dx%d), got %d uint16 and %d uint8",
				n, s.Height, s.Width, s.Channels, len(s.Pix16), len(s.Pix))
		}
	}
	k := len(meta.Classes)
	if meta.Task == Multilabel {
		if len(s.Labels) != k {
			return fmt.Errorf("want a multi-hot vector of %d labels, got %d", k, len(s.Labels))
		}
		for i, v := range s.Labels {
			if v != 0 && v != 1 {
				return fmt.Errorf("labels[%d] is %d, want 0 or 1", i, v)
			}
		}
	} else {
		if s.Labels != nil {
			return fmt.Errorf("a %s dataset takes one label, not a vector", meta.Task)
		}
		if s.Label < 0 || int(s.Label) >= k {
			return fmt.Errorf("label %d out of range [0,%d)", s.Label, k)
		}
	}
	if s.Mask != nil {
		if !cols.Mask {
			return fmt.Errorf("sample has a mask but the dataset has no mask column")
		}
		if len(s.Mask) != s.Height*s.Width {
			return fmt.Errorf("mask has %d values, want %d (%dx%d)", len(s.Mask), s.Height*s.Width, s.Height, s.Width)
		}
	}
	if s.BBox != nil {
		if !cols.BBox {
			return fmt.Errorf("sample has a bbox but the dataset has no bbox column")
		}
		if len(s.BBox) != 4 {
			return fmt.Errorf("bbox has %d values, want 4", len(s.BBox))
		}
	}
	if s.Group != "" && !cols.Group {
		return fmt.Errorf("sample has a group but the dataset has no group column")
	}
	return nil
}
