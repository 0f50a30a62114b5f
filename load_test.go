package marketdata

// TestLoadManySubscriptions streams trades for 2000 subscriptions on one
// connection, first to a consumer that keeps up, then to one that stalls.
//
// By default it runs briefly, to fit a CI run under -race: 5,000 msg/s,
// 2 s steady, then a 1 s stall. The full run is 50,000 msg/s for 60 s, then
// a 5 s stall; run it without -race:
//
//	MARKETDATA_LOAD=1 go test -run TestLoadManySubscriptions -count=1 -v .
//
// MARKETDATA_LOAD_RATE=N sets another rate, in messages per second, in
// either mode.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

type loadPlan struct {
	rate   int           // messages per second
	steady time.Duration // the run with a consumer that keeps up
	lead   time.Duration // the stall run: before the stall,
	stall  time.Duration // the stall itself,
	after  time.Duration // and after it
}

func loadPlanFromEnv(t *testing.T) loadPlan {
	p := loadPlan{rate: 5_000, steady: 2 * time.Second, lead: 500 * time.Millisecond, stall: time.Second, after: time.Second}
	if os.Getenv("MARKETDATA_LOAD") != "" {
		p = loadPlan{rate: 50_000, steady: 60 * time.Second, lead: 2 * time.Second, stall: 5 * time.Second, after: 3 * time.Second}
	}
	if v := os.Getenv("MARKETDATA_LOAD_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("MARKETDATA_LOAD_RATE=%q: want a positive number of messages per second", v)
		}
		p.rate = n
	}
	return p
}

func (p loadPlan) count(d time.Duration) int {
	return int(int64(p.rate) * int64(d) / int64(time.Second))
}

// loadFeed publishes message k of the run as the trade with serial
// k/len(symbols)+1 of symbols[k%len(symbols)], so that every symbol has its
// own gapless sequence. Frames are assembled from pre-built halves and go
// out through PublishRaw.
type loadFeed struct {
	symbols  []string
	prefix   [][]byte // up to "serial":
	suffix   [][]byte // from the closing brace of data, with the server's id
	publish  func(symbol string, frame []byte) int
	failures atomic.Int64
}

func (f *loadFeed) frame(k int) (string, []byte) {
	i := k % len(f.symbols)
	b := make([]byte, 0, len(f.prefix[i])+20+len(f.suffix[i]))
	b = append(b, f.prefix[i]...)
	b = strconv.AppendInt(b, int64(k/len(f.symbols)+1), 10)
	b = append(b, f.suffix[i]...)
	return f.symbols[i], b
}

// run publishes messages [from, to) at rate, paced against the clock, and
// returns how long it took.
func (f *loadFeed) run(from, to, rate int) time.Duration {
	start := time.Now()
	for k := from; k < to; {
		due := from + int(time.Since(start).Seconds()*float64(rate)) + 1
		if due > to {
			due = to
		}
		for ; k < due; k++ {
			sym, frame := f.frame(k)
			if f.publish(sym, frame) != 1 {
				f.failures.Add(1)
			}
		}
		if k < to {
			time.Sleep(200 * time.Microsecond)
		}
	}
	return time.Since(start)
}

// loadConsumer reads Trades and checks each symbol's sequence.
type loadConsumer struct {
	index     map[string]int
	last      []int64
	delivered atomic.Int64
	gaps      atomic.Int64 // a serial skipped: a value lost
	disorder  atomic.Int64 // a serial repeated or going back
	wrongConn atomic.Int64
	stall     chan chan struct{} // receive a channel, wait until it is closed
	firstBad  atomic.Value       // string
}

func (lc *loadConsumer) consume(c *WebSocketClient, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case v, ok := <-c.Trades():
			if !ok {
				return
			}
			i, known := lc.index[v.Symbol]
			switch {
			case !known:
				lc.disorder.Add(1)
				lc.firstBad.CompareAndSwap(nil, fmt.Sprintf("unknown symbol %q", v.Symbol))
			case v.Serial <= lc.last[i]:
				lc.disorder.Add(1)
				lc.firstBad.CompareAndSwap(nil, fmt.Sprintf("%s: serial %d after %d", v.Symbol, v.Serial, lc.last[i]))
			case v.Serial != lc.last[i]+1:
				lc.gaps.Add(1)
			}
			if known && v.Serial > lc.last[i] {
				lc.last[i] = v.Serial
			}
			if v.Conn != 1 {
				lc.wrongConn.Add(1)
			}
			lc.delivered.Add(1)
		case resume := <-lc.stall:
			<-resume
		}
	}
}

