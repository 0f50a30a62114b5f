package natsbus

import (
	"context"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/nats-io/nats.go"
)

// Two gateways on the same keys publish every frame twice; JetStream keeps
// one copy by message id, so the consumer sees each value once, and when
// one gateway dies without a word the other has already been carrying
// everything.
func TestTwoGatewaysDedupeAndSurviveOneDying(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t) // no connection limit: each gateway holds its own
	nc1 := connect(t, ns.ClientURL())
	g1 := startGateway(t, nc1, srv, nil)
	g2 := startGateway(t, connect(t, ns.ClientURL()), srv, func(o *GatewayOption) { o.Name = "gw2" })

	nc := connect(t, ns.ClientURL())
	renewals := make(chan struct{}, 64)
	rsub, err := nc.Subscribe(DefaultPrefix+"."+subjRenew, func(*nats.Msg) {
		select {
		case renewals <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rsub.Unsubscribe() }()

	c := newClient(t, nc, ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, c, marketdata.ChannelTrades, "2330")
	col := collect(c)

	// Subscribe answers with the first gateway's reply; both must hold it.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.WaitForSubscribers(ctx, "trades", "2330", 2); err != nil {
		t.Fatalf("both gateways subscribed at Fugle: %v", err)
	}
	// Outlive the lease (1 s) on renewals alone: a gateway they did not
	// reach would let the key lapse and unsubscribe at Fugle.
	for range 6 { // every lease/3: 2 s
		select {
		case <-renewals:
		case <-ctx.Done():
			t.Fatal("no renewals")
		}
	}
	for _, g := range []*Gateway{g1, g2} {
		if n := metricSum(t, g, "fugle_gateway_consumers", `symbol="2330"`); n != 1 {
			t.Errorf("%s holds 2330 for %v consumers after renewals, want 1", g.Name(), n)
		}
	}
	if n := srv.Subscribers("trades", "2330"); n != 2 {
		t.Fatalf("%d Fugle subscribers of 2330 after renewals, want 2", n)
	}

	// Both running: every frame reaches JetStream twice, once stored.
	const n1, n2, n3 = 100, 150, 300
	publishTrades(srv, "2330", 1, n1)
	waitFor(t, "the first run", func() bool { return col.tradeCount() >= n1 })
	dups := func() float64 {
		return metricSum(t, g1, "fugle_gateway_duplicates_total") + metricSum(t, g2, "fugle_gateway_duplicates_total")
	}
	waitFor(t, "the second copy of every frame", func() bool { return dups() >= n1 })
	stored := metricSum(t, g1, "fugle_gateway_frames_published_total") + metricSum(t, g2, "fugle_gateway_frames_published_total")
	if d := dups(); d != n1 || stored != n1 {
		t.Errorf("both running: %v stored and %v duplicates, want %d of each", stored, d, n1)
	}

	// Kill gw1 with frames in flight: its NATS connection goes first, so
	// it publishes nothing more, not even its gap markers.
	publishTrades(srv, "2330", n1+1, n2)
	nc1.Close()
	_ = g1.Close() // reports the publishes it could not finish
	publishTrades(srv, "2330", n2+1, n3)

	waitFor(t, "every serial", func() bool { return col.tradeCount() >= n3 })
	if got := streamCount(t, nc, DefaultStream, "fugle.stock.trades.2330"); got != n3 {
		t.Errorf("stream holds %d frames of 2330, want %d", got, n3)
	}
	_ = c.Close()
	<-col.done
	if err := checkRun(col.serials()["2330"], 1, n3); err != nil {
		t.Error(err)
	}
	if gaps := col.eventsOf(func(e marketdata.Event) bool { _, ok := e.(marketdata.Gap); return ok }); len(gaps) > 0 {
		t.Errorf("gap events %v: gw1 was to die silently and gw2 covers it", gaps)
	}
}
