package marketdata

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

func newPool(t *testing.T, srv *marketdatatest.Server, plan Plan, edit func(*PoolOption)) *Pool {
	t.Helper()
	opt := PoolOption{Plan: plan, Client: WebSocketClientOption{Endpoint: srv.StockURL(), APIKey: testKey}}
	if edit != nil {
		edit(&opt)
	}
	p, err := NewPool(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if err := p.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return p
}

func symbolsN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(2300 + i)
	}
	return out
}

// serverCounts is the number of subscriptions on each live connection.
func serverCounts(srv *marketdatatest.Server) []int {
	var out []int
	for _, c := range srv.LiveConns() {
		out = append(out, len(c.Subscriptions()))
	}
	return out
}

func TestPoolPacksConnectionsInTurn(t *testing.T) {
	srv := newServer(t, marketdatatest.WithMaxSubscriptions(5))
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 5}, nil)
	syms := symbolsN(8)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: syms}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(serverCounts(srv)); got != "[5 3]" {
		t.Fatalf("server holds %s, want [5 3]", got)
	}
	for _, s := range syms {
		if n := srv.Subscribers("trades", s); n != 1 {
			t.Fatalf("%s on %d connections", s, n)
		}
	}
	for i, s := range syms {
		srv.Publish("trades", s, tradeJSON(s, i+1))
	}
	seen := map[string]uint64{}
	for range syms {
		tr := receive(t, p.Trades())
		if _, dup := seen[tr.Symbol]; dup {
			t.Fatalf("%s delivered twice", tr.Symbol)
		}
		seen[tr.Symbol] = tr.Conn
	}
	conns := map[uint64]int{}
	for _, c := range seen {
		conns[c]++
	}
	if len(conns) != 2 {
		t.Fatalf("values came on connections %v, want two distinct numbers", conns)
	}
	sh := p.Shards()
	if sh[0].Used != 5 || sh[1].Used != 3 || sh[0].Conn == sh[1].Conn {
		t.Fatalf("shards %+v", sh)
	}
}

func TestPoolPlanFullBeforeTheWire(t *testing.T) {
	srv := newServer(t)
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 5}, nil)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: symbolsN(10)}); err != nil {
		t.Fatal(err)
	}
	before := 0
	for _, c := range srv.Conns() {
		before += len(c.Frames())
	}
	err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelBooks, Symbols: []string{"2330"}})
	var pf *PlanFullError
	if !errors.Is(err, ErrPlanFull) || !errors.As(err, &pf) || pf.Requested != 1 || pf.Free != 0 || pf.Capacity != 10 {
		t.Fatalf("Subscribe = %v, want ErrPlanFull 1 requested, 0 free of 10", err)
	}
	after := 0
	for _, c := range srv.Conns() {
		after += len(c.Frames())
	}
	if after != before {
		t.Fatalf("%d frames sent for a Subscribe the plan cannot hold", after-before)
	}
}

func TestPoolLearnsTheServersCapacity(t *testing.T) {
	srv := newServer(t, marketdatatest.WithMaxSubscriptions(4))
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 5}, nil)
	syms := symbolsN(9)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: syms[:8]}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(serverCounts(srv)); got != "[4 4]" {
		t.Fatalf("server holds %s, want [4 4]", got)
	}
	sh := p.Shards()
	if sh[0].Capacity != 4 || sh[0].Used != 4 || sh[1].Used != 4 {
		t.Fatalf("shards %+v, want the first to have learned 4", sh)
	}
	// The plan says one more fits; the server says no: rolled back.
	err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: syms[8:]})
	if !errors.Is(err, ErrPlanFull) {
		t.Fatalf("Subscribe = %v, want ErrPlanFull once the server showed its limit", err)
	}
	if n := srv.Subscribers("trades", syms[8]); n != 0 {
		t.Fatalf("the refused key is on %d connections", n)
	}
	if got := len(p.Subscriptions()); got != 8 {
		t.Fatalf("%d subscriptions wanted, want 8", got)
	}
}

func TestPoolSpreads(t *testing.T) {
	srv := newServer(t)
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 5}, func(o *PoolOption) { o.Spread = true })
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: symbolsN(4)}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(serverCounts(srv)); got != "[2 2]" {
		t.Fatalf("server holds %s, want [2 2]", got)
	}
	if err := p.Unsubscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: symbolsN(4)[:2]}); err != nil {
		t.Fatal(err)
	}
	if sh := p.Shards(); sh[0].Used+sh[1].Used != 2 {
		t.Fatalf("shards %+v after unsubscribing two", sh)
	}
}

