package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/messages"
)

// The pool's frames must be what the protocol says: valid frames that the
// SDK's decoder accepts, with the serial digits where the endpoint rewrites
// them.
func TestPoolFramesDecode(t *testing.T) {
	for _, width := range []int{9, 19} {
		w := newWorkload(symbolList(50), false, width)
		dec := messages.NewDecoder()
		counts := map[messages.Channel]int{}
		for i, fr := range w.pool.frames {
			if fr.serial >= 0 {
				if width == 19 {
					putStamp(w.pool.buf, fr.serial, 1_700_000_000_123_456_789)
				} else {
					putSerial(w.pool.buf, fr.serial, width, int64(i))
				}
			}
			payload := w.pool.buf[fr.end-fr.payload : fr.end]
			if !json.Valid(payload) {
				t.Fatalf("frame %d is not JSON: %s", i, payload)
			}
			f, err := dec.Frame(payload)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			counts[f.Channel]++
			switch f.Channel {
			case messages.ChannelTrades:
				var v messages.Trade
				if err := dec.Trade(&f, &v); err != nil {
					t.Fatal(err)
				}
				want := int64(100_000_000 + i)
				if width == 19 {
					want = 1_700_000_000_123_456_789
				}
				if v.Serial != want {
					t.Fatalf("frame %d: serial %d, want %d", i, v.Serial, want)
				}
				if f.ID != subscriptionID("trades", v.Symbol) {
					t.Fatalf("frame %d: id %q does not match its ack", i, f.ID)
				}
			case messages.ChannelBooks:
				var v messages.Book
				if err := dec.Book(&f, &v); err != nil || len(v.Bids) != 5 || len(v.Asks) != 5 {
					t.Fatalf("frame %d: %v, %d bids, %d asks", i, err, len(v.Bids), len(v.Asks))
				}
			case messages.ChannelAggregates:
				var v messages.Aggregate
				if err := dec.Aggregate(&f, &v); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("frame %d: channel %q", i, f.Channel)
			}
		}
		total := len(w.pool.frames)
		for ch, pct := range map[messages.Channel]int{messages.ChannelTrades: mixTrades, messages.ChannelBooks: mixBooks, messages.ChannelAggregates: mixAggregates} {
			got := counts[ch] * 100 / total
			if got < pct-3 || got > pct+3 {
				t.Errorf("%s: %d%% of frames, want about %d%%", ch, got, pct)
			}
		}
	}
}

func TestSplitWorkloadCoversEverySymbol(t *testing.T) {
	w := newWorkload(symbolList(2000), true, 9)
	if n := w.subscriptionCount(); n != 2000 {
		t.Fatalf("%d subscriptions, want 2000", n)
	}
	seen := map[string]bool{}
	for _, fr := range w.pool.frames {
		payload := string(w.pool.buf[fr.end-fr.payload : fr.end])
		_, rest, _ := strings.Cut(payload, `"symbol":"`)
		sym, _, _ := strings.Cut(rest, `"`)
		seen[sym] = true
	}
	if len(seen) != 2000 {
		t.Fatalf("the pool covers %d symbols, want 2000", len(seen))
	}
}

