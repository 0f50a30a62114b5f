package natsbus

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
)

// A durable consumer closed and started again resumes where it stopped:
// what was published while it was away, then what comes after, each value
// once.
func TestDurableConsumerResumesWithTheValuesItMissed(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	gnc := connect(t, ns.ClientURL())
	// The key must stay held at Fugle while the consumer is away: a lease
	// far longer than the absence.
	startGateway(t, gnc, srv, func(o *GatewayOption) { o.Lease = time.Minute })

	opt := ClientOption{Durable: "d1", FeedOption: marketdata.FeedOption{Ordered: true}}
	first := newClient(t, connect(t, ns.ClientURL()), opt)
	subscribe(t, first, marketdata.ChannelTrades, "2330")
	c1 := collect(first)
	publishTradesOnce(t, srv, "2330", 1, 10)
	waitFor(t, "the first client's values", func() bool { return c1.tradeCount() == 10 })
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	<-c1.done

	publishTradesOnce(t, srv, "2330", 11, 20)
	waitStreamMsgs(t, gnc, 20) // the missed values are on the bus before the resume

	second := newClient(t, connect(t, ns.ClientURL()), opt)
	c2 := collect(second)
	waitFor(t, "the missed values", func() bool { return c2.tradeCount() == 10 })
	if subs := second.Subscriptions(); len(subs) != 1 || subs[0].Symbol != "2330" {
		t.Errorf("the resumed client holds %v, want the first one's trades 2330", subs)
	}
	publishTradesOnce(t, srv, "2330", 21, 30)
	waitFor(t, "the new values", func() bool { return c2.tradeCount() >= 20 })
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	<-c2.done

	if err := checkRun(c1.serials()["2330"], 1, 10); err != nil {
		t.Errorf("first client: %v", err)
	}
	if err := checkRun(c2.serials()["2330"], 11, 30); err != nil {
		t.Errorf("resumed client: %v", err)
	}
}

// A durable consumer stays while the gateway and its NATS server restart
// on the same store: it sees every value once, in order, across the
// restart.
func TestDurableConsumerSurvivesAGatewayAndNATSRestart(t *testing.T) {
	dir := t.TempDir()
	ns1 := startNATS(t, dir)
	url := ns1.ClientURL()
	port := ns1.Addr().(*net.TCPAddr).Port
	srv := startMock(t)
	gnc1 := connect(t, url)
	g1 := startGateway(t, gnc1, srv, nil)

	c := newClient(t, connect(t, url), ClientOption{Durable: "d2", FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, c, marketdata.ChannelTrades, "2330")
	col := collect(c)
	publishTradesOnce(t, srv, "2330", 1, 20)
	waitFor(t, "the values before the restart", func() bool { return col.tradeCount() == 20 })

	if err := g1.Close(); err != nil {
		t.Fatal(err)
	}
	gnc1.Close()
	waitSubscribers(t, srv, "trades", "2330", 0)
	ns1.Shutdown()
	ns1.WaitForShutdown()

	ns2, err := RunServer(ServerOption{Listen: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns2.Shutdown(); ns2.WaitForShutdown() })
	startGateway(t, connect(t, ns2.ClientURL()), srv, nil)
	// The consumer's connection comes back by itself, and its renewal
	// tells the new gateway what to subscribe.
	waitSubscribers(t, srv, "trades", "2330", 1)
	publishTradesOnce(t, srv, "2330", 21, 40)
	waitLong(t, "the values after the restart", func() bool { return col.tradeCount() >= 40 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	<-col.done
	if err := checkRun(col.serials()["2330"], 1, 40); err != nil {
		t.Error(err)
	}
}

// A durable client closed while it had pulled values it never handled (its
// consumer read nothing) resumes with exactly those values, in order, at
// once rather than after JetStream's 30 s ack wait.
func TestDurableConsumerResumesWithValuesPulledButNotHandled(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	gnc := connect(t, ns.ClientURL())
	startGateway(t, gnc, srv, func(o *GatewayOption) { o.Lease = time.Minute })

	stalled := ClientOption{Durable: "d2", FeedOption: marketdata.FeedOption{Ordered: true, BufferSize: 1, DropPolicy: marketdata.Block, BlockTimeout: -1}}
	first := newClient(t, connect(t, ns.ClientURL()), stalled)
	subscribe(t, first, marketdata.ChannelTrades, "2330")
	publishTradesOnce(t, srv, "2330", 1, 200)
	waitStreamMsgs(t, gnc, 200)
	// One value waits in the channel, one in Deliver; the rest were pulled
	// ahead, unacknowledged.
	waitFor(t, "the first client to pull ahead", func() bool {
		info, err := first.cons.Info(t.Context())
		return err == nil && info.NumAckPending >= 100
	})
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := newClient(t, connect(t, ns.ClientURL()), ClientOption{Durable: "d2", FeedOption: marketdata.FeedOption{Ordered: true}})
	c2 := collect(second)
	var handled []int64
	for m := range first.All() { // what the first one had delivered before Close
		if tr, ok := m.(marketdata.Trade); ok {
			handled = append(handled, tr.Serial)
		}
	}
	from := int64(1)
	if len(handled) > 0 {
		from = handled[len(handled)-1] + 1
	}
	waitFor(t, "the values the first client never handled", func() bool {
		return c2.tradeCount() >= int(200-from+1)
	})
	_ = second.Close()
	<-c2.done
	if err := checkRun(c2.serials()["2330"], from, 200); err != nil {
		t.Errorf("resumed client (the first handled %v): %v", handled, err)
	}
}
