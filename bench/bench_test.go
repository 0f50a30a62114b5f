package main

import (
	"context"
	"encoding/json"
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
		"gorilla-raw": func() (clientRun, error) { return rawClient(ctx, ep.base, work, n, nil) },
		"sdk":         func() (clientRun, error) { return sdkClient(ctx, ep.base, work, n, 1024, sdkHooks{}) },
	} {
		run, sr, err := stream(ep, &job{work: work, n: n}, client)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if run.messages != n || sr.frames != n || len(run.problems) > 0 {
			t.Fatalf("%s: %d messages, endpoint sent %d, problems %v", name, run.messages, sr.frames, run.problems)
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
