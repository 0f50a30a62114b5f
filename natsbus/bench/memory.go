package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/natsbus"
)

// memSample is one reading of the process's memory.
type memSample struct {
	Label     string  `json:"label"`
	Frames    int     `json:"frames"`  // frames JetStream had stored
	Seconds   float64 `json:"seconds"` // since the first stored frame
	HeapInuse uint64  `json:"heap_inuse_bytes"`
	RSS       uint64  `json:"rss_bytes"`
	NumGC     uint32  `json:"num_gc"`
}

// memoryResult is the memory run.
type memoryResult struct {
	Frames     int     `json:"frames"`
	Sent       int     `json:"sent"`
	Stored     int     `json:"stored"` // the messages in the stream
	Lost       int     `json:"lost"`   // sent - stored
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
	// detection at the end: the frames stored in the last window.
	IDsInWindow int `json:"ids_in_window"`
	// PeakIDsInWindow is the most the window held at any sample: the
	// server's map of ids keeps the room it grew to.
	PeakIDsInWindow int `json:"peak_ids_in_window"`
	// WindowHeap is HeapInuse at the end less HeapInuse once the window
	// had passed, and WindowBytesPerID that over IDsInWindow; 0 without
	// -memory-settle.
	WindowHeap       int64   `json:"window_heap_bytes"`
	WindowBytesPerID float64 `json:"window_bytes_per_id"`
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

// memoryRun sends n frames through the gateway into JetStream (file
// storage, the default duplicate window) as fast as it stores them, reading
// the memory on the way; with settle it waits until the window has passed
// after the last frame and reads it once more.
//
// A natsbus.Client holds the keys, so that the gateway subscribes to them,
// but nothing reads its channels: its reader blocks once they are full and
// its JetStream consumer stops pulling. The run measures the gateway and
// the server taking the frames in, at the rate they can, rather than the
// rate of a consumer filtering on every key (see the throughput runs).
func memoryRun(ctx context.Context, ep *endpoint, w *workload, n int, settle bool, progress func(string, ...any)) (m *memoryResult, err error) {
	m = &memoryResult{Frames: n, DuplicatesSeconds: natsbus.DefaultDuplicates.Seconds()}
	ctx, cancel := context.WithTimeout(ctx, runTimeout(n)+2*natsbus.DefaultDuplicates)
	defer cancel()
	m.Samples = append(m.Samples, readMem("before the NATS server and the gateway", 0, time.Time{}))
	b, err := startBus(ctx, ep, w, busOptions{})
	if err != nil {
		return m, err
	}
	defer b.close()
	m.Samples = append(m.Samples, readMem("server and gateway up, nothing subscribed", 0, time.Time{}))

	j := newJob(w, n, 0)
	ep.start(j)
	defer ep.start(nil)
	defer j.cancel()
	client, err := b.client()
	if err != nil {
		return m, err
	}
	closed := false
	defer func() {
		if !closed {
			_ = client.Close()
		}
	}()
	go func() { // events never block the client
		for range client.Events() {
		}
	}()
	if err := client.Connect(ctx); err != nil {
		return m, err
	}
	for _, sub := range w.subs {
		if err := client.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.Channel(sub.channel), Symbols: sub.symbols}); err != nil {
			return m, fmt.Errorf("subscribe %s: %w", sub.channel, err)
		}
	}

	// Sample at the first stored frame and at every tenth of n, until all
	// n are stored or nothing more is stored for idleLimit. For each
	// sample the endpoint pauses and the gateway drains, so that the
	// reading is of a quiet process: under load, HeapInuse after a GC also
	// counts what was allocated while the GC ran, hundreds of MiB here.
	var first, last time.Time
	var pausedFor time.Duration
	next := []int{1}
	for k := 1; k <= 10; k++ {
		if v := n * k / 10; v > next[len(next)-1] {
			next = append(next, v)
		}
	}
	var sr streamResult
	gotStream := false
	stored, lastStored, lastChange := 0, -1, time.Now()
	tick := time.NewTicker(20 * time.Millisecond) // a reading of the counters gathers the whole registry
	defer tick.Stop()
	for len(next) > 0 {
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case sr = <-j.done:
			gotStream = true
			continue
		case now := <-tick.C:
			stored = b.counters().acked()
			if stored != lastStored {
				lastStored, lastChange, last = stored, now, now
			} else if gotStream && now.Sub(lastChange) > idleLimit {
				next = nil
				continue
			}
		}
		if stored < next[0] {
			continue
		}
		if first.IsZero() {
			first = time.Now()
		}
		j.paused.Store(true)
		stored = drain(ctx, b, j)
		label := fmt.Sprintf("after %d frames", stored)
		if next[0] == 1 {
			label = "at the first stored frame"
		}
		// Seconds is wall-clock time, pauses included: the server expires
		// message ids by the clock.
		reading := time.Now()
		s := readMem(label, stored, first)
		m.Samples = append(m.Samples, s)
		if next[0] > 1 {
			progress("  %d frames stored, %.0f s: HeapInuse %s, RSS %s", stored, s.Seconds, mib(s.HeapInuse), mib(s.RSS))
		}
		for len(next) > 0 && stored >= next[0] {
			next = next[1:]
		}
		j.paused.Store(false)
		pausedFor += time.Since(reading) // the rate leaves the readings out
		lastChange = time.Now()
	}
	if !gotStream {
		select {
		case sr = <-j.done:
		case <-time.After(idleLimit):
			sr.err = errors.New("the endpoint's stream did not finish")
		}
	}
	g := b.counters()
	m.Gateway = &g
	m.StreamMsgs, m.StreamBytes, _ = b.streamState(ctx)
	m.Sent, m.Stored = sr.frames, int(m.StreamMsgs)
	m.Lost = m.Sent - m.Stored
	if el := last.Sub(first) - pausedFor; m.Stored > 1 && el > 0 {
		m.Seconds = round3(el.Seconds())
		m.MsgsPerSec = round1(float64(m.Stored-1) / el.Seconds())
	}
	if sr.err != nil {
		return m, sr.err
	}
	_ = filepath.WalkDir(b.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				m.StoreBytes += info.Size()
			}
		}
		return nil
	})
	for i := range m.Samples {
		m.PeakIDsInWindow = max(m.PeakIDsInWindow, idsInWindow(m.Samples[:i+1], natsbus.DefaultDuplicates))
	}
	m.IDsInWindow = idsInWindow(m.Samples, natsbus.DefaultDuplicates)
	closed = true
	if err := client.Close(); err != nil {
		progress("  closing the client: %v", err)
	}
	if !settle {
		return m, nil
	}
	// Shortening the window to a second makes the server purge the ids at
	// once; should that purge still see the old window (the server resets
	// its timer before it stores the new one), the next comes no later
	// than when the first id would have expired, a window after the first
	// frame, which a run longer than the window has passed already.
	if err := b.setDuplicates(ctx, time.Second); err != nil {
		return m, err
	}
	wait := max(time.Until(first.Add(natsbus.DefaultDuplicates)), 0) + 2*time.Second
	progress("  window shortened to 1 s; reading the heap again in %.0f s", wait.Seconds())
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return m, ctx.Err()
	}
	s := readMem("ids dropped (window cut to 1 s; client closed)", m.Stored, first)
	m.AfterWindow = &s
	end := m.Samples[len(m.Samples)-1]
	m.WindowHeap = int64(end.HeapInuse) - int64(s.HeapInuse)
	if m.IDsInWindow > 0 {
		m.WindowBytesPerID = round1(float64(m.WindowHeap) / float64(m.IDsInWindow))
	}
	return m, nil
}

// drain waits until the gateway has stored every frame the endpoint sent
// (or idleLimit passes) and returns how many it stored.
func drain(ctx context.Context, b *bus, j *job) int {
	deadline := time.Now().Add(idleLimit)
	for {
		stored := b.counters().acked()
		if int64(stored) >= j.sent.Load() || time.Now().After(deadline) || ctx.Err() != nil {
			return stored
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// idsInWindow is how many frames were stored in the last window of the
// run, from the samples' counts and times (the rate between two samples
// taken as steady).
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
			return last.Frames - int(float64(a.Frames)+frac*float64(b.Frames-a.Frames))
		}
	}
	return last.Frames
}
