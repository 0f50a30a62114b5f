package natsbus

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/messages"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A stream at three replicas survives the loss of one node at a time:
// first n3, which neither the gateway (on n1) nor the consumer (on n2) is
// connected to and which leads the stream, then, once it is back and
// caught up, n2, which the consumer fails over from. The consumer gets
// every value once throughout.
func TestClusterLosesANodeAtATime(t *testing.T) {
	cl := startCluster(t, 3)
	srv := startMock(t)
	gnc := connectList(t, cl.urls(0))
	cnc := connectList(t, cl.urls(1))
	if a, b := gnc.ConnectedServerName(), cnc.ConnectedServerName(); a != "n1" || b != "n2" {
		t.Fatalf("gateway on %s, consumer on %s; want n1 and n2", a, b)
	}
	g := startClusterGateway(t, gnc, srv)

	c := newClient(t, cnc, ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, c, marketdata.ChannelTrades, "2330")
	col := collect(c)

	const long = 90 * time.Second // elections and failovers under -race
	waitWithin(t, long, "three current replicas", func() bool { return streamLeader(gnc, 3) != "" })
	// Losing n3 then always costs the stream its leader; where the R1 live
	// consumer sits is the server's choice: on n3 or n2 the client must
	// bind a new one when its node goes.
	moveStreamLeader(t, gnc, "n3")
	t.Logf("live consumer on %s", consumerNode(t, c))

	const n1, n2, n3 = 100, 200, 300
	publishTrades(srv, "2330", 1, n1)
	waitWithin(t, long, "the run before", func() bool { return col.tradeCount() >= n1 })

	cl.stop(2)
	publishTrades(srv, "2330", n1+1, n2) // into the election
	waitWithin(t, long, "the run without n3", func() bool { return col.tradeCount() >= n2 })

	// Back to three, every replica current, before the next loss: two of
	// three down would leave no quorum.
	cl.start(2)
	waitWithin(t, long, "n3 to catch up", func() bool { return streamLeader(gnc, 3) != "" })

	cl.stop(1)
	publishTrades(srv, "2330", n2+1, n3) // while the consumer fails over
	waitWithin(t, long, "the run without n2", func() bool { return col.tradeCount() >= n3 })
	if name := cnc.ConnectedServerName(); name == "n2" {
		t.Errorf("consumer still on %s", name)
	}

	// The stream's own order is the gateway's doing; the consumer's, its.
	// Exactly once; order is only logged: frames in flight when the leader
	// died can be stored by the next one after newer frames (see the
	// README's limits).
	late, err := checkOnce(streamSerials(t, gnc, "fugle.stock.trades.2330"), 1, n3)
	if err != nil {
		t.Errorf("the stream: %v", err)
	}
	t.Logf("the stream: %d of %d values after a later serial", late, n3)
	if got := streamCount(t, gnc, DefaultStream, "fugle.stock.trades.2330"); got != n3 {
		t.Errorf("stream holds %d frames of 2330, want %d", got, n3)
	}
	_ = c.Close()
	<-col.done
	late, err = checkOnce(col.serials()["2330"], 1, n3)
	if err != nil {
		t.Error(err)
	}
	t.Logf("the consumer: %d of %d values after a later serial", late, n3)
	if lost := metricSum(t, g, "fugle_gateway_publish_lost_total"); lost != 0 {
		t.Errorf("gateway lost %v frames", lost)
	}
}

// startClusterGateway starts a gateway whose stream has three replicas,
// trying again while the cluster cannot place them yet (peers still
// joining the meta group). The lease is long: a consumer failing over
// must not lose its keys on the way.
func startClusterGateway(t *testing.T, nc *nats.Conn, srv *marketdatatest.Server) *Gateway {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for attempt := 1; ; attempt++ {
		g, err := NewGateway(GatewayOption{Conn: nc, Name: "gw1", Stock: &marketdata.PoolOption{Client: clientOption(srv)}, Lease: 30 * time.Second, Replicas: 3})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = g.Start(ctx)
		cancel()
		if err == nil {
			t.Cleanup(func() { _ = g.Close() })
			return g
		}
		_ = g.Close()
		if time.Now().After(deadline) {
			t.Fatalf("gateway not started after %d attempts: %v", attempt, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// streamLeader names the stream's leader when it has n replicas in all,
// every one current; "" otherwise.
func streamLeader(nc *nats.Conn, n int) string {
	js, err := jetstream.New(nc)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, DefaultStream)
	if err != nil {
		return ""
	}
	ci := s.CachedInfo().Cluster
	if ci == nil || ci.Leader == "" || len(ci.Replicas)+1 != n {
		return ""
	}
	for _, r := range ci.Replicas {
		if !r.Current || r.Offline {
			return ""
		}
	}
	return ci.Leader
}

// moveStreamLeader asks the stream's leader to step down in favour of
// node, until node leads.
func moveStreamLeader(t *testing.T, nc *nats.Conn, node string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"placement": map[string]string{"preferred": node}})
	waitWithin(t, 60*time.Second, "stream leader "+node, func() bool {
		switch streamLeader(nc, 3) {
		case node:
			return true
		case "":
			return false // an election under way
		}
		_, _ = nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+DefaultStream, body, 5*time.Second)
		return false
	})
}

// consumerNode names the node that holds the client's live consumer.
func consumerNode(t *testing.T, c *Client) string {
	t.Helper()
	c.mu.Lock()
	cons := c.cons
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// streamSerials reads the trade serials stored on subject, in stream order.
func streamSerials(t *testing.T, nc *nats.Conn, subject string) []int64 {
	js, _ := jetstream.New(nc)
	// Right after a node came back the cluster may not place a consumer
	// yet: try again for a while.
	var cons jetstream.Consumer
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		cons, err = js.OrderedConsumer(ctx, DefaultStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var out []int64
	for {
		b, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return out
		}
		n := 0
		for m := range b.Messages() {
			n++
			if len(m.Headers().Get(headerMarker)) > 0 {
				continue
			}
			v, err := messages.Decode(m.Data())
			if err != nil {
				t.Logf("decode: %v", err)
				continue
			}
			switch tr := v.(type) {
			case *messages.Trade:
				out = append(out, tr.Serial)
			}
		}
		if n == 0 {
			return out
		}
	}
}
