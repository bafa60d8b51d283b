package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// magic starts every .npy file.
const magic = "\x93NUMPY"

// maxHeader bounds the header length (NumPy itself writes a few hundred
// bytes).
const maxHeader = 1 << 20

// maxElements bounds the element count a header may declare.
const maxElements = 1 << 40

// Header is the parsed header of a .npy array.
type Header struct {
	Major, Minor int
	Descr        string // e.g. "|u1", "<i8"
	Fortran      bool
	Shape        []int
	Kind         byte // 'b' bool, 'i' signed, 'u' unsigned, 'f' float, ...
	ItemSize     int
	Order        binary.ByteOrder // nil for one-byte types
}

// Count returns the number of elements (the product of the shape).
func (h *Header) Count() int {
	n := 1
	for _, d := range h.Shape {
		n *= d
	}
	return n
}

// String describes the array, e.g. "uint8 (3882, 28, 28)".
func (h *Header) String() string {
	dims := make([]string, len(h.Shape))
	for i, d := range h.Shape {
		dims[i] = strconv.Itoa(d)
	}
	return fmt.Sprintf("%s (%s)", h.typeName(), strings.Join(dims, ", "))
}

func (h *Header) typeName() string {
	switch h.Kind {
	case 'b':
		return "bool"
	case 'i':
		return fmt.Sprintf("int%d", 8*h.ItemSize)
	case 'u':
		return fmt.Sprintf("uint%d", 8*h.ItemSize)
	case 'f':
		return fmt.Sprintf("float%d", 8*h.ItemSize)
	}
	return h.Descr
}

// Reader streams the elements of one .npy array.
type Reader struct {
	h    Header
	r    *bufio.Reader
	left int // elements not yet read
	buf  []byte
	// hdrBytes is the size of the magic, version, length and header text:
	// where the data start.
	hdrBytes int64
}

// NewReader reads the header from r and returns a Reader positioned at the
// first element.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h, n, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	return &Reader{h: h, r: br, left: h.Count(), hdrBytes: n}, nil
}

// Header returns the array's header.
func (r *Reader) Header() *Header { return &r.h }

// Remaining returns the number of elements not read yet.
func (r *Reader) Remaining() int { return r.left }

// readHeader reads and parses the header and returns it and its size in
// bytes (magic and lengths included).
func readHeader(r io.Reader) (Header, int64, error) {
	var h Header
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return h, 0, fmt.Errorf("reading the .npy magic: %w", eof(err))
	}
	if string(pre[:6]) != magic {
		return h, 0, fmt.Errorf("not a .npy array: it starts with %q, want %q", pre[:6], magic)
	}
	h.Major, h.Minor = int(pre[6]), int(pre[7])
	var hlen, lenBytes int
	switch h.Major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return h, 0, fmt.Errorf("reading the .npy header length: %w", eof(err))
		}
		hlen, lenBytes = int(binary.LittleEndian.Uint16(b[:])), 2
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return h, 0, fmt.Errorf("reading the .npy header length: %w", eof(err))
		}
		hlen, lenBytes = int(binary.LittleEndian.Uint32(b[:])), 4
	default:
		return h, 0, fmt.Errorf(".npy format version %d.%d, want 1.0, 2.0 or 3.0", h.Major, h.Minor)
	}
	if hlen > maxHeader {
		return h, 0, fmt.Errorf(".npy header of %d bytes is longer than %d", hlen, maxHeader)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return h, 0, fmt.Errorf("reading the %d-byte .npy header: %w", hlen, eof(err))
	}
	if err := parseDict(string(text), &h); err != nil {
		return h, 0, fmt.Errorf(".npy header %q: %w", strings.TrimSpace(string(text)), err)
	}
	return h, int64(len(pre) + lenBytes + hlen), nil
}

