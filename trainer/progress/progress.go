package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar reports progress towards Total units of work. It is safe for
// concurrent use. A nil *Bar is valid and reports nothing.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	unit     string
	total    int64
	done     int64
	start    time.Time
	last     time.Time
	every    time.Duration
	terminal bool
	fields   string
	now      func() time.Time
}

// Options of a bar.
type Options struct {
	// Unit names what is counted ("img", "step"); the rate is Unit/s.
	Unit string
	// Every is the interval between plain log lines (default 10 s) or
	// terminal redraws (at most every 100 ms).
	Every time.Duration
	// Terminal forces (true) the redrawing bar; by default it is used when
	// w is a character device.
	Terminal *bool
}

// New starts a bar labelled label for total units (0: unknown total) that
// writes to w (nil: nothing is written).
func New(w io.Writer, label string, total int64, opts Options) *Bar {
	b := &Bar{w: w, label: label, unit: opts.Unit, total: total, every: opts.Every, now: time.Now}
	if b.unit == "" {
		b.unit = "it"
	}
	if opts.Terminal != nil {
		b.terminal = *opts.Terminal
	} else {
		b.terminal = IsTerminal(w)
	}
	if b.every == 0 {
		b.every = 10 * time.Second
		if b.terminal {
			b.every = 100 * time.Millisecond
		}
	}
	b.start = b.now()
	b.last = b.start
	return b
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Add records n more units done and sets the extra fields shown after the
// rate (e.g. "loss 0.4213"); an empty fields keeps the previous ones.
func (b *Bar) Add(n int64, fields string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if fields != "" {
		b.fields = fields
	}
	t := b.now()
	if b.w == nil || t.Sub(b.last) < b.every {
		return
	}
	b.last = t
	b.draw(t, false)
}

// Done finishes the bar with a final line.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w != nil {
		b.draw(b.now(), true)
	}
}

// Rate returns the units per second so far.
func (b *Bar) Rate() float64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return rate(b.done, b.now().Sub(b.start))
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (b *Bar) draw(t time.Time, final bool) {
	el := t.Sub(b.start)
	r := rate(b.done, el)
	var sb strings.Builder
	if b.label != "" {
		sb.WriteString(b.label)
		sb.WriteString(" ")
	}
	if b.total > 0 {
		frac := min(float64(b.done)/float64(b.total), 1)
		if b.terminal {
			const width = 24
			fill := int(frac * width)
			sb.WriteString("[" + strings.Repeat("=", fill) + strings.Repeat(" ", width-fill) + "] ")
		}
		fmt.Fprintf(&sb, "%d/%d %s (%3.0f%%)", b.done, b.total, b.unit, 100*frac)
	} else {
		fmt.Fprintf(&sb, "%d %s", b.done, b.unit)
	}
	fmt.Fprintf(&sb, "  %.1f %s/s", r, b.unit)
	if b.total > 0 && r > 0 && !final {
		eta := time.Duration(float64(b.total-b.done) / r * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(&sb, "  eta %s", eta)
	}
	if final {
		fmt.Fprintf(&sb, "  in %s", el.Round(time.Millisecond))
	}
	if b.fields != "" {
		sb.WriteString("  " + b.fields)
	}
	if b.terminal {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(b.w, "\r\033[K%s%s", sb.String(), end)
		return
	}
	fmt.Fprintln(b.w, sb.String())
}
