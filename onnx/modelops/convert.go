package modelops

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// MetaFreeze is the metadata_props key under which Convert records the
// freeze patterns, as a JSON array of strings (importer.Model.Freeze
// syntax: shell globs, or "re:" regular expressions). Trainers read it with
// FreezePatterns and apply it with importer.Model.Freeze.
const MetaFreeze = "pgaug.freeze"

// FreezePatterns returns the patterns recorded under MetaFreeze (nil when
// there are none).
func FreezePatterns(m *onnxpb.ModelProto) ([]string, error) {
	for _, p := range m.GetMetadataProps() {
		if p.GetKey() != MetaFreeze {
			continue
		}
		var pats []string
		if err := json.Unmarshal([]byte(p.GetValue()), &pats); err != nil {
			return nil, fmt.Errorf("modelops: metadata %s = %q: want a JSON array of strings: %w", MetaFreeze, p.GetValue(), err)
		}
		return pats, nil
	}
	return nil, nil
}

// SetFreezePatterns records patterns under MetaFreeze, replacing earlier
// ones (no patterns removes the entry).
func SetFreezePatterns(m *onnxpb.ModelProto, patterns []string) {
	kept := m.MetadataProps[:0]
	for _, p := range m.MetadataProps {
		if p.GetKey() != MetaFreeze {
			kept = append(kept, p)
		}
	}
	m.MetadataProps = kept
	if len(patterns) == 0 {
		return
	}
	b, _ := json.Marshal(patterns) // a []string always marshals
	m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(MetaFreeze), Value: proto.String(string(b))})
}

// ConvertOptions say what Convert changes. Zero values change nothing.
type ConvertOptions struct {
	// Classes > 0 replaces the classifier head with a fresh Classes-way
	// layer seeded by Seed (ReplaceHead).
	Classes int
	Seed    uint64
	// InChannels > 0 adapts the first convolution to that many input
	// channels as ChannelMode says (AdaptInputChannels; "" is ChannelSum).
	InChannels  int
	ChannelMode ChannelMode
	// Freeze patterns are checked against the converted model's parameters
	// (each must match at least one) and recorded under MetaFreeze.
	Freeze []string
	// Verify tunes the check of the result (Source is set by Convert).
	Verify VerifyOptions
}

// Report says what Convert did.
type Report struct {
	Source   string         `json:"source"`
	Output   string         `json:"output,omitempty"`
	Head     *HeadChange    `json:"head,omitempty"`
	Channels *ChannelChange `json:"channels,omitempty"`
	// Freeze lists the recorded patterns and Frozen how many parameters
	// they match (of Params).
	Freeze []string `json:"freeze,omitempty"`
	Frozen int      `json:"frozen,omitempty"`
	Params int      `json:"params"` // parameter tensors
	// Inputs and Outputs describe the result's graph inputs and outputs.
	Inputs   []string      `json:"inputs"`
	Outputs  []string      `json:"outputs"`
	Verified *Verification `json:"verified"`
}

