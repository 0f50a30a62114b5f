package natsbus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testKey = "secret-api-key-do-not-leak"

// startNATS runs an embedded JetStream server on a free loopback port,
// stopped at the test's end.
func startNATS(t *testing.T, dir string) *server.Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := RunServer(ServerOption{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// connect opens a NATS connection that reconnects for ever, closed at the
// test's end.
func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.ReconnectJitter(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func startMock(t *testing.T, opts ...marketdatatest.Option) *marketdatatest.Server {
	t.Helper()
	srv := marketdatatest.NewServer(append([]marketdatatest.Option{marketdatatest.WithAPIKey(testKey)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

func clientOption(srv *marketdatatest.Server) marketdata.WebSocketClientOption {
	return marketdata.WebSocketClientOption{
		Endpoint: srv.StockURL(), APIKey: testKey,
		ReconnectInitialInterval: 10 * time.Millisecond, ReconnectMaxInterval: 50 * time.Millisecond,
		StableAfter: time.Millisecond,
	}
}

// startGateway starts a gateway for srv's stock endpoint on nc.
func startGateway(t *testing.T, nc *nats.Conn, srv *marketdatatest.Server, edit func(*GatewayOption)) *Gateway {
	t.Helper()
	opt := GatewayOption{Conn: nc, Name: "gw1", Stock: &marketdata.PoolOption{Client: clientOption(srv)}, Lease: time.Second}
	if edit != nil {
		edit(&opt)
	}
	g, err := NewGateway(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func newClient(t *testing.T, nc *nats.Conn, opt ClientOption) *Client {
	t.Helper()
	c, err := NewClient(nc, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func subscribe(t *testing.T, s marketdata.Stream, ch marketdata.Channel, symbols ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Subscribe(ctx, marketdata.SubscribeRequest{Channel: ch, Symbols: symbols}); err != nil {
		t.Fatalf("subscribe %s %v: %v", ch, symbols, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func trade(symbol string, serial int64) []byte {
	return marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: symbol, Price: 500 + float64(serial%50), Size: 1, Serial: serial, Time: time.UnixMicro(1685338200000000 + serial)})
}

// collector reads an ordered client's stream in the background.
type collector struct {
	mu     sync.Mutex
	trades []marketdata.Trade
	events []marketdata.Event
	all    []marketdata.Message
	done   chan struct{}
}

func collect(c marketdata.Stream) *collector {
	col := &collector{done: make(chan struct{})}
	go func() {
		defer close(col.done)
		for m := range c.All() {
			col.mu.Lock()
			col.all = append(col.all, m)
			switch v := m.(type) {
			case marketdata.Trade:
				col.trades = append(col.trades, v)
			case marketdata.Event:
				col.events = append(col.events, v)
			}
			col.mu.Unlock()
		}
	}()
	return col
}

func (col *collector) tradeCount() int {
	col.mu.Lock()
	defer col.mu.Unlock()
	return len(col.trades)
}

// serials returns each symbol's trade serials in arrival order.
func (col *collector) serials() map[string][]int64 {
	col.mu.Lock()
	defer col.mu.Unlock()
	out := map[string][]int64{}
	for _, tr := range col.trades {
		out[tr.Symbol] = append(out[tr.Symbol], tr.Serial)
	}
	return out
}

func (col *collector) eventsOf(match func(marketdata.Event) bool) []marketdata.Event {
	col.mu.Lock()
	defer col.mu.Unlock()
	var out []marketdata.Event
	for _, e := range col.events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// checkRun says whether serials run from..to exactly once, in order.
func checkRun(got []int64, from, to int64) error {
	if int64(len(got)) != to-from+1 {
		return fmt.Errorf("%d values, want %d: %v", len(got), to-from+1, short(got))
	}
	for i, s := range got {
		if s != from+int64(i) {
			return fmt.Errorf("value %d is serial %d, want %d: %v", i, s, from+int64(i), short(got))
		}
	}
	return nil
}

func short(s []int64) string {
	if len(s) <= 20 {
		return fmt.Sprint(s)
	}
	parts := []string{fmt.Sprint(s[:10]), "...", fmt.Sprint(s[len(s)-10:])}
	return strings.Join(parts, " ")
}
