package record

import (
	"io"
	"runtime"
	"testing"
	"time"
)

// writeFrames hands n trade frames to w, pausing whenever the writer
// goroutine falls behind, so that none is dropped.
func writeFrames(w *Writer, n int) {
	at := time.Now()
	for i := range n {
		if i%1024 == 0 {
			for w.Stats().Written+1024 < uint64(i) {
				runtime.Gosched()
			}
		}
		w.Frame(In, 1, at, tradeFrame)
	}
}

// BenchmarkWriterFrame: one 300-byte trade frame recorded, end to end:
// the tap's copy and enqueue plus the writer goroutine's encoding and
// compression (allocations count both goroutines). The loop paces itself
// to the writer, so nothing is dropped and ns/op is the sustained cost.
func BenchmarkWriterFrame(b *testing.B) {
	for _, c := range compressions {
		b.Run(c.name, func(b *testing.B) {
			w, err := NewWriter(io.Discard, c.comp, Options{QueueSize: 4096})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(tradeFrame)))
			b.ReportAllocs()
			b.ResetTimer()
			writeFrames(w, b.N)
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if st := w.Stats(); st.Lost != 0 {
				b.Fatalf("lost %d", st.Lost)
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
	writeFrames(w, n)
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
