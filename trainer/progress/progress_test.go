package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func fakeClock(b *Bar, t *time.Time) { b.now = func() time.Time { return *t } }

func TestPlainLinesAreRateLimitedAndFinal(t *testing.T) {
	var buf bytes.Buffer
	no := false
	b := New(&buf, "train", 100, Options{Unit: "img", Every: time.Second, Terminal: &no})
	now := b.start
	fakeClock(b, &now)
	b.Add(10, "loss 1.0")
	if buf.Len() != 0 {
		t.Fatalf("a line before the interval passed: %q", buf.String())
	}
	now = now.Add(2 * time.Second)
	b.Add(10, "loss 0.5")
	now = now.Add(2 * time.Second)
	b.Add(80, "")
	b.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %d: %q", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "20/100 img") || !strings.Contains(lines[0], "10.0 img/s") || !strings.Contains(lines[0], "loss 0.5") {
		t.Errorf("first line %q", lines[0])
	}
	if !strings.Contains(lines[2], "100/100 img (100%)") || !strings.Contains(lines[2], "25.0 img/s") || !strings.Contains(lines[2], "in 4s") {
		t.Errorf("final line %q", lines[2])
	}
	if strings.Contains(buf.String(), "\r") {
		t.Error("plain output contains carriage returns")
	}
}

func TestTerminalRedraws(t *testing.T) {
	var buf bytes.Buffer
	yes := true
	b := New(&buf, "", 4, Options{Terminal: &yes})
	now := b.start
	fakeClock(b, &now)
	now = now.Add(time.Second)
	b.Add(2, "")
	b.Done()
	out := buf.String()
	if strings.Count(out, "\r\033[K") != 2 || !strings.Contains(out, "[============            ] 2/4") || !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal output %q", out)
	}
}

func TestNilBarIsSilent(t *testing.T) {
	var b *Bar
	b.Add(1, "x")
	b.Done()
	if b.Rate() != 0 {
		t.Fatal("nil bar has a rate")
	}
}