func TestPoolIsAStream(t *testing.T) {
	srv := newServer(t)
	var s Stream = newPool(t, srv, PlanDeveloper, func(o *PoolOption) { o.Client.Ordered = true })
	if err := s.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		t.Fatal(err)
	}
	srv.Publish("trades", "2330", tradeJSON("2330", 7))
	for {
		m, err := s.Next(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if tr, ok := m.(Trade); ok {
			if tr.Serial != 7 {
				t.Fatalf("serial %d", tr.Serial)
			}
			break
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range s.All() { // drains, then ends
	}
	if st := s.Stats(); st.Connections != 1 || st.Messages.Received == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPoolConcurrentUseAndClose(t *testing.T) {
	srv := newServer(t)
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 50}, nil)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				req := SubscribeRequest{Channel: ChannelTrades, Symbols: []string{fmt.Sprint(g*100 + i)}}
				if err := p.Subscribe(testCtx(t), req); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrPlanFull) {
					t.Errorf("Subscribe: %v", err)
					return
				}
				if i%3 == 0 {
					_ = p.Unsubscribe(testCtx(t), req)
				}
			}
		}()
	}
	wg.Wait()
	within(t, "Close", func() { _ = p.Close() })
	for range p.Trades() {
	}
	if !isClosed(p.Events()) {
		t.Fatal("Events open after Close")
	}
}

// collectEvents gathers a pool's events in the background until the test
// ends.
type poolEvents struct {
	mu     sync.Mutex
	events []Event
}

func watchPool(t *testing.T, p *Pool) *poolEvents {
	pe := &poolEvents{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range p.Events() {
			pe.mu.Lock()
			pe.events = append(pe.events, e)
			pe.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = p.Close(); <-done })
	return pe
}

func (pe *poolEvents) find(match func(Event) bool) bool {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, e := range pe.events {
		if match(e) {
			return true
		}
	}
	return false
}

// never twice: every key is on at most one live server connection.
func assertOnceAtMost(t *testing.T, srv *marketdatatest.Server, syms []string) {
	t.Helper()
	for _, s := range syms {
		if n := srv.Subscribers("trades", s); n > 1 {
			t.Fatalf("%s subscribed on %d connections at once", s, n)
		}
	}
}

func TestPoolFailoverMovesKeysAndPlacesTheRestWhenRoomAppears(t *testing.T) {
	srv := newServer(t)
	var refuse sync.Mutex
	refusing := false
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 4}, func(o *PoolOption) {
		o.Spread, o.FailoverAfter = true, 300*time.Millisecond
		o.Client.ReconnectInitialInterval, o.Client.ReconnectMaxInterval = 20*time.Millisecond, 50*time.Millisecond
		o.Client.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			refuse.Lock()
			r := refusing
			refuse.Unlock()
			if r {
				return nil, errors.New("test: the network to this connection is down")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	})
	pe := watchPool(t, p)
	syms := symbolsN(6)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: syms}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(serverCounts(srv)); got != "[3 3]" {
		t.Fatalf("server holds %s", got)
	}
	second := srv.LiveConns()[1]
	refuse.Lock()
	refusing = true
	refuse.Unlock()
	second.Drop()
	eventually(t, "the move and the unplaced key", func() bool {
		return pe.find(func(e Event) bool {
			m, ok := e.(KeysMoved)
			return ok && m.From == 1 && m.To == 0 && len(m.Subscriptions) == 1
		}) &&
			pe.find(func(e Event) bool { u, ok := e.(KeysUnplaced); return ok && u.From == 1 && len(u.Subscriptions) == 2 })
	})
	eventually(t, "the moved key on the first connection", func() bool { return srv.SubscriptionCount() == 4 })
	assertOnceAtMost(t, srv, syms)
	refuse.Lock()
	refusing = false
	refuse.Unlock()
	eventually(t, "the waiting keys placed once the connection is back", func() bool {
		return pe.find(func(e Event) bool { m, ok := e.(KeysMoved); return ok && m.From == -1 && len(m.Subscriptions) == 2 })
	})
	eventually(t, "every key on the server", func() bool { return srv.SubscriptionCount() == 6 })
	for _, s := range syms {
		if n := srv.Subscribers("trades", s); n != 1 {
			t.Fatalf("%s on %d connections", s, n)
		}
	}
	if len(p.Subscriptions()) != 6 {
		t.Fatalf("subscriptions %v", p.Subscriptions())
	}
}

