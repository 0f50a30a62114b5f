package record

import (
	"io"
	"testing"
	"time"
)

// writeFrames hands n trade frames to w, waiting whenever the writer
// goroutine falls behind, so that none is dropped. With b set, the timer
// runs only during the Frame calls.
func writeFrames(b *testing.B, w *Writer, n int) {
	at := time.Now()
	for i := range n {
		if i%1024 == 0 && w.Stats().Written+1024 < uint64(i) {
			if b != nil {
				b.StopTimer()
			}
			for w.Stats().Written+256 < uint64(i) {
				time.Sleep(50 * time.Microsecond) // leave the CPU to the writer
			}
			if b != nil {
				b.StartTimer()
			}
		}
		w.Frame(In, 1, at, tradeFrame)
	}
}

// BenchmarkWriterFrame: the tap path, what the client's reader goroutine
// pays per 300-byte trade frame (copy into a pooled buffer, enqueue). The
// timer stops while the loop waits for the writer goroutine, so nothing
// is dropped and the drop path is not what is measured.
func BenchmarkWriterFrame(b *testing.B) {
	for _, c := range compressions {
		b.Run(c.name, func(b *testing.B) {
			w, err := NewWriter(io.Discard, c.comp, Options{QueueSize: 4096})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			writeFrames(b, w, b.N)
			b.StopTimer()
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			if st := w.Stats(); st.Lost != 0 {
				b.Fatalf("lost %d", st.Lost)
			}
		})
	}
}

// BenchmarkWriterEncode: the writer goroutine's work per frame, run
// synchronously: the auth and JSON checks, the line, and compression into
// io.Discard. Together with BenchmarkWriterFrame it bounds the frame rate
// a Writer sustains without dropping.
func BenchmarkWriterEncode(b *testing.B) {
	for _, c := range compressions {
		b.Run(c.name, func(b *testing.B) {
			w := newWriter(c.comp, Options{})
			if err := w.openOutput(nil, io.Discard, t0); err != nil {
				b.Fatal(err)
			}
			at := time.Now().UnixNano()
			b.SetBytes(int64(len(tradeFrame)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e := entryPool.Get().(*entry)
				e.kind, e.dir, e.conn, e.at = KindFrame, In, 1, at
				e.buf = append(e.buf[:0], tradeFrame...)
				w.handle(e)
			}
			w.closeOutput(t0)
			b.StopTimer()
			if err := w.Err(); err != nil || w.Stats().Written != uint64(b.N) {
				b.Fatal(err, w.Stats())
			}
		})
	}
}

// BenchmarkWriterFrameFull: the tap's cost when the queue is full and the
// frame is dropped (the destination never returns).
func BenchmarkWriterFrameFull(b *testing.B) {
	sw := newStallWriter()
	w, err := NewWriter(sw, Zstd, Options{QueueSize: 16, FlushInterval: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	w.Frame(In, 1, time.Now(), tradeFrame)
	<-sw.entered
	at := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.Frame(In, 1, at, tradeFrame)
	}
	b.StopTimer()
	close(sw.release)
	_ = w.Close()
}

// BenchmarkReader: reading back zstd frame lines, per line.
func BenchmarkReader(b *testing.B) {
	const n = 10000
	var buf syncBuffer
	w, _ := NewWriter(&buf, Zstd, Options{})
	writeFrames(nil, w, n)
	_ = w.Close()
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(tradeFrame)))
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		lines, err := readAll(b, data)
		if err != nil || len(lines) != n+2 {
			b.Fatal(len(lines), err)
		}
	}
}