// A short run of both Go clients through the endpoint: every frame arrives,
// nothing is dropped, and latency samples are plausible.
func TestEndToEndSmall(t *testing.T) {
	ep, err := newEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer ep.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	work := newWorkload(symbolList(10), false, 9)
	const n = 20_000 // more than the pool, so the stream wraps around it
	for name, client := range map[string]func() (clientRun, error){
		"gorilla-raw":     func() (clientRun, error) { return rawClient(ctx, ep.base, work, n, nil) },
		"sdk":             func() (clientRun, error) { return sdkClient(ctx, ep.base, work, n, 1024, sdkHooks{}) },
		"gorilla-json":    func() (clientRun, error) { return handClient(ctx, ep.base, work, n, 1024, decodeJSON) },
		"gorilla-gjson":   func() (clientRun, error) { return handClient(ctx, ep.base, work, n, 1024, decodeGJSON) },
		"raw-decode":      func() (clientRun, error) { return decoderClient(ctx, ep.base, work, n, 1024, false) },
		"raw-decode-chan": func() (clientRun, error) { return decoderClient(ctx, ep.base, work, n, 1024, true) },
	} {
		run, sr, err := stream(ep, &job{work: work, n: n}, client)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if run.messages != n || sr.frames != n || len(run.problems) > 0 {
			t.Fatalf("%s: %d messages, endpoint sent %d, problems %v", name, run.messages, sr.frames, run.problems)
		}
		if run.cpuOK && (run.cpu <= 0 || !run.endpointOK || run.endpointCPU <= 0) {
			t.Fatalf("%s: CPU %v, endpoint %v (%v)", name, run.cpu, run.endpointCPU, run.endpointOK)
		}
	}

	lat := newWorkload(symbolList(10), false, 19)
	sink := &latencySink{}
	run, _, err := stream(ep, &job{work: lat, n: 500, rate: 5000}, func() (clientRun, error) {
		return sdkClient(ctx, ep.base, lat, 500, 1024, sdkHooks{sink: sink})
	})
	if err != nil {
		t.Fatal(err)
	}
	row := percentiles("sdk", 5000, run.messages, run.latency)
	if row.Samples < 150 || row.P50us <= 0 || row.MaxUs > 1e6 {
		t.Fatalf("implausible latency: %+v", row)
	}
}

func TestPercentiles(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 1000; i++ {
		s = append(s, time.Duration(i)*time.Microsecond)
	}
	r := percentiles("x", 1, 1000, s)
	if r.P50us != 500 || r.P99us != 990 || r.P999us != 999 || r.MaxUs != 1000 {
		t.Fatalf("%+v", r)
	}
}

func TestChartSVG(t *testing.T) {
	r := &results{
		Throughput: []throughputRow{{Client: "gorilla-raw", MsgsPerSec: 4e6}, {Client: "sdk", MsgsPerSec: 5e5}, {Client: "node-sdk", Skipped: "skipped: node not found"}},
		Latency:    []latencyRow{{Client: "sdk", Samples: 10, P50us: 30, P90us: 50, P99us: 90, P999us: 150, MaxUs: 900}},
		Targets:    []target{{Name: "a", Goal: "b", Met: true}},
	}
	svg := chartSVG(r)
	if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") || !strings.Contains(svg, "skipped: node not found") {
		t.Fatalf("unexpected SVG:\n%s", svg)
	}
}

