package natsbus

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/nats-io/nats.go"
)

// The gateway holds one Fugle subscription per key however many consumers
// want it, and gives it up only when the last one lets go.
func TestSharedKeyIsUnsubscribedAtFugleByItsLastHolderOnly(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	startGateway(t, connect(t, ns.ClientURL()), srv, nil)

	a := newClient(t, connect(t, ns.ClientURL()), ClientOption{})
	b := newClient(t, connect(t, ns.ClientURL()), ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, a, marketdata.ChannelTrades, "2330")
	subscribe(t, b, marketdata.ChannelTrades, "2330")
	cb := collect(b)
	if n := srv.Subscribers("trades", "2330"); n != 1 {
		t.Fatalf("mock has %d subscribers of 2330 with two consumers, want 1 (the gateway's)", n)
	}

	req := marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Unsubscribe(ctx, req); err != nil {
		t.Fatal(err)
	}
	// The gateway applies requests in order, and a subscribe returns once
	// Fugle acked it: once this one is through, a.Unsubscribe's effect on
	// Fugle, if any, has happened.
	subscribe(t, b, marketdata.ChannelTrades, "2317")
	if n := srv.Subscribers("trades", "2330"); n != 1 {
		t.Fatalf("after the first holder's Unsubscribe the mock has %d subscribers of 2330, want 1", n)
	}
	if n := unsubscribeFrames(srv); n != 0 {
		t.Fatalf("the gateway sent Fugle %d unsubscribe commands while a consumer still held the key", n)
	}
	publishTradesOnce(t, srv, "2330", 1, 1)
	waitFor(t, "b's trade after a let go", func() bool { return cb.tradeCount() == 1 })

	if err := b.Unsubscribe(ctx, req); err != nil {
		t.Fatal(err)
	}
	waitSubscribers(t, srv, "trades", "2330", 0)
	if n := unsubscribeFrames(srv); n != 1 {
		t.Errorf("the gateway sent Fugle %d unsubscribe commands, want 1", n)
	}
	if n := srv.Subscribers("trades", "2317"); n != 1 {
		t.Fatalf("b's other key went with 2330: %d subscribers of 2317", n)
	}
}

// A consumer that vanishes without a word loses its keys when its lease
// lapses, while one that keeps renewing keeps them past the lease.
func TestVanishedConsumerReleasesItsKeysWhenTheLeaseLapses(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	startGateway(t, connect(t, ns.ClientURL()), srv, nil) // Lease: 1 s

	alive := newClient(t, connect(t, ns.ClientURL()), ClientOption{})
	subscribe(t, alive, marketdata.ChannelTrades, "2317")

	deadNC := connect(t, ns.ClientURL())
	dead := newClient(t, deadNC, ClientOption{})
	since := time.Now() // before the gateway grants the lease
	subscribe(t, dead, marketdata.ChannelTrades, "2330")
	waitSubscribers(t, srv, "trades", "2330", 1)

	// The process dies: its connection goes and Close never runs, so
	// neither an unsubscribe nor a renewal reaches the gateway again.
	deadNC.Close()
	waitSubscribers(t, srv, "trades", "2330", 0)
	if held := time.Since(since); held < time.Second {
		t.Errorf("the dead consumer's key went after %v, before its 1 s lease lapsed", held)
	}
	if n := unsubscribeFrames(srv); n != 1 {
		t.Errorf("the gateway sent Fugle %d unsubscribe commands, want 1", n)
	}
	// alive's lease began before dead's; only its renewals kept it.
	if n := srv.Subscribers("trades", "2317"); n != 1 {
		t.Fatalf("the renewing consumer's key lapsed too: %d subscribers of 2317", n)
	}
}

