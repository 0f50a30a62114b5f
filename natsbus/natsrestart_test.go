package natsbus

import (
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
)

// The NATS server goes away under a live gateway and a live consumer and
// comes back on the same address with the same store. Both reconnect
// through nats.go; what the gateway read from Fugle meanwhile is published
// once the server is back, and the consumer gets every value once.
func TestNATSRestartUnderGatewayAndConsumer(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, dir)
	addr := ns.Addr().String()
	srv := startMock(t)
	gnc := connect(t, ns.ClientURL())
	g := startGateway(t, gnc, srv, nil)
	cnc := connect(t, ns.ClientURL())
	c := newClient(t, cnc, ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, c, marketdata.ChannelTrades, "2330")
	col := collect(c)

	const n1, n2, n3 = 100, 200, 300
	publishTrades(srv, "2330", 1, n1)
	waitFor(t, "the run before", func() bool { return col.tradeCount() >= n1 })

	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, "both connections to notice", func() bool { return !gnc.IsConnected() && !cnc.IsConnected() })

	// The Fugle side is untouched: the gateway reads these while NATS is
	// down and must hold them until it is back.
	publishTrades(srv, "2330", n1+1, n2)
	waitFor(t, "the gateway to read the run during", func() bool {
		return metricSum(t, g, "fugle_gateway_frames_in_total") >= n2
	})

	ns2, err := RunServer(ServerOption{Listen: addr, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns2.Shutdown(); ns2.WaitForShutdown() })
	waitFor(t, "both connections back", func() bool { return gnc.IsConnected() && cnc.IsConnected() })

	publishTrades(srv, "2330", n2+1, n3)
	// The live consumer was kept in memory and is gone: the client sees
	// its heartbeats stop and binds a new one after the last value.
	waitWithin(t, 60*time.Second, "every serial", func() bool { return col.tradeCount() >= n3 })
	if got := streamCount(t, cnc, DefaultStream, "fugle.stock.trades.2330"); got != n3 {
		t.Errorf("stream holds %d frames of 2330, want %d", got, n3)
	}
	_ = c.Close()
	<-col.done
	if err := checkRun(col.serials()["2330"], 1, n3); err != nil {
		t.Error(err)
	}
	if lost := metricSum(t, g, "fugle_gateway_publish_lost_total"); lost != 0 {
		t.Errorf("gateway lost %v frames", lost)
	}
}