func TestLoadManySubscriptions(t *testing.T) {
	const nSymbols = 2000
	plan := loadPlanFromEnv(t)
	srv := newServer(t)
	c := newClient(t, srv, nil) // the default buffer and drop policy
	connect(t, c)

	symbols := make([]string, nSymbols)
	for i := range symbols {
		symbols[i] = strconv.Itoa(1000 + i)
	}
	if err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: symbols}); err != nil {
		t.Fatalf("Subscribe %d symbols: %v", nSymbols, err)
	}
	conn := srv.Conns()[0]
	ids := map[string]string{}
	for _, s := range conn.Subscriptions() {
		ids[s.Symbol] = s.ID
	}
	if len(ids) != nSymbols {
		t.Fatalf("the server holds %d subscriptions, want %d", len(ids), nSymbols)
	}
	active := 0
	for _, s := range c.Subscriptions() {
		if s.Active && s.ID == ids[s.Symbol] {
			active++
		}
	}
	if active != nSymbols {
		t.Fatalf("%d of %d subscriptions active with the server's id", active, nSymbols)
	}
	frames := 0
	for _, f := range conn.Frames() {
		if gjson.GetBytes(f, "event").String() == "subscribe" {
			frames++
		}
	}
	t.Logf("%d subscriptions in %d subscribe frames", nSymbols, frames)

	feed := &loadFeed{symbols: symbols, publish: func(sym string, frame []byte) int { return srv.PublishRaw("trades", sym, frame) }}
	lc := &loadConsumer{index: map[string]int{}, last: make([]int64, nSymbols), stall: make(chan chan struct{})}
	for i, s := range symbols {
		feed.prefix = append(feed.prefix, []byte(`{"event":"data","data":{"symbol":"`+s+`","type":"EQUITY","exchange":"TWSE","market":"TSE","price":568.5,"size":1,"time":1685338200000000,"serial":`))
		feed.suffix = append(feed.suffix, []byte(`},"id":"`+ids[s]+`","channel":"trades"}`))
		lc.index[s] = i
	}
	consumed := make(chan struct{})
	go lc.consume(c, consumed)
	defer func() {
		_ = c.Close()
		<-consumed
	}()

	// A consumer that keeps up: every message, once, in order.
	n1 := plan.count(plan.steady)
	began := time.Now()
	took := feed.run(0, n1, plan.rate)
	t.Logf("steady: sent %d messages in %v: %.0f msg/s (target %d)", n1, took.Round(time.Millisecond), float64(n1)/took.Seconds(), plan.rate)
	eventually(t, "every message to reach the client", func() bool { return c.Stats().Trades.Received >= uint64(n1) })
	eventually(t, "the consumer to catch up", func() bool {
		return uint64(lc.delivered.Load())+c.Stats().Trades.Dropped >= uint64(n1)
	})
	st := c.Stats().Trades
	t.Logf("steady: received %d, delivered %d, dropped %d; the last one delivered %v after the first was sent",
		st.Received, lc.delivered.Load(), st.Dropped, time.Since(began).Round(time.Millisecond))
	if feed.failures.Load() != 0 {
		t.Fatalf("%d messages found no subscribed connection", feed.failures.Load())
	}
	if st.Received != uint64(n1) || st.Dropped != 0 || lc.delivered.Load() != int64(n1) || lc.gaps.Load() != 0 || lc.disorder.Load() != 0 {
		t.Fatalf("with a consumer that keeps up: sent %d, received %d, dropped %d, delivered %d, %d gaps, %d out of order (%v)",
			n1, st.Received, st.Dropped, lc.delivered.Load(), lc.gaps.Load(), lc.disorder.Load(), lc.firstBad.Load())
	}

	// A consumer that stalls: nothing unaccounted for, and the connection
	// stays up and keeps answering.
	n2 := plan.count(plan.lead + plan.stall + plan.after)
	var took2 time.Duration
	var sending sync.WaitGroup
	sending.Add(1)
	go func() {
		defer sending.Done()
		took2 = feed.run(n1, n1+n2, plan.rate)
	}()
	eventually(t, "the stall run to start", func() bool { return lc.delivered.Load() >= int64(n1+plan.count(plan.lead)/2) })
	resume := make(chan struct{})
	lc.stall <- resume
	stalled := time.Now()
	eventually(t, "drops while the consumer stalls", func() bool { return c.Stats().Trades.Dropped > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), plan.stall+hang)
	rtt, err := c.Ping(ctx)
	cancel()
	if err != nil {
		t.Fatalf("Ping while the consumer stalls: %v", err)
	}
	if d := plan.stall - time.Since(stalled); d > 0 {
		time.Sleep(d) // the rest of the stall
	}
	close(resume)
	t.Logf("stall: Ping answered in %v while the consumer stalled for %v", rtt.Round(time.Microsecond), time.Since(stalled).Round(time.Millisecond))
	// The sender always ends; it may take longer than planned where the
	// rate cannot be reached (under -race).
	sending.Wait()
	t.Logf("stall: sent %d messages in %v: %.0f msg/s", n2, took2.Round(time.Millisecond), float64(n2)/took2.Seconds())

	sent := uint64(n1 + n2)
	eventually(t, "every message to reach the client", func() bool { return c.Stats().Trades.Received >= sent })
	eventually(t, "the consumer to drain Trades", func() bool {
		return uint64(lc.delivered.Load())+c.Stats().Trades.Dropped >= sent
	})
	stats := c.Stats()
	t.Logf("stall: received %d, delivered %d, dropped %d", stats.Trades.Received, lc.delivered.Load(), stats.Trades.Dropped)
	if feed.failures.Load() != 0 {
		t.Fatalf("%d messages found no subscribed connection", feed.failures.Load())
	}
	if stats.Trades.Received != sent || uint64(lc.delivered.Load())+stats.Trades.Dropped != sent {
		t.Fatalf("sent %d, received %d: delivered %d + dropped %d = %d", sent, stats.Trades.Received,
			lc.delivered.Load(), stats.Trades.Dropped, uint64(lc.delivered.Load())+stats.Trades.Dropped)
	}
	if lc.disorder.Load() != 0 || lc.wrongConn.Load() != 0 {
		t.Fatalf("%d values out of order or repeated (%v), %d from another connection", lc.disorder.Load(), lc.firstBad.Load(), lc.wrongConn.Load())
	}
	if lc.gaps.Load() == 0 {
		t.Fatal("the stall lost nothing: it did not test anything")
	}
	for name, cs := range map[string]ChannelStats{"candles": stats.Candles, "books": stats.Books, "aggregates": stats.Aggregates, "indices": stats.Indices} {
		if cs.Received != 0 || cs.Dropped != 0 {
			t.Errorf("%s: %+v, want nothing", name, cs)
		}
	}

	if _, err := c.Ping(testCtx(t)); err != nil {
		t.Fatalf("Ping after the stall: %v", err)
	}
	if c.State() != StateConnected || stats.Connections != 1 || len(srv.Conns()) != 1 || len(srv.LiveConns()) != 1 {
		t.Fatalf("the connection did not survive: state %v, %d client connections, %d server connections (%d live), %+v",
			c.State(), stats.Connections, len(srv.Conns()), len(srv.LiveConns()), conn.CloseInfo())
	}
	reports := 0
	for _, e := range eventsSoFar(c) {
		switch e := e.(type) {
		case Dropped:
			if e.Channel != "trades" || e.Policy != DropOldest {
				t.Errorf("drop report %v", e)
			}
			reports++
		case Disconnected, Reconnecting, Reconnected, ErrorEvent:
			t.Errorf("unexpected event %v", e)
		}
	}
	if reports == 0 {
		t.Error("the drops were never reported on Events")
	}
}
