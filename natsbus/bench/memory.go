package main

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"time"

	"github.com/go-fugle/marketdata/natsbus"
)

// memSample is one reading of the process's memory.
type memSample struct {
	Label     string  `json:"label"`
	Frames    int     `json:"frames"`  // values the consumer had received
	Seconds   float64 `json:"seconds"` // since the first value
	HeapInuse uint64  `json:"heap_inuse_bytes"`
	RSS       uint64  `json:"rss_bytes"`
	NumGC     uint32  `json:"num_gc"`
}

// memoryResult is the memory run.
type memoryResult struct {
	Frames     int     `json:"frames"`
	Received   int     `json:"received"`
	Lost       int     `json:"lost"`
	Dropped    uint64  `json:"dropped"`
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	// DuplicatesSeconds is the stream's duplicate window, the gateway's
	// default.
	DuplicatesSeconds float64          `json:"duplicates_window_seconds"`
	Samples           []memSample      `json:"samples"`
	AfterWindow       *memSample       `json:"after_window,omitempty"`
	Gateway           *gatewayCounters `json:"gateway"`
	StreamMsgs        uint64           `json:"stream_msgs"`
	StreamBytes       uint64           `json:"stream_bytes"`
	StoreBytes        int64            `json:"store_dir_bytes"`
	// IDsInWindow is how many message ids the server held for duplicate
	// detection at the end: the frames published in the last window.
	IDsInWindow int `json:"ids_in_window"`
	// WindowHeap is HeapInuse at the end less HeapInuse once the window
	// had passed, and WindowBytesPerID that over IDsInWindow; 0 without
	// -memory-settle.
	WindowHeap       int64   `json:"window_heap_bytes"`
	WindowBytesPerID float64 `json:"window_bytes_per_id"`
	Error            string  `json:"error,omitempty"`
}

func readMem(label string, frames int, since time.Time) memSample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := memSample{Label: label, Frames: frames, HeapInuse: ms.HeapInuse, RSS: rssBytes(), NumGC: ms.NumGC}
	if !since.IsZero() {
		s.Seconds = round3(time.Since(since).Seconds())
	}
	return s
}

// memoryRun sends n frames through the bus with file storage and the
// default duplicate window, reading the memory on the way; with settle it
// waits until the window has passed after the last frame and reads it once
// more.
func memoryRun(ctx context.Context, ep *endpoint, w *workload, n int, settle bool, progress func(string, ...any)) (*memoryResult, error) {
	m := &memoryResult{Frames: n, DuplicatesSeconds: natsbus.DefaultDuplicates.Seconds()}
	ctx, cancel := context.WithTimeout(ctx, runTimeout(n)+2*natsbus.DefaultDuplicates)
	defer cancel()
	m.Samples = append(m.Samples, readMem("before the NATS server and the gateway", 0, time.Time{}))
	b, err := startBus(ctx, ep, w, busOptions{})
	if err != nil {
		return m, err
	}
	defer b.close()
	m.Samples = append(m.Samples, readMem("server and gateway up, nothing subscribed", 0, time.Time{}))
	client, err := b.client()
	if err != nil {
		return m, err
	}

	var first time.Time
	at := []int{1}
	for k := 1; k <= 10; k++ {
		if v := n * k / 10; v > at[len(at)-1] {
			at = append(at, v)
		}
	}
	h := hooks{at: at, call: func(k int) {
		if k == 1 {
			first = time.Now()
			m.Samples = append(m.Samples, readMem("at the first value", k, first))
			return
		}
		s := readMem(fmt.Sprintf("after %d values", k), k, first)
		m.Samples = append(m.Samples, s)
		progress("  %d frames, %.0f s: HeapInuse %s, RSS %s", k, s.Seconds, mib(s.HeapInuse), mib(s.RSS))
	}}
	j := newJob(w, n, 0)
	ep.start(j)
	defer ep.start(nil)
	c, sr, err := consume(ctx, client, w, j, h)
	g := b.counters()
	m.Gateway = &g
	m.Received, m.Lost, m.Dropped = c.received, sr.frames-c.received, dropped(c.stats)
	if el := c.last.Sub(c.first); c.received > 1 && el > 0 {
		m.Seconds = round3(el.Seconds())
		m.MsgsPerSec = round1(float64(c.received-1) / el.Seconds())
	}
	if err == nil {
		err = sr.err
	}
	if err != nil {
		return m, err
	}
	m.StreamMsgs, m.StreamBytes, _ = b.streamState(ctx)
	_ = filepath.WalkDir(b.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				m.StoreBytes += info.Size()
			}
		}
		return nil
	})
	m.IDsInWindow = idsInWindow(m.Samples, natsbus.DefaultDuplicates)
	if !settle {
		return m, nil
	}
	wait := natsbus.DefaultDuplicates + 5*time.Second - time.Since(c.last)
	progress("  waiting %.0f s for the duplicate window to pass", wait.Seconds())
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return m, ctx.Err()
	}
	s := readMem("duplicate window passed", c.received, first)
	m.AfterWindow = &s
	last := m.Samples[len(m.Samples)-1]
	m.WindowHeap = int64(last.HeapInuse) - int64(s.HeapInuse)
	if m.IDsInWindow > 0 {
		m.WindowBytesPerID = round1(float64(m.WindowHeap) / float64(m.IDsInWindow))
	}
	return m, nil
}

// idsInWindow is how many frames arrived in the last window of the run,
// from the samples' counts and times (the rate between two samples taken
// as steady).
func idsInWindow(samples []memSample, window time.Duration) int {
	var run []memSample
	for _, s := range samples {
		if s.Frames > 0 {
			run = append(run, s)
		}
	}
	if len(run) == 0 {
		return 0
	}
	last := run[len(run)-1]
	from := last.Seconds - window.Seconds()
	if from <= 0 {
		return last.Frames
	}
	for i := len(run) - 1; i > 0; i-- {
		a, b := run[i-1], run[i]
		if a.Seconds <= from {
			frac := (from - a.Seconds) / (b.Seconds - a.Seconds)
			at := float64(a.Frames) + frac*float64(b.Frames-a.Frames)
			return last.Frames - int(at)
		}
	}
	return last.Frames
}
