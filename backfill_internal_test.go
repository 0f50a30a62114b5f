package marketdata

import (
	"context"
	"sync"
	"testing"

	"github.com/go-fugle/marketdata/messages"
)

// memorySource serves trades kept by the test, as the REST API would serve
// the day's trades.
type memorySource struct {
	mu     sync.Mutex
	trades map[string][]Trade
	calls  []BackfillRequest
}

func (m *memorySource) Trades(ctx context.Context, req BackfillRequest) ([]Trade, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, req)
	var out []Trade
	for _, t := range m.trades[req.Subscription.Symbol] {
		if t.Serial > req.AfterSerial {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m *memorySource) Candles(ctx context.Context, req BackfillRequest) ([]Candle, error) {
	return nil, nil
}

func TestBackfillLogicHealsAGap(t *testing.T) {
	for _, hold := range []bool{false, true} {
		t.Run(map[bool]string{false: "live at once", true: "held"}[hold], func(t *testing.T) {
			srv := newServer(t)
			src := &memorySource{trades: map[string][]Trade{}}
			c := newClient(t, srv, func(o *WebSocketClientOption) { o.Backfill, o.BackfillHold, o.Ordered = src, hold, true })
			connect(t, c)
			symbols := []string{"2330", "2317", "2454"}
			subscribe(t, c, ChannelTrades, symbols...)
			d := newDecoderTrade(t)
			publish := func(from, to int, live bool) {
				for i := from; i <= to; i++ {
					for _, s := range symbols {
						raw := tradeJSON(s, i)
						if live {
							srv.Publish("trades", s, raw)
						}
						src.mu.Lock()
						src.trades[s] = append(src.trades[s], d(raw))
						src.mu.Unlock()
					}
				}
			}
			publish(1, 10, true)
			eventually(t, "1-10 read", func() bool { return c.Stats().Messages.Received >= 2+30 })
			first := srv.Conns()[0]
			srv.DropAll()
			<-first.Done()
			publish(11, 30, false) // the stream misses these
			for _, s := range symbols {
				if err := srv.WaitForSubscribers(testCtx(t), "trades", s, 1); err != nil {
					t.Fatal(err)
				}
			}
			publish(31, 40, true)
			seen := map[string][]int64{}
			backfilled := map[string]int{}
			reports := 0
			for reports < 3 || len(seen["2330"])+len(seen["2317"])+len(seen["2454"]) < 120 {
				m, err := c.Next(testCtx(t))
				if err != nil {
					t.Fatalf("%v; seen %v", err, seen)
				}
				switch v := m.(type) {
				case Trade:
					seen[v.Symbol] = append(seen[v.Symbol], v.Serial)
					if v.Backfill {
						backfilled[v.Symbol]++
						if v.Serial < 11 || v.Serial > 30 {
							t.Fatalf("backfilled serial %d", v.Serial)
						}
					}
				case Backfilled:
					reports++
					if !v.Complete || v.Count != 20 {
						t.Fatalf("report %v", v)
					}
				}
			}
			for _, s := range symbols {
				got := seen[s]
				count := map[int64]int{}
				for _, x := range got {
					count[x]++
				}
				for i := int64(1); i <= 40; i++ {
					if count[i] != 1 {
						t.Fatalf("%s: serial %d seen %d times: %v", s, i, count[i], got)
					}
				}
				if hold {
					for i := 1; i < len(got); i++ {
						if got[i] <= got[i-1] {
							t.Fatalf("%s: held order broken: %v", s, got)
						}
					}
				}
				if backfilled[s] != 20 {
					t.Fatalf("%s: %d backfilled", s, backfilled[s])
				}
			}
		})
	}
}

// newDecoderTrade decodes a stock trade payload as the REST client would.
func newDecoderTrade(t *testing.T) func([]byte) Trade {
	return func(payload []byte) Trade {
		t.Helper()
		d := messages.NewDecoder()
		f, err := d.Frame(append(append([]byte(`{"event":"data","channel":"trades","data":`), payload...), '}'))
		if err != nil {
			t.Fatal(err)
		}
		var v Trade
		if err := d.Trade(&f, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// A key unsubscribed before the connection drops is neither healed nor
// held: subscribed again, its values flow.
func TestBackfillNeverHoldsAKeyNobodyRestores(t *testing.T) {
	srv := newServer(t)
	src := &memorySource{trades: map[string][]Trade{}}
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.Backfill, o.BackfillHold = src, true })
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330", "2317")
	srv.Publish("trades", "2330", tradeJSON("2330", 1))
	srv.Publish("trades", "2317", tradeJSON("2317", 1))
	receive(t, c.Trades())
	receive(t, c.Trades())
	if err := c.Unsubscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		t.Fatal(err)
	}
	srv.DropAll()
	nextEvent(t, c, func(b Backfilled) bool { return b.Subscription.Symbol == "2317" })
	subscribe(t, c, ChannelTrades, "2330")
	srv.Publish("trades", "2330", tradeJSON("2330", 2))
	if v := receive(t, c.Trades()); v.Symbol != "2330" || v.Serial != 2 {
		t.Fatalf("got %s %d", v.Symbol, v.Serial)
	}
}
