package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Settings is the record a result depends on: key = value texts.
type Settings map[string]string

// Resolver gives the identity of the input a field tagged
// `fingerprint:"input"` names (a path, or a name such as "zoo:resnet18").
type Resolver func(value string) (string, error)

// Of flattens the struct v (or a pointer to one) into Settings, with every
// key prefixed by prefix. Fields tagged `fingerprint:"input"` (strings or
// string slices) are replaced by resolve's identity of each non-empty value;
// resolve nil means Content. A field of a kind that has no text form (map,
// func, interface, channel, pointer) is an error unless tagged
// `fingerprint:"-"`: every field either changes the result or says it does
// not.
func Of(v any, prefix string, resolve Resolver) (Settings, error) {
	if resolve == nil {
		resolve = Content
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, fmt.Errorf("fingerprint: nil %s", rv.Type())
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("fingerprint: want a struct, got %s", rv.Type())
	}
	s := Settings{}
	if err := s.addStruct(rv, prefix, resolve); err != nil {
		return nil, err
	}
	return s, nil
}

// tagOf parses a field's fingerprint tag: its key name ("" for the default),
// whether it is left out, whether it names an input, and whether it is left
// out when it holds its zero value ("omitempty": a setting added later whose
// zero value means what the code did before it existed, so that results made
// before it keep their fingerprints).
func tagOf(f reflect.StructField) (name string, skip, input, omitEmpty bool) {
	tag, ok := f.Tag.Lookup("fingerprint")
	if ok && tag == "-" {
		return "", true, false, false
	}
	parts := strings.Split(tag, ",")
	name = parts[0]
	for _, p := range parts[1:] {
		switch p {
		case "input":
			input = true
		case "omitempty":
			omitEmpty = true
		}
	}
	if name == "" {
		if t, _, _ := strings.Cut(f.Tag.Get("toml"), ","); t != "" && t != "-" {
			name = t
		} else {
			name = KeyName(f.Name)
		}
	}
	return name, false, input, omitEmpty
}

func (s Settings) addStruct(rv reflect.Value, prefix string, resolve Resolver) error {
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, skip, input, omitEmpty := tagOf(f)
		fv := rv.Field(i)
		if skip || omitEmpty && fv.IsZero() {
			continue
		}
		if f.Anonymous && fv.Kind() == reflect.Struct {
			if err := s.addStruct(fv, prefix, resolve); err != nil {
				return err
			}
			continue
		}
		key := prefix + name
		if input {
			if err := s.addInput(key, fv, resolve); err != nil {
				return err
			}
			continue
		}
		if fv.Kind() == reflect.Struct {
			if err := s.addStruct(fv, key+".", resolve); err != nil {
				return err
			}
			continue
		}
		text, err := valueText(fv)
		if err != nil {
			return fmt.Errorf("fingerprint: field %s (%s) of %s: %w; tag it `fingerprint:\"-\"` if it does not change the result", f.Name, f.Type, t, err)
		}
		s[key] = text
	}
	return nil
}

func (s Settings) addInput(key string, fv reflect.Value, resolve Resolver) error {
	var names []string
	switch {
	case fv.Kind() == reflect.String:
		names = []string{fv.String()}
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		for i := 0; i < fv.Len(); i++ {
			names = append(names, fv.Index(i).String())
		}
	default:
		return fmt.Errorf("fingerprint: input field %s is %s, want a string or a string slice", key, fv.Type())
	}
	ids := make([]string, len(names))
	for i, n := range names {
		if n == "" {
			continue
		}
		id, err := resolve(n)
		if err != nil {
			return fmt.Errorf("fingerprint: %s: %w", key, err)
		}
		ids[i] = id
	}
	if fv.Kind() == reflect.String {
		s[key] = ids[0]
		return nil
	}
	b, _ := json.Marshal(ids)
	s[key] = string(b)
	return nil
}

// valueText is the exact text of a basic value: floats in the shortest form
// that reads back to the same value, slices as a JSON list of element texts.
func valueText(v reflect.Value) (string, error) {
	switch v.Kind() {
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32:
		return strconv.FormatFloat(v.Float(), 'g', -1, 32), nil
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), nil
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			p, err := valueText(v.Index(i))
			if err != nil {
				return "", err
			}
			parts[i] = p
		}
		b, _ := json.Marshal(parts)
		return string(b), nil
	}
	return "", fmt.Errorf("a %s has no text form", v.Kind())
}

// KeyName is a Go field name in lower case with hyphens between its words:
// CutoutSize → cutout-size, LR → lr, GradCAMModel → grad-cam-model.
func KeyName(field string) string {
	r := []rune(field)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// Keys returns the keys in sorted order.
func (s Settings) Keys() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Sum is the hex SHA-256 (first 16 bytes) of the record: its keys in
// sorted order, each key and value length-prefixed, so that no two
// different records share an encoding.
func (s Settings) Sum() string {
	h := sha256.New()
	for _, k := range s.Keys() {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(s[k]), s[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// With returns a copy of s with more entries (later ones win).
func (s Settings) With(more ...Settings) Settings {
	out := make(Settings, len(s))
	for k, v := range s {
		out[k] = v
	}
	for _, m := range more {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Change is one key that differs between two records.
type Change struct {
	Key      string
	Old, New string
	// Added and Removed mark a key that only the new or only the old record
	// has.
	Added, Removed bool
}

func (c Change) String() string {
	switch {
	case c.Added:
		return fmt.Sprintf("%s = %s (new)", c.Key, short(c.New))
	case c.Removed:
		return fmt.Sprintf("%s (was %s) is gone", c.Key, short(c.Old))
	}
	return fmt.Sprintf("%s %s → %s", c.Key, short(c.Old), short(c.New))
}

// short keeps a long value (an input's hash, a list) readable in a message.
func short(v string) string {
	if v == "" {
		return `""`
	}
	if len(v) > 40 {
		return v[:37] + "…"
	}
	return v
}

// Diff lists the keys whose values differ between old and new, sorted.
func Diff(old, new Settings) []Change {
	var out []Change
	for _, k := range new.Keys() {
		ov, ok := old[k]
		switch {
		case !ok:
			out = append(out, Change{Key: k, New: new[k], Added: true})
		case ov != new[k]:
			out = append(out, Change{Key: k, Old: ov, New: new[k]})
		}
	}
	for _, k := range old.Keys() {
		if _, ok := new[k]; !ok {
			out = append(out, Change{Key: k, Old: old[k], Removed: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Describe is Diff as one line: at most max changes, then how many more.
func Describe(changes []Change, max int) string {
	if len(changes) == 0 {
		return "no setting differs"
	}
	parts := make([]string, 0, min(len(changes), max)+1)
	for i, c := range changes {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(changes)-max))
			break
		}
		parts = append(parts, c.String())
	}
	return strings.Join(parts, ", ")
}

// Encode is the record as JSON (keys sorted), for files and checkpoint
// metadata; Decode reads it back.
func (s Settings) Encode() string {
	b, _ := json.Marshal(map[string]string(s))
	return string(b)
}

// Decode reads a record Encode wrote.
func Decode(text string) (Settings, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, fmt.Errorf("fingerprint: reading a settings record: %w", err)
	}
	return Settings(m), nil
}
