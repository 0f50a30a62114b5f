package natsbus

import (
	"context"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
)

// A consumer that stops reading under Block holds back only itself: its
// values wait in JetStream, while the gateway keeps its Fugle connection
// and another consumer gets everything. Once it reads again it gets every
// value, in order.
func TestStalledConsumerHoldsBackOnlyItself(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	g := startGateway(t, connect(t, ns.ClientURL()), srv, nil)

	const buffer = 4
	stalled := newClient(t, connect(t, ns.ClientURL()), ClientOption{FeedOption: marketdata.FeedOption{
		DropPolicy: marketdata.Block, BufferSize: buffer, BlockTimeout: -1,
	}})
	other := newClient(t, connect(t, ns.ClientURL()), ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, stalled, marketdata.ChannelTrades, "2330")
	subscribe(t, other, marketdata.ChannelTrades, "2330")
	col := collect(other)

	// Far more than the stalled client pulls ahead (1024) and buffers.
	const n = 5000
	publishTradesOnce(t, srv, "2330", 1, n)
	waitLong(t, "the other consumer's values", func() bool { return col.tradeCount() == n })
	waitFor(t, "the stalled consumer's buffer to fill", func() bool { return len(stalled.Trades()) == buffer })

	if r := g.Pool(Stock).Stats().Reconnects; r != 0 {
		t.Errorf("the gateway reconnected %d times to Fugle", r)
	}
	if conns := srv.Conns(); len(conns) != 1 {
		t.Errorf("the mock accepted %d connections, want the gateway's 1", len(conns))
	}
	// The backlog is JetStream's, not the client's memory.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := stalled.js.Consumer(ctx, DefaultStream, "live-"+stalled.id)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending < n/2 {
		t.Errorf("the stalled consumer left %d of %d values in the stream; it should hold back most", info.NumPending, n)
	}
	if st := stalled.Stats().Trades; st.Dropped != 0 {
		t.Errorf("the stalled consumer dropped %d values under Block", st.Dropped)
	}

	var got []int64
	timeout := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case tr := <-stalled.Trades():
			got = append(got, tr.Serial)
		case <-timeout:
			t.Fatalf("the stalled consumer got %d of %d values once it read again", len(got), n)
		}
	}
	if err := checkRun(got, 1, n); err != nil {
		t.Errorf("stalled consumer: %v", err)
	}
	if err := checkRun(col.serials()["2330"], 1, n); err != nil {
		t.Errorf("other consumer: %v", err)
	}
}