// WriteText writes the report as lines for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "source:    %s\n", r.Source)
	if r.Channels != nil {
		fmt.Fprintf(&b, "channels:  %s\n", r.Channels)
	}
	if r.Head != nil {
		fmt.Fprintf(&b, "head:      %s\n", r.Head)
	}
	if len(r.Freeze) > 0 {
		fmt.Fprintf(&b, "freeze:    recorded %s = %q (matches %d of %d parameter tensors)\n", MetaFreeze, r.Freeze, r.Frozen, r.Params)
	}
	if r.Channels == nil && r.Head == nil && len(r.Freeze) == 0 {
		b.WriteString("changes:   none (the model is checked and copied)\n")
	}
	fmt.Fprintf(&b, "inputs:    %s\n", strings.Join(r.Inputs, ", "))
	fmt.Fprintf(&b, "outputs:   %s\n", strings.Join(r.Outputs, ", "))
	if r.Verified != nil {
		fmt.Fprintf(&b, "verified:  %s\n", r.Verified)
	}
	if r.Output != "" {
		fmt.Fprintf(&b, "wrote:     %s\n", r.Output)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ConvertModel applies opts to a copy of m (m is not changed): it imports m
// first (an unsupported model fails before anything is changed), adapts the
// input channels, replaces the head, checks and records the freeze
// patterns, and verifies the result (Verify). source names m in errors and
// in the report.
func ConvertModel(m *onnxpb.ModelProto, source string, opts ConvertOptions) (*onnxpb.ModelProto, *Report, error) {
	out, r, err := convertModel(m, source, opts)
	if err != nil {
		return nil, r, fmt.Errorf("modelops: converting %s: %w", source, err)
	}
	return out, r, nil
}

func convertModel(m *onnxpb.ModelProto, source string, opts ConvertOptions) (*onnxpb.ModelProto, *Report, error) {
	r := &Report{Source: source}
	if opts.Classes < 0 || opts.InChannels < 0 {
		return nil, r, fmt.Errorf("classes %d and input channels %d: want positive values (0 keeps the model's)", opts.Classes, opts.InChannels)
	}
	if _, err := importer.Import(m, importer.Options{Source: source}); err != nil {
		return nil, r, fmt.Errorf("the input model does not import: %w", err)
	}
	out := cloneModel(m)
	if opts.InChannels > 0 {
		mode := opts.ChannelMode
		if mode == "" {
			mode = ChannelSum
		}
		ch, err := AdaptInputChannels(out, opts.InChannels, mode)
		if err != nil {
			return nil, r, err
		}
		r.Channels = ch
	}
	if opts.Classes > 0 {
		h, err := ReplaceHead(out, opts.Classes, opts.Seed)
		if err != nil {
			return nil, r, err
		}
		r.Head = h
	}
	im, err := importer.Import(out, importer.Options{Source: source + " (converted)"})
	if err != nil {
		return nil, r, fmt.Errorf("the converted model does not import: %w", err)
	}
	r.Params = len(im.Params)
	if len(opts.Freeze) > 0 {
		n, err := im.Freeze(opts.Freeze...)
		if err != nil {
			return nil, r, err
		}
		r.Freeze, r.Frozen = append([]string(nil), opts.Freeze...), n
		SetFreezePatterns(out, opts.Freeze)
	}
	for _, in := range im.Inputs {
		r.Inputs = append(r.Inputs, describeIO(in))
	}
	for _, o := range im.Outputs {
		r.Outputs = append(r.Outputs, describeIO(o))
	}
	vo := opts.Verify
	vo.Source = source + " (converted)"
	v, err := Verify(out, vo)
	r.Verified = v
	if err != nil {
		return nil, r, err
	}
	return out, r, nil
}

func describeIO(s importer.IOSpec) string {
	dims := make([]string, len(s.Dims))
	for i, d := range s.Dims {
		switch {
		case d > 0:
			dims[i] = fmt.Sprint(d)
		case s.DimNames[i] != "":
			dims[i] = s.DimNames[i]
		default:
			dims[i] = "?"
		}
	}
	return fmt.Sprintf("%s [%s]", s.Name, strings.Join(dims, "×"))
}

// Convert reads the model at in, converts it as opts say (ConvertModel)
// and writes the result atomically to out (onnxio.Save: the file appears
// complete or not at all). in and out may be the same file.
func Convert(in, out string, opts ConvertOptions) (*Report, error) {
	m, err := onnxio.Load(in)
	if err != nil {
		return &Report{Source: in}, fmt.Errorf("modelops: %w", err)
	}
	res, r, err := ConvertModel(m, in, opts)
	if err != nil {
		return r, err
	}
	if err := onnxio.Save(out, res); err != nil {
		return r, fmt.Errorf("modelops: %w", err)
	}
	r.Output = out
	return r, nil
}
