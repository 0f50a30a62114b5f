package record

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var compressions = []struct {
	name string
	ext  string
	comp Compression
}{{"plain", ".ndjson", None}, {"gzip", ".ndjson.gz", Gzip}, {"zstd", ".ndjson.zst", Zstd}}

// A typical stock trade frame, about 300 bytes.
var tradeFrame = []byte(`{"event":"data","data":{"symbol":"2330","type":"EQUITY","exchange":"TWSE","market":"TSE","bid":567,"ask":568,"price":568,"size":4778,"volume":54538,"isClose":true,"time":1685338200000000,"serial":6652422},"id":"aBcDeFgHiJkLmNoPqRsTuVwXyZ0123","channel":"trades"}`)

var t0 = time.Date(2026, 5, 29, 9, 0, 0, 0, time.UTC)

// syncBuffer is a bytes.Buffer safe to read while the writer goroutine
// writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// decompress returns as much of a (possibly cut) stream as decodes.
func decompress(t testing.TB, data []byte) []byte {
	t.Helper()
	var r io.Reader
	switch {
	case bytes.HasPrefix(data, gzipMagic):
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil
		}
		defer gz.Close()
		r = gz
	case bytes.HasPrefix(data, zstdMagic):
		zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		return data
	}
	var out bytes.Buffer
	_, _ = io.Copy(&out, r)
	return out.Bytes()
}

// readAll reads every line, copying Raw, and returns the final error (nil
// at a clean end).
func readAll(t testing.TB, data []byte, opts ...ReaderOption) ([]Line, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), opts...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var lines []Line
	for l, err := range r.Lines() {
		if err != nil {
			return lines, err
		}
		l.Raw = bytes.Clone(l.Raw)
		lines = append(lines, l)
	}
	return lines, nil
}

func frames(lines []Line) [][]byte {
	var out [][]byte
	for _, l := range lines {
		if l.Kind == KindFrame {
			out = append(out, l.Raw)
		}
	}
	return out
}

// waitFor polls cond until it holds or a generous deadline passes: the
// machine is shared and slow, so the deadline only catches a hang.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stallWriter blocks every Write from the first one on until released, and
// says when the first Write arrived.
type stallWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	buf     syncBuffer
}

func newStallWriter() *stallWriter {
	return &stallWriter{entered: make(chan struct{}), release: make(chan struct{})}
}

func (s *stallWriter) Write(p []byte) (int, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.buf.Write(p)
}

var errDiskFull = errors.New("no space left on device")

// fullWriter accepts limit bytes, then fails every write.
type fullWriter struct {
	limit int
	n     int
}

func (f *fullWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.limit {
		k := f.limit - f.n
		f.n = f.limit
		return k, errDiskFull
	}
	f.n += len(p)
	return len(p), nil
}