// BenchmarkDecodeMix decodes the endpoint's frame mix the way the SDK's
// reader does (Frame, then the typed method), without the socket: the
// decoder's share of the sdk row.
func BenchmarkDecodeMix(b *testing.B) {
	w := newWorkload(symbolList(50), false, 9)
	dec := messages.NewDecoder()
	var (
		tr messages.Trade
		bk messages.Book
		ag messages.Aggregate
	)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fr := w.pool.frames[i%len(w.pool.frames)]
		f, err := dec.Frame(w.pool.buf[fr.end-fr.payload : fr.end])
		if err != nil {
			b.Fatal(err)
		}
		switch f.Channel {
		case messages.ChannelTrades:
			err = dec.Trade(&f, &tr)
		case messages.ChannelBooks:
			err = dec.Book(&f, &bk)
		default:
			err = dec.Aggregate(&f, &ag)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestComputeRatios(t *testing.T) {
	cpu := func(v float64) *float64 { return &v }
	rows := []throughputRow{
		{Client: "gorilla-raw", MsgsPerSec: 4e6, CPUPerMillion: cpu(0.3)},
		{Client: "sdk", MsgsPerSec: 8e5, CPUPerMillion: cpu(1.5)},
		{Client: "gorilla-json", MsgsPerSec: 1e5},
		{Client: "gorilla-gjson", MsgsPerSec: 2e5},
		{Client: "node-sdk", Skipped: "skipped: node not found", MsgsPerSec: 1},
	}
	b := newBound(4e6, 750, 1000, 3) // 250 ns + 750 ns
	if b.NsPerMsg != 1000 || b.MsgsPerSec != 1e6 || b.RawNsPerMsg != 250 {
		t.Fatalf("bound %+v", b)
	}
	r := computeRatios(rows, b)
	want := ratios{SDKToGorillaRaw: 0.2, SDKToGorillaJSON: 8, SDKToGorillaGJSON: 4, SDKToBound: 0.8,
		CPUPerMillion: map[string]float64{"gorilla-raw": 0.3, "sdk": 1.5}}
	if r.SDKToGorillaRaw != want.SDKToGorillaRaw || r.SDKToNode != 0 || r.SDKToGorillaJSON != want.SDKToGorillaJSON ||
		r.SDKToGorillaGJSON != want.SDKToGorillaGJSON || r.SDKToBound != want.SDKToBound || len(r.CPUPerMillion) != 2 || r.CPUPerMillion["sdk"] != 1.5 {
		t.Fatalf("%+v, want %+v", r, want)
	}
	if newBound(0, 750, 1, 1) != nil || newBound(4e6, 0, 1, 1) != nil {
		t.Fatal("a bound without both halves")
	}
	if r := computeRatios(rows, nil); r.SDKToBound != 0 {
		t.Fatalf("sdk_to_bound %v without a bound", r.SDKToBound)
	}
}

func TestCPUMath(t *testing.T) {
	proc := cpuTime{user: 900e6, sys: 300e6}
	writer := cpuTime{user: 50e6, sys: 150e6}
	if got := clientCPU(proc, writer); got != time.Second {
		t.Fatalf("clientCPU %v, want 1s", got)
	}
	if got := clientCPU(writer, proc); got != 0 {
		t.Fatalf("clientCPU %v, want 0 when the writer's exceeds the process's", got)
	}
	if got := (cpuTime{user: 5, sys: 7}).sub(cpuTime{user: 2, sys: 3}); got != (cpuTime{user: 3, sys: 4}) {
		t.Fatalf("sub %+v", got)
	}
	if got := perMillion(1500*time.Millisecond, 500_000); got != 3 {
		t.Fatalf("perMillion %v, want 3", got)
	}
	if perMillion(time.Second, 0) != 0 {
		t.Fatal("perMillion of no messages")
	}
	if before, ok := processCPU(); ok {
		spin := 0
		for i := 0; i < 20_000_000; i++ {
			spin += i % 7
		}
		after, _ := processCPU()
		if after.sub(before).total() <= 0 {
			t.Fatalf("no CPU over a busy loop (%d)", spin)
		}
	}
}

// A results file written before the rivals, the bound and the CPU figures
// existed still reads, prints and charts.
func TestOldResultsFile(t *testing.T) {
	old := `{"machine":{"os":"linux","cpus":2},"config":{"messages":1000000},
	"throughput":[{"client":"gorilla-raw","messages":1000000,"seconds":0.197,"msgs_per_sec":5068044,"mb_per_sec":2489.7},
	{"client":"sdk","messages":1000000,"seconds":1.31,"msgs_per_sec":763153,"mb_per_sec":374.9,"dropped":0,"malformed":0}],
	"ratios":{"sdk_to_gorilla_raw":0.15,"sdk_to_node_sdk":3.9},"latency":[],"targets":[{"name":"sdk / gorilla-raw msg/s","goal":">= 0.80","value":0.15,"met":false}],
	"valid":true,"problems":null}`
	path := filepath.Join(t.TempDir(), "old.json")
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := readResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bound != nil || r.Throughput[1].CPUPerMillion != nil || r.Ratios.SDKToNode != 3.9 {
		t.Fatalf("%+v", r)
	}
	var b strings.Builder
	printTable(&b, r)
	if !strings.Contains(b.String(), "763,153") || strings.Contains(b.String(), "bound:") {
		t.Fatalf("table:\n%s", b.String())
	}
	if svg := chartSVG(r); !strings.Contains(svg, "</svg>") {
		t.Fatal("no chart")
	}
}

func TestDecodeNanos(t *testing.T) {
	w := newWorkload(symbolList(10), false, 9)
	ns, err := decodeNanos(w.pool, 2000, 2)
	if err != nil || ns <= 0 || ns > 1e6 {
		t.Fatalf("%v ns per frame, %v", ns, err)
	}
}
