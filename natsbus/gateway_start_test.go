package natsbus

import (
	"context"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
)

// A gateway answers from the moment Start returns: a consumer's request
// sent right after must not find no responders. Each Close, coming right
// after that subscription's first publishes, leaves nothing on the NATS
// connection (goleak, in TestMain, checks the goroutines).
func TestGatewayAnswersAsSoonAsStartReturns(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	gnc := connect(t, ns.ClientURL())
	// The client needs the stream, which outlives its gateway.
	if err := startGateway(t, gnc, srv, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{})
	req := marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}
	subs := gnc.NumSubscriptions()
	for i := range 20 {
		g, err := NewGateway(GatewayOption{Conn: gnc, Name: "gw1", Stock: &marketdata.PoolOption{Client: clientOption(srv)}, Lease: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = g.Start(ctx)
		if err == nil {
			// The key is held already: the request goes out at once.
			err = c.Subscribe(ctx, req)
		}
		cancel()
		_ = g.Close()
		if err != nil {
			t.Fatalf("gateway %d: %v", i, err)
		}
		if n := gnc.NumSubscriptions(); n != subs {
			t.Fatalf("gateway %d left %d subscriptions on its connection", i, n-subs)
		}
	}
}