// A renewal names the client's keys as they are when it goes out: one
// that named a key already released would hold it at the gateway again,
// and subscribe it at Fugle for another lease.
func TestRenewalsAfterUnsubscribeNameOnlyTheKeysStillHeld(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	startGateway(t, connect(t, ns.ClientURL()), srv, nil) // Lease: 1 s, renewals every 333 ms

	// Requests and renewals of one client reach the watcher in the order
	// the client sent them.
	type seen struct {
		subject string
		req     request
	}
	seenc := make(chan seen, 64)
	wnc := connect(t, ns.ClientURL())
	watch, err := wnc.Subscribe(DefaultPrefix+".control.*", func(m *nats.Msg) {
		var r request
		_ = json.Unmarshal(m.Data, &r)
		select {
		case seenc <- seen{m.Subject, r}:
		default: // the test has what it needs; never block the connection
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := wnc.Flush(); err != nil { // the server has the subscription
		t.Fatal(err)
	}
	defer func() { _ = watch.Unsubscribe() }()

	timeout := time.After(30 * time.Second)
	next := func() seen {
		t.Helper()
		select {
		case s := <-seenc:
			return s
		case <-timeout:
			t.Fatal("no control message in 30 s")
		}
		panic("unreachable")
	}

	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{})
	subscribe(t, c, marketdata.ChannelTrades, "2330", "2317")
	// Unsubscribe just after a renewal, while the client waits for the
	// next: that one must not name 2330.
	for s := next(); s.subject != DefaultPrefix+"."+subjRenew; s = next() {
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Unsubscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		t.Fatal(err)
	}

	released, renewals := false, 0
	for renewals < 3 {
		s := next()
		switch s.subject {
		case DefaultPrefix + "." + subjUnsubscribe:
			released = true
		case DefaultPrefix + "." + subjRenew:
			if !released {
				continue
			}
			renewals++
			for _, k := range s.req.Keys {
				if k.Symbol == "2330" {
					t.Fatalf("renewal %d after the Unsubscribe names the released key: %+v", renewals, s.req.Keys)
				}
			}
		}
	}
	if n := srv.Subscribers("trades", "2330"); n != 0 {
		t.Errorf("the released key is subscribed at Fugle again")
	}
}

// A client renews at a third of the lease the gateway last stated, from
// the moment it stated it: a wait begun under a longer lease (the default,
// or a gateway since replaced) would let the keys lapse.
func TestRenewalsFollowAShorterLease(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	gnc := connect(t, ns.ClientURL())
	g1 := startGateway(t, gnc, srv, func(o *GatewayOption) { o.Lease = DefaultLease })
	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{})
	subscribe(t, c, marketdata.ChannelTrades, "2330") // the client now waits 10 s to renew
	if err := g1.Close(); err != nil {
		t.Fatal(err)
	}
	waitSubscribers(t, srv, "trades", "2330", 0)

	startGateway(t, gnc, srv, func(o *GatewayOption) { o.Name, o.Lease = "gw2", 2*time.Second })
	subscribe(t, c, marketdata.ChannelTrades, "2317")
	// gw2 learns 2330 from the client's first renewal; by then 2317 must
	// not have lapsed (and been subscribed again by that renewal).
	waitSubscribers(t, srv, "trades", "2330", 1)
	if n := unsubscribeFrames(srv); n != 0 {
		t.Fatalf("2317 lapsed at the new gateway before the client's first renewal: %d unsubscribes at Fugle", n)
	}
}

// Close of a live client releases its keys there and then; Close of a
// durable one leaves them to its lease, so that what is published until
// it resumes reaches the stream.
func TestCloseReleasesLiveKeysAndLeavesDurableOnesToTheLease(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	// Room for a slow Close between the durable's last renewal and the check.
	startGateway(t, connect(t, ns.ClientURL()), srv, func(o *GatewayOption) { o.Lease = 3 * time.Second })

	live := newClient(t, connect(t, ns.ClientURL()), ClientOption{})
	durable := newClient(t, connect(t, ns.ClientURL()), ClientOption{Durable: "d3"})
	subscribe(t, live, marketdata.ChannelTrades, "2330")
	subscribe(t, durable, marketdata.ChannelTrades, "2317")

	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Subscribers("trades", "2330"); n != 0 {
		t.Errorf("the closed live client's key is still subscribed at Fugle")
	}
	if err := durable.Close(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Subscribers("trades", "2317"); n != 1 {
		t.Fatalf("the closed durable client's key went at once, not with its lease")
	}
	waitSubscribers(t, srv, "trades", "2317", 0)
}
