package idx

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Data types of the type byte.
const (
	TypeUint8   = 0x08
	TypeInt8    = 0x09
	TypeInt16   = 0x0B
	TypeInt32   = 0x0C
	TypeFloat32 = 0x0D
	TypeFloat64 = 0x0E
)

// maxElements bounds what a header may declare.
const maxElements = 1 << 40

// Header is an IDX file's header.
type Header struct {
	Type byte
	Dims []int
}

// Records returns the first dimension (the number of images or labels).
func (h *Header) Records() int {
	if len(h.Dims) == 0 {
		return 1
	}
	return h.Dims[0]
}

// RecordSize returns the number of elements per record (the product of all
// dimensions but the first).
func (h *Header) RecordSize() int {
	n := 1
	for _, d := range h.Dims[min(1, len(h.Dims)):] {
		n *= d
	}
	return n
}

// Reader streams the records of one IDX file.
type Reader struct {
	h    Header
	r    *bufio.Reader
	gz   *gzip.Reader
	left int
}

// NewReader reads the header from r, which may be gzip-compressed (detected
// from its first bytes).
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	rd := &Reader{}
	if p, err := br.Peek(2); err == nil && p[0] == 0x1f && p[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		rd.gz = gz
		br = bufio.NewReaderSize(gz, 64<<10)
	}
	rd.r = br
	var pre [4]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, fmt.Errorf("reading the IDX magic: %w", unexpected(err))
	}
	if pre[0] != 0 || pre[1] != 0 {
		return nil, fmt.Errorf("not an IDX file: it starts with % x, want 00 00 <type> <dims>", pre)
	}
	switch pre[2] {
	case TypeUint8, TypeInt8, TypeInt16, TypeInt32, TypeFloat32, TypeFloat64:
	default:
		return nil, fmt.Errorf("IDX type byte 0x%02x, want one of 08 09 0b 0c 0d 0e", pre[2])
	}
	nd := int(pre[3])
	if nd < 1 || nd > 8 {
		return nil, fmt.Errorf("IDX file with %d dimensions, want 1 to 8", nd)
	}
	rd.h.Type = pre[2]
	total := 1
	for i := 0; i < nd; i++ {
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("reading IDX dimension %d: %w", i, unexpected(err))
		}
		d := int(binary.BigEndian.Uint32(b[:]))
		// Zero dimensions are skipped so that a record size cannot
		// overflow behind an empty first dimension.
		if d > 0 && total > maxElements/d {
			return nil, fmt.Errorf("IDX dimensions %v... declare more than %d elements", append(rd.h.Dims, d), maxElements)
		}
		total *= max(d, 1)
		rd.h.Dims = append(rd.h.Dims, d)
	}
	rd.left = rd.h.Records()
	return rd, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Header returns the header.
func (r *Reader) Header() *Header { return &r.h }

// Remaining returns the number of records not yet read.
func (r *Reader) Remaining() int { return r.left }

// Next reads the next record of an unsigned-byte file into dst, which must
// hold RecordSize elements.
func (r *Reader) Next(dst []uint8) error {
	if r.h.Type != TypeUint8 {
		return fmt.Errorf("IDX data type 0x%02x, want 0x08 (unsigned byte)", r.h.Type)
	}
	if len(dst) != r.h.RecordSize() {
		return fmt.Errorf("record buffer holds %d values, a record has %d", len(dst), r.h.RecordSize())
	}
	if r.left == 0 {
		return io.EOF
	}
	if _, err := io.ReadFull(r.r, dst); err != nil {
		return fmt.Errorf("record %d of %d: %w", r.h.Records()-r.left, r.h.Records(), unexpected(err))
	}
	r.left--
	return nil
}

// Close releases the gzip reader, if any (the underlying reader is not
// closed).
func (r *Reader) Close() error {
	if r.gz != nil {
		return r.gz.Close()
	}
	return nil
}