func eof(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseDict parses the header's Python dict literal, e.g.
// {'descr': '<u1', 'fortran_order': False, 'shape': (3882, 28, 28), }
func parseDict(s string, h *Header) error {
	p := &lexer{s: s}
	if !p.eat('{') {
		return errors.New("want a dict literal starting with '{'")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return fmt.Errorf("dict key: %w", err)
		}
		if !p.eat(':') {
			return fmt.Errorf("want ':' after key %q", key)
		}
		switch key {
		case "descr":
			if h.Descr, err = p.str(); err != nil {
				return fmt.Errorf("descr: %w", err)
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.Fortran = true
			case p.word("False"):
				h.Fortran = false
			default:
				return errors.New("fortran_order: want True or False")
			}
		case "shape":
			if h.Shape, err = p.tuple(); err != nil {
				return fmt.Errorf("shape: %w", err)
			}
		default:
			return fmt.Errorf("unknown key %q", key)
		}
		seen[key] = true
		if !p.eat(',') {
			if !p.eat('}') {
				return errors.New("want ',' or '}'")
			}
			break
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return fmt.Errorf("no %q key", k)
		}
	}
	n := 1
	for _, d := range h.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension %d", d)
		}
		if d > 0 && n > maxElements/d {
			return fmt.Errorf("shape %v has more than %d elements", h.Shape, maxElements)
		}
		n *= d
	}
	return parseDescr(h)
}

func parseDescr(h *Header) error {
	d := h.Descr
	if len(d) < 3 {
		return fmt.Errorf("descr %q: want a byte order, a kind and a size such as '<u1'", d)
	}
	size, err := strconv.Atoi(d[2:])
	if err != nil || size < 1 || size > 16 {
		return fmt.Errorf("descr %q: bad item size", d)
	}
	h.Kind, h.ItemSize = d[1], size
	switch d[0] {
	case '<':
		h.Order = binary.LittleEndian
	case '>':
		h.Order = binary.BigEndian
	case '|', '=':
		if size != 1 && d[0] == '|' {
			return fmt.Errorf("descr %q: byte order '|' for a %d-byte type", d, size)
		}
		h.Order = binary.LittleEndian
	default:
		return fmt.Errorf("descr %q: unknown byte order %q", d, d[0])
	}
	switch h.Kind {
	case 'b', 'i', 'u', 'f', 'c', 'V', 'S', 'U', 'O', 'M', 'm':
	default:
		return fmt.Errorf("descr %q: unknown kind %q", d, h.Kind)
	}
	return nil
}

type lexer struct {
	s string
	i int
}

func (p *lexer) skip() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *lexer) eat(c byte) bool {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *lexer) word(w string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *lexer) str() (string, error) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("want a quoted string")
	}
	q := p.s[p.i]
	j := strings.IndexByte(p.s[p.i+1:], q)
	if j < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+j]
	p.i += j + 2
	return v, nil
}

func (p *lexer) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("want a tuple such as (3, 28, 28)")
	}
	out := []int{}
	for {
		if p.eat(')') {
			return out, nil
		}
		p.skip()
		j := p.i
		for j < len(p.s) && ((p.s[j] >= '0' && p.s[j] <= '9') || p.s[j] == '-') {
			j++
		}
		if j == p.i {
			return nil, errors.New("want an integer dimension")
		}
		v, err := strconv.Atoi(p.s[p.i:j])
		if err != nil || v > math.MaxInt32*64 {
			return nil, fmt.Errorf("bad dimension %q", p.s[p.i:j])
		}
		p.i = j
		p.word("L") // Python 2 long suffix
		out = append(out, v)
		if len(out) > 32 {
			return nil, errors.New("more than 32 dimensions")
		}
		if !p.eat(',') {
			if !p.eat(')') {
				return nil, errors.New("want ',' or ')' in the tuple")
			}
			return out, nil
		}
	}
}

func (r *Reader) checkReadable(n int) error {
	if r.h.Fortran && len(r.h.Shape) > 1 {
		return errors.New("array is in Fortran order; only C order is supported")
	}
	if n > r.left {
		return fmt.Errorf("asked for %d elements, only %d left of %s", n, r.left, r.h.String())
	}
	return nil
}