// Another process takes the dropped connection's slot: the connection is
// refused by the limit, its keys move, and it comes back when the slot frees.
func TestPoolFailoverWithAForeignClientHoldingASlot(t *testing.T) {
	srv := newServer(t, marketdatatest.WithMaxConnections(2))
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 5}, func(o *PoolOption) {
		o.Spread, o.FailoverAfter = true, 500*time.Millisecond
		o.Client.ReconnectInitialInterval, o.Client.ReconnectMaxInterval = 300*time.Millisecond, 400*time.Millisecond
	})
	pe := watchPool(t, p)
	syms := symbolsN(4)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: syms}); err != nil {
		t.Fatal(err)
	}
	foreign := newClient(t, srv, func(o *WebSocketClientOption) {
		o.RetryConnect, o.ReconnectInitialInterval, o.ReconnectMaxInterval = true, 10*time.Millisecond, 20*time.Millisecond
	})
	foreignUp := make(chan error, 1)
	go func() { foreignUp <- foreign.Connect(testCtx(t)) }()
	srv.LiveConns()[1].Drop()
	if err := <-foreignUp; err != nil {
		t.Fatalf("the foreign client never got the slot: %v", err)
	}
	eventually(t, "the keys moved to the first connection", func() bool {
		return pe.find(func(e Event) bool {
			m, ok := e.(KeysMoved)
			return ok && m.From == 1 && m.To == 0 && len(m.Subscriptions) == 2
		})
	})
	eventually(t, "all four on the first connection", func() bool {
		return srv.Subscribers("trades", syms[0])+srv.Subscribers("trades", syms[3]) == 2 && srv.SubscriptionCount() == 4
	})
	assertOnceAtMost(t, srv, syms)
	if err := foreign.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pool's second connection back", func() bool { return srv.AuthenticatedCount() >= 2 && p.Shards()[1].Connected })
	assertOnceAtMost(t, srv, syms)
	if sh := p.Shards(); sh[0].Used != 4 || sh[1].Used != 0 {
		t.Fatalf("keys moved back on their own: %+v", sh)
	}
}

// A connection that drops and comes back faster than FailoverAfter keeps
// its keys: nothing moves.
func TestPoolDoesNotFlap(t *testing.T) {
	srv := newServer(t)
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 4}, func(o *PoolOption) {
		o.Spread, o.FailoverAfter = true, time.Second
		o.Client.ReconnectInitialInterval, o.Client.ReconnectMaxInterval = 10*time.Millisecond, 20*time.Millisecond
	})
	pe := watchPool(t, p)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: symbolsN(4)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ { // a drop every 200 ms for 1.6 s
		conns := srv.LiveConns()
		if len(conns) == 2 {
			conns[1].Drop()
		}
		time.Sleep(200 * time.Millisecond)
	}
	if pe.find(func(e Event) bool { _, ok := e.(KeysMoved); return ok }) || pe.find(func(e Event) bool { _, ok := e.(KeysUnplaced); return ok }) {
		t.Fatal("keys moved while the connection flapped faster than FailoverAfter")
	}
	if sh := p.Shards(); sh[0].Used != 2 || sh[1].Used != 2 {
		t.Fatalf("shards %+v", sh)
	}
}

func TestPoolRebalanceSpreadsOnRequest(t *testing.T) {
	srv := newServer(t)
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 10}, nil)
	syms := symbolsN(8)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: syms}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(serverCounts(srv)); got != "[8]" {
		t.Fatalf("server holds %s before, want [8]", got)
	}
	if err := p.Rebalance(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(serverCounts(srv)); got != "[4 4]" {
		t.Fatalf("server holds %s after Rebalance, want [4 4]", got)
	}
	for _, s := range syms {
		if n := srv.Subscribers("trades", s); n != 1 {
			t.Fatalf("%s on %d connections", s, n)
		}
		srv.Publish("trades", s, tradeJSON(s, 1))
	}
	for range syms {
		receive(t, p.Trades())
	}
}

