package natsbus

import (
	"slices"
	"testing"

	"github.com/go-fugle/marketdata"
)

// When the gateway loses its Fugle connection, every consumer of the keys
// it carried sees, in each key's place in the ordered stream, a gap start
// after the last value before the loss and a gap end before the first
// value after it; and the values resume.
func TestLostFugleConnectionIsAGapBetweenTheValuesOfEveryConsumer(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	g := startGateway(t, connect(t, ns.ClientURL()), srv, nil)

	ordered := ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}}
	a := newClient(t, connect(t, ns.ClientURL()), ordered)
	b := newClient(t, connect(t, ns.ClientURL()), ordered)
	subscribe(t, a, marketdata.ChannelTrades, "2330", "2317")
	subscribe(t, b, marketdata.ChannelTrades, "2330")
	ca, cb := collect(a), collect(b)

	const n = 50
	for _, s := range []string{"2330", "2317"} {
		publishTradesOnce(t, srv, s, 1, n)
	}
	waitFor(t, "the values before the drop", func() bool { return ca.tradeCount() == 2*n && cb.tradeCount() == n })

	old := srv.LiveConns()
	if len(old) != 1 {
		t.Fatalf("the mock has %d live connections, want the gateway's 1", len(old))
	}
	srv.DropAll()
	<-old[0].Done()
	// Publish only once the gateway has subscribed again, else the mock
	// has no one to send to.
	waitSubscribers(t, srv, "trades", "2330", 1)
	waitSubscribers(t, srv, "trades", "2317", 1)
	for _, s := range []string{"2330", "2317"} {
		publishTradesOnce(t, srv, s, n+1, 2*n)
	}
	waitFor(t, "the values after the drop", func() bool { return ca.tradeCount() == 4*n && cb.tradeCount() == 2*n })
	if r := g.Pool(Stock).Stats().Reconnects; r != 1 {
		t.Errorf("gateway reconnected %d times, want 1", r)
	}

	check := func(name string, col *collector, symbol string) {
		t.Helper()
		if err := checkRun(col.serials()[symbol], 1, 2*n); err != nil {
			t.Errorf("%s %s: %v", name, symbol, err)
		}
		all := col.snapshot()
		var starts, ends []int
		for i, m := range all {
			switch {
			case isGap(m, symbol, true):
				starts = append(starts, i)
			case isGap(m, symbol, false):
				ends = append(ends, i)
			}
		}
		if len(starts) != 1 || len(ends) != 1 {
			t.Errorf("%s %s: %d gap starts at %v and %d gap ends at %v, want one of each", name, symbol, len(starts), starts, len(ends), ends)
			return
		}
		lastBefore := slices.IndexFunc(all, func(m marketdata.Message) bool { return isTrade(m, symbol, func(s int64) bool { return s == n }) })
		firstAfter := slices.IndexFunc(all, func(m marketdata.Message) bool { return isTrade(m, symbol, func(s int64) bool { return s > n }) })
		if !(lastBefore < starts[0] && starts[0] < ends[0] && ends[0] < firstAfter) {
			t.Errorf("%s %s: last value before the drop at %d, gap start at %d, gap end at %d, first value after at %d; want them in that order",
				name, symbol, lastBefore, starts[0], ends[0], firstAfter)
		}
		start, end := all[starts[0]].(marketdata.Gap), all[ends[0]].(marketdata.Gap)
		if start.Source != g.Name() || end.Source != g.Name() {
			t.Errorf("%s %s: gap sources %q and %q, want %q", name, symbol, start.Source, end.Source, g.Name())
		}
		if start.Conn == end.Conn {
			t.Errorf("%s %s: the gap ends on the connection it started on (#%d)", name, symbol, start.Conn)
		}
	}
	check("a", ca, "2330")
	check("a", ca, "2317")
	check("b", cb, "2330")
	if gaps := cb.eventsOf(func(e marketdata.Event) bool {
		gap, ok := e.(marketdata.Gap)
		return ok && gap.Subscription.Symbol == "2317"
	}); len(gaps) > 0 {
		t.Errorf("b got %d gaps of 2317, a key it does not hold", len(gaps))
	}
}

// A gateway closed while holding a key marks a gap start; the next gateway
// to subscribe the key (a restart, or another) ends it, so a consumer does
// not think the gap is open for ever.
func TestNextGatewayEndsTheGapOfAClosedOne(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	first := startGateway(t, connect(t, ns.ClientURL()), srv, func(o *GatewayOption) { o.Name = "before" })
	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, c, marketdata.ChannelTrades, "2330")
	col := collect(c)
	publishTradesOnce(t, srv, "2330", 1, 10)
	waitFor(t, "the values before", func() bool { return col.tradeCount() == 10 })
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the gap start", func() bool {
		return len(col.eventsOf(func(e marketdata.Event) bool { return isGap(e, "2330", true) })) == 1
	})

	// The client's renewal tells the new gateway what to subscribe.
	startGateway(t, connect(t, ns.ClientURL()), srv, func(o *GatewayOption) { o.Name = "after" })
	waitSubscribers(t, srv, "trades", "2330", 1)
	publishTradesOnce(t, srv, "2330", 11, 20)
	waitFor(t, "the values after", func() bool { return col.tradeCount() == 20 })

	all := col.snapshot()
	end := slices.IndexFunc(all, func(m marketdata.Message) bool { return isGap(m, "2330", false) })
	firstAfter := slices.IndexFunc(all, func(m marketdata.Message) bool { return isTrade(m, "2330", func(s int64) bool { return s > 10 }) })
	if end < 0 || end > firstAfter {
		t.Fatalf("gap end at %d, first value after at %d: want a gap end before it", end, firstAfter)
	}
	if g := all[end].(marketdata.Gap); g.Source != "after" || g.Downtime <= 0 {
		t.Errorf("gap end %+v: want it from the new gateway, with the time since the start", g)
	}
	if err := checkRun(col.serials()["2330"], 1, 20); err != nil {
		t.Error(err)
	}
}
