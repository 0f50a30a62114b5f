package marketdata

import (
	"errors"
	"fmt"
	"sync"
	"testing"

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