// The load test's steady run through a pool: 2,000 subscriptions on a 2 x
// 1,000 plan, each symbol's serials gapless and in order, delivered +
// dropped = sent. MARKETDATA_LOAD=1 runs it at 50,000 msg/s for 60 s.
func TestLoadPool(t *testing.T) {
	const nSymbols = 2000
	plan := loadPlanFromEnv(t)
	srv := newServer(t)
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 1000}, nil)
	symbols := make([]string, nSymbols)
	for i := range symbols {
		symbols[i] = strconv.Itoa(1000 + i)
	}
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: symbols}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(serverCounts(srv)); got != "[1000 1000]" {
		t.Fatalf("server holds %s", got)
	}
	ids := map[string]string{}
	for _, c := range srv.LiveConns() {
		for _, s := range c.Subscriptions() {
			ids[s.Symbol] = s.ID
		}
	}
	feed := &loadFeed{symbols: symbols, publish: func(sym string, frame []byte) int { return srv.PublishRaw("trades", sym, frame) }}
	last := make(map[string]int64, nSymbols)
	for _, s := range symbols {
		feed.prefix = append(feed.prefix, []byte(`{"event":"data","data":{"symbol":"`+s+`","type":"EQUITY","exchange":"TWSE","market":"TSE","price":568.5,"size":1,"time":1685338200000000,"serial":`))
		feed.suffix = append(feed.suffix, []byte(`},"id":"`+ids[s]+`","channel":"trades"}`))
	}
	var delivered, bad atomic.Int64
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for v := range p.Trades() {
			if v.Serial != last[v.Symbol]+1 {
				bad.Add(1)
			}
			last[v.Symbol] = v.Serial
			delivered.Add(1)
		}
	}()
	n := plan.count(plan.steady)
	took := feed.run(0, n, plan.rate)
	t.Logf("sent %d messages over 2 connections in %v: %.0f msg/s (target %d)", n, took.Round(time.Millisecond), float64(n)/took.Seconds(), plan.rate)
	eventually(t, "every message handled", func() bool { return p.Stats().Trades.Received >= uint64(n) })
	eventually(t, "the consumer to catch up", func() bool { return uint64(delivered.Load())+p.Stats().Trades.Dropped >= uint64(n) })
	_ = p.Close()
	<-consumed
	st := p.Stats().Trades
	if feed.failures.Load() != 0 || st.Received != uint64(n) || uint64(delivered.Load())+st.Dropped != uint64(n) {
		t.Fatalf("sent %d (%d found no connection), received %d, delivered %d + dropped %d", n, feed.failures.Load(), st.Received, delivered.Load(), st.Dropped)
	}
	if st.Dropped == 0 && bad.Load() != 0 {
		t.Fatalf("%d values out of sequence with nothing dropped", bad.Load())
	}
}

// A key the server refuses gives its room back.
func TestPoolRefusedKeyGivesItsRoomBack(t *testing.T) {
	srv := newServer(t)
	srv.RejectSymbol("trades", "BAD", CodeValidationFailed, "Invalid symbol")
	p := newPool(t, srv, PlanFree, nil)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"BAD"}}); err == nil {
		t.Fatal("refused symbol accepted")
	}
	if sh := p.Shards(); sh[0].Used != 0 {
		t.Fatalf("the refused key still takes room: %+v", sh[0])
	}
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: symbolsN(5)}); err != nil {
		t.Fatalf("the plan's five: %v", err)
	}
}

// A connection whose reconnect limits run out does not end the pool: its
// keys move, and the pool goes on.
func TestPoolOutlivesAConnectionThatGivesUp(t *testing.T) {
	srv := newServer(t)
	var refuse sync.Mutex
	refusing := false
	p := newPool(t, srv, Plan{Connections: 2, SubscriptionsPerConnection: 4}, func(o *PoolOption) {
		o.Spread, o.FailoverAfter = true, time.Hour
		o.Client.ReconnectMaxAttempts = 2
		o.Client.ReconnectInitialInterval, o.Client.ReconnectMaxInterval = 10*time.Millisecond, 20*time.Millisecond
		o.Client.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			refuse.Lock()
			r := refusing
			refuse.Unlock()
			if r {
				return nil, errors.New("test: unreachable")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	})
	pe := watchPool(t, p)
	if err := p.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: symbolsN(4)}); err != nil {
		t.Fatal(err)
	}
	refuse.Lock()
	refusing = true
	refuse.Unlock()
	srv.LiveConns()[1].Drop()
	eventually(t, "the keys of the connection that gave up moved", func() bool {
		return pe.find(func(e Event) bool { m, ok := e.(KeysMoved); return ok && m.From == 1 && len(m.Subscriptions) == 2 })
	})
	select {
	case <-p.Done():
		t.Fatalf("the pool ended: %v", p.Err())
	default:
	}
	eventually(t, "all four on the remaining connection", func() bool { return srv.SubscriptionCount() == 4 })
}