// ReadUint8 reads len(dst) elements of a uint8 (or bool) array.
func (r *Reader) ReadUint8(dst []uint8) error {
	if (r.h.Kind != 'u' && r.h.Kind != 'b') || r.h.ItemSize != 1 {
		return fmt.Errorf("array is %s, want uint8", r.h.typeName())
	}
	if err := r.checkReadable(len(dst)); err != nil {
		return err
	}
	if _, err := io.ReadFull(r.r, dst); err != nil {
		return fmt.Errorf("reading %d elements of %s (%d left): %w", len(dst), r.h.String(), r.left, eof(err))
	}
	r.left -= len(dst)
	return nil
}

// ReadUint16 reads len(dst) elements of a uint8 or uint16 array.
func (r *Reader) ReadUint16(dst []uint16) error {
	if r.h.Kind == 'u' && r.h.ItemSize == 1 {
		tmp := make([]uint8, len(dst))
		if err := r.ReadUint8(tmp); err != nil {
			return err
		}
		for i, v := range tmp {
			dst[i] = uint16(v)
		}
		return nil
	}
	if r.h.Kind != 'u' || r.h.ItemSize != 2 {
		return fmt.Errorf("array is %s, want uint8 or uint16", r.h.typeName())
	}
	if err := r.checkReadable(len(dst)); err != nil {
		return err
	}
	buf := r.grow(2 * len(dst))
	if _, err := io.ReadFull(r.r, buf); err != nil {
		return fmt.Errorf("reading %d elements of %s (%d left): %w", len(dst), r.h.String(), r.left, eof(err))
	}
	for i := range dst {
		dst[i] = r.h.Order.Uint16(buf[2*i:])
	}
	r.left -= len(dst)
	return nil
}

func (r *Reader) grow(n int) []byte {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	return r.buf[:n]
}

// ReadInt64 reads len(dst) elements of any integer or bool array.
func (r *Reader) ReadInt64(dst []int64) error {
	k, sz := r.h.Kind, r.h.ItemSize
	if !(k == 'b' && sz == 1) && !((k == 'i' || k == 'u') && (sz == 1 || sz == 2 || sz == 4 || sz == 8)) {
		return fmt.Errorf("array is %s, want an integer type", r.h.typeName())
	}
	if err := r.checkReadable(len(dst)); err != nil {
		return err
	}
	for done := 0; done < len(dst); {
		n := min(len(dst)-done, 8192)
		buf := r.grow(n * sz)
		if _, err := io.ReadFull(r.r, buf); err != nil {
			return fmt.Errorf("reading %d elements of %s (%d left): %w", len(dst), r.h.String(), r.left, eof(err))
		}
		for i := 0; i < n; i++ {
			b := buf[i*sz:]
			var v int64
			switch {
			case sz == 1 && k == 'i':
				v = int64(int8(b[0]))
			case sz == 1:
				v = int64(b[0])
			case sz == 2 && k == 'i':
				v = int64(int16(r.h.Order.Uint16(b)))
			case sz == 2:
				v = int64(r.h.Order.Uint16(b))
			case sz == 4 && k == 'i':
				v = int64(int32(r.h.Order.Uint32(b)))
			case sz == 4:
				v = int64(r.h.Order.Uint32(b))
			case k == 'i':
				v = int64(r.h.Order.Uint64(b))
			default:
				u := r.h.Order.Uint64(b)
				if u > math.MaxInt64 {
					return fmt.Errorf("element %d is %d, too large", r.h.Count()-r.left+done+i, u)
				}
				v = int64(u)
			}
			dst[done+i] = v
		}
		done += n
		r.left -= n
	}
	return nil
}

// ReadAllInt64 reads every remaining element of an integer array, refusing
// arrays of more than max elements.
func (r *Reader) ReadAllInt64(max int) ([]int64, error) {
	if r.left > max {
		return nil, fmt.Errorf("array %s has %d elements, more than the %d expected", r.h.String(), r.left, max)
	}
	out := make([]int64, r.left)
	return out, r.ReadInt64(out)
}

// DecodeHeader parses the header at the start of a .npy file's contents and
// returns it with the offset at which the array's data begins. It is the one
// .npy header parser: onnx/onnxio reads tensors through it.
func DecodeHeader(data []byte) (Header, int, error) {
	h, n, err := readHeader(bytes.NewReader(data))
	return h, int(n), err
}
