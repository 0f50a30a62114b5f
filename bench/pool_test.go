package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRoutedFrames(t *testing.T) {
	owned := []bool{true, false, true, false, false} // 2 of every 5
	for _, c := range []struct{ n, want int }{{0, 0}, {1, 1}, {2, 1}, {3, 2}, {5, 2}, {11, 5}, {13, 6}} {
		if got := routedFrames(c.n, owned); got != c.want {
			t.Errorf("routedFrames(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	if routedFrames(10, nil) != 0 {
		t.Error("no frames: want 0")
	}
	// The parts of a split add up to the whole stream.
	a, b := []bool{true, false, true}, []bool{false, true, false}
	for n := 0; n < 10; n++ {
		if got := routedFrames(n, a) + routedFrames(n, b); got != n {
			t.Errorf("n %d: parts add up to %d", n, got)
		}
	}
}

// A part of the pool holds exactly the frames of its keys, byte for byte,
// with the serial offsets moved with them.
func TestPoolPart(t *testing.T) {
	w := newWorkload(symbolList(10), false, 9)
	keys := map[string]bool{}
	for _, s := range w.subs {
		for i, sym := range s.Symbols {
			if i%2 == 0 {
				keys[subKey(s.Channel, sym)] = true
			}
		}
	}
	part, owned := w.pool.part(keys)
	rest, owned2 := w.pool.part(invert(w, keys))
	if len(part.frames)+len(rest.frames) != len(w.pool.frames) || len(part.frames) == 0 || len(rest.frames) == 0 {
		t.Fatalf("parts of %d and %d frames of %d", len(part.frames), len(rest.frames), len(w.pool.frames))
	}
	k := 0
	for i, fr := range w.pool.frames {
		if owned[i] == owned2[i] {
			t.Fatalf("frame %d in both parts or neither", i)
		}
		if !owned[i] {
			continue
		}
		pf := part.frames[k]
		k++
		if !keys[pf.key] || string(part.buf[pf.start:pf.end]) != string(w.pool.buf[fr.start:fr.end]) {
			t.Fatalf("frame %d differs in the part", i)
		}
		if fr.serial >= 0 && pf.serial-pf.start != fr.serial-fr.start {
			t.Fatalf("frame %d: serial at %d of the frame, want %d", i, pf.serial-pf.start, fr.serial-fr.start)
		}
	}
	if part.width != w.pool.width || len(part.buf) != part.frames[len(part.frames)-1].end {
		t.Fatal("part's buffer is not its frames back to back")
	}
}

func invert(w *workload, keys map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range w.subs {
		for _, sym := range s.Symbols {
			if k := subKey(s.Channel, sym); !keys[k] {
				out[k] = true
			}
		}
	}
	return out
}

func TestPoolPlan(t *testing.T) {
	for _, c := range []struct{ symbols, per int }{{50, 75}, {1, 2}, {3, 5}} {
		p := poolPlan(newWorkload(symbolList(c.symbols), false, 9))
		if p.Connections != 2 || p.SubscriptionsPerConnection != c.per {
			t.Errorf("%d symbols: %+v, want 2 × %d", c.symbols, p, c.per)
		}
	}
}

func TestCollect(t *testing.T) {
	done := make(chan streamResult, 2)
	done <- streamResult{frames: 3, bytes: 30, cpu: cpuTime{user: 1, sys: 2}, cpuOK: true}
	done <- streamResult{frames: 4, bytes: 40, cpu: cpuTime{user: 10, sys: 20}, cpuOK: true}
	sr, err := collect(done, 2, time.Second)
	if err != nil || sr.frames != 7 || sr.bytes != 70 || sr.cpu != (cpuTime{11, 22}) || !sr.cpuOK {
		t.Fatalf("%+v, %v", sr, err)
	}
	done <- streamResult{frames: 3, cpuOK: true}
	done <- streamResult{frames: 4}
	if sr, _ := collect(done, 2, time.Second); sr.cpuOK {
		t.Fatal("one writer's CPU unread, yet the sum counts")
	}
	done <- streamResult{frames: 3}
	if _, err := collect(done, 2, 10*time.Millisecond); err == nil {
		t.Fatal("a missing part did not time out")
	}
}

func TestPoolRatiosAndTargets(t *testing.T) {
	r := computeRatios([]throughputRow{{Client: "sdk", MsgsPerSec: 1000}, {Client: "sdk-pool", MsgsPerSec: 930}}, nil)
	if r.SDKPoolToSDK != 0.93 {
		t.Fatalf("sdk_pool_to_sdk %v", r.SDKPoolToSDK)
	}
	if computeRatios([]throughputRow{{Client: "sdk-pool", MsgsPerSec: 930}}, nil).SDKPoolToSDK != 0 {
		t.Fatal("a ratio without sdk")
	}
	if tg := poolThroughputTarget(0.93); !tg.Met || tg.Goal != ">= 0.90" {
		t.Fatalf("%+v", tg)
	}
	if tg := poolThroughputTarget(0.89); tg.Met {
		t.Fatalf("%+v", tg)
	}
	if tg := poolThroughputTarget(0); tg.Met || tg.Reason == "" {
		t.Fatalf("%+v", tg)
	}
	rows := []latencyRow{
		{Client: "sdk", Samples: 10, P99us: 100},
		{Client: "sdk-record", Samples: 10, P99us: 130},
		{Client: "sdk-pool", Samples: 10, P99us: 115},
		{Client: "sdk", Samples: 10, P99us: 120, Repeat: true},
	}
	delta, noise, ok := p99Shift(rows, "sdk-pool")
	if !ok || delta != 5 || noise != 20 {
		t.Fatalf("p99Shift: %v %v %v", delta, noise, ok)
	}
	if d, _, _ := latencyShift(rows); d != 20 {
		t.Fatalf("latencyShift moved: %v", d)
	}
	if _, _, ok := p99Shift(rows[:3], "sdk-pool"); ok {
		t.Fatal("one sdk run is no noise")
	}
	tg := poolLatencyTarget(&delta, &noise)
	if !tg.Met || tg.Name != "sdk-pool p99 - sdk p99 (µs)" || tg.Goal != "|Δ| < 20.0" || !strings.Contains(tg.Note, "sdk-pool") {
		t.Fatalf("%+v", tg)
	}
	if tg := poolLatencyTarget(nil, &noise); tg.Met || tg.Reason == "" {
		t.Fatalf("%+v", tg)
	}
}

// sdk-pool through the routing endpoint, flooded and paced: the two
// connections together receive each frame once, nothing is dropped, and
// both connections carry part of the stream.
func TestPoolClient(t *testing.T) {
	ep, err := newEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer ep.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	work := newWorkload(symbolList(10), false, 9)
	const n = 20_000
	j := &job{work: work, n: n, route: true, conns: poolConnections}
	run, sr, err := stream(ep, j, func() (clientRun, error) { return poolClient(ctx, ep.base, work, n, 1024, sdkHooks{}) })
	if err != nil {
		t.Fatal(err)
	}
	if run.messages != n || sr.frames != n || len(run.problems) > 0 {
		t.Fatalf("%d messages, endpoint sent %d, problems %v", run.messages, sr.frames, run.problems)
	}
	if len(j.joined) != poolConnections {
		t.Fatalf("%d connections subscribed, want %d", len(j.joined), poolConnections)
	}
	for _, c := range j.joined {
		if c.n == 0 || c.n == n || len(c.keys) != work.subscriptionCount()/poolConnections {
			t.Fatalf("a connection got %d frames of %d, %d keys", c.n, n, len(c.keys))
		}
	}
	if st := run.stats; st == nil || st.Connections != poolConnections {
		t.Fatalf("stats %+v", st)
	}

	lat := newWorkload(symbolList(10), false, 19)
	sink := &latencySink{}
	run, sr, err = stream(ep, &job{work: lat, n: 1000, rate: 5000, route: true, conns: poolConnections}, func() (clientRun, error) {
		return poolClient(ctx, ep.base, lat, 1000, 1024, sdkHooks{sink: sink})
	})
	if err != nil {
		t.Fatal(err)
	}
	row := percentiles("sdk-pool", 5000, run.messages, run.latency)
	if sr.frames != 1000 || row.Samples < 300 || row.P50us <= 0 || row.MaxUs > 1e6 {
		t.Fatalf("implausible latency: %d frames, %+v", sr.frames, row)
	}
}
