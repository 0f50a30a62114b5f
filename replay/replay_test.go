package replay_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/record"
	"github.com/go-fugle/marketdata/replay"
	"github.com/klauspost/compress/zstd"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	key  = "live-key-never-recorded"
	hang = 20 * time.Second
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	t.Cleanup(cancel)
	return ctx
}

// session is what a consumer of the ordered stream saw.
type session struct {
	values      []string
	disconnects int // not counting the last, after Close
	reconnects  int
	span        time.Duration // first value to last
}

var symbols = []string{"2330", "2317"}

// watch subscribes trades and books and reads the ordered stream until it
// has n values, running between after the first half of them.
func watch(t *testing.T, c *marketdata.WebSocketClient, n int, between func()) session {
	t.Helper()
	ctx := ctxFor(t)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []marketdata.Channel{marketdata.ChannelTrades, marketdata.ChannelBooks} {
		if err := c.Subscribe(ctx, marketdata.SubscribeRequest{Channel: ch, Symbols: symbols}); err != nil {
			t.Fatal(err)
		}
	}
	var s session
	var first time.Time
	for len(s.values) < n {
		m, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("after %d values: %v; last: %v", len(s.values), err, s.values[max(0, len(s.values)-6):])
		}
		switch v := m.(type) {
		case marketdata.Trade:
			s.values = append(s.values, fmt.Sprintf("#%d trade %s %d %v", v.Conn, v.Symbol, v.Serial, v.Snapshot))
		case marketdata.Book:
			s.values = append(s.values, fmt.Sprintf("#%d book %s %d %v", v.Conn, v.Symbol, v.Time, v.Snapshot))
		case marketdata.Disconnected:
			s.disconnects++
		case marketdata.Reconnected:
			s.reconnects++
		}
		switch _, isValue := m.(marketdata.Event); {
		case isValue:
		case first.IsZero():
			first = time.Now()
		default:
			s.span = time.Since(first)
		}
		if len(s.values) == n/2 && between != nil {
			between()
			between = nil
		}
	}
	return s
}

// recordSession records a session of the simulated feed with one dropped
// connection, and returns the file and what the live consumer saw.
func recordSession(t *testing.T, path string, n int, rate float64) session {
	t.Helper()
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey(key), marketdatatest.WithSimulatedFeed(rate), marketdatatest.WithFeedSeed(7))
	defer srv.Close()
	w, err := record.Create(path, record.Options{Endpoint: srv.StockURL(), Product: "stock", SDK: marketdata.Version})
	if err != nil {
		t.Fatal(err)
	}
	c, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		Endpoint: srv.StockURL(), APIKey: key, Ordered: true, Tap: w.ClientTap(),
		DropPolicy: marketdata.Block, BlockTimeout: -1,
		ReconnectInitialInterval: 10 * time.Millisecond, ReconnectMaxInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	live := watch(t, c, n, srv.DropAll)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Lost != 0 {
		t.Fatalf("the recorder lost %d frames", st.Lost)
	}
	return live
}

func replayClient(t *testing.T, r *replay.Server) *marketdata.WebSocketClient {
	t.Helper()
	c, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		Endpoint: r.Endpoint(), APIKey: "any", Ordered: true,
		DropPolicy: marketdata.Block, BlockTimeout: -1, // lose nothing at full speed
		ReconnectInitialInterval: 10 * time.Millisecond, ReconnectMaxInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRoundTripAsFastAsPossible(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.ndjson.zst")
	const n = 120
	live := recordSession(t, path, n, 100)
	if live.disconnects != 1 || live.reconnects != 1 {
		t.Fatalf("the live session saw %d disconnects and %d reconnects, want one each", live.disconnects, live.reconnects)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil) // for DecodeAll only
	if err != nil {
		t.Fatal(err)
	}
	plain, err := dec.DecodeAll(raw, nil)
	dec.Close()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, []byte(key)) || bytes.Contains(plain, []byte(`"auth"`)) {
		t.Fatal("the recording holds the credential")
	}

	r, err := replay.NewServer(path, replay.Speed(replay.Max))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := replayClient(t, r)
	t.Cleanup(func() {
		if t.Failed() {
			select {
			case <-r.Done():
				t.Logf("replay done: err %v, stats %+v", r.Err(), r.Stats())
			default:
				t.Logf("replay still running: stats %+v", r.Stats())
			}
		}
	})
	got := watch(t, c, n, nil)
	// Resubscribed is not compared: the supervisor emits it when the last
	// ack is in, and the snapshots read meanwhile may come before or after.
	if got.disconnects != live.disconnects || got.reconnects != live.reconnects {
		t.Fatalf("replay saw %d/%d disconnects/reconnects, live %d/%d",
			got.disconnects, got.reconnects, live.disconnects, live.reconnects)
	}
	for i := range live.values {
		if got.values[i] != live.values[i] {
			t.Fatalf("value %d: replay %q, live %q\nlive:   %s\nreplay: %s", i, got.values[i], live.values[i],
				strings.Join(live.values[max(0, i-3):i+1], " | "), strings.Join(got.values[max(0, i-3):i+1], " | "))
		}
	}
	if st := c.Stats().Messages; st.Dropped != 0 {
		t.Fatalf("dropped %d", st.Dropped)
	}
	if st := r.Stats(); st.Disconnects != 1 {
		t.Fatalf("replay stats %+v", st)
	}
}

func TestReplayAtTenTimesTakesATenth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.ndjson")
	const n = 60
	live := recordSession(t, path, n, 20) // 4 subscriptions at 20/s: about 0.75 s per half
	r, err := replay.NewServer(path, replay.Speed(10))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := watch(t, replayClient(t, r), n, nil)
	// The live span holds one reconnect, which the replay does not pace:
	// compare against a tenth with a wide tolerance for a loaded machine.
	want := live.span / 10
	if got.span < want/3 || got.span > 3*want+300*time.Millisecond {
		t.Fatalf("replay at ×10 took %v for a live span of %v (want about %v)", got.span, live.span, want)
	}
}
