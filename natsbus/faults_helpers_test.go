package natsbus

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Helpers for the fault tests: HA gateways, a NATS cluster, a NATS restart.

// connectList opens a NATS connection to a comma-separated server list,
// trying them in the given order (so a test knows which node it is on),
// reconnecting for ever; closed at the test's end.
func connectList(t *testing.T, urls string, extra ...nats.Option) *nats.Conn {
	t.Helper()
	opts := append([]nats.Option{
		nats.DontRandomize(), nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond), nats.ReconnectJitter(0, 0),
	}, extra...)
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// waitWithin is waitFor with a deadline of the caller's choosing, for
// failovers that take JetStream seconds.
func waitWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publishTrades publishes serials from..to of symbol at the mock.
func publishTrades(srv *marketdatatest.Server, symbol string, from, to int64) {
	for i := from; i <= to; i++ {
		srv.Publish("trades", symbol, trade(symbol, i))
	}
}

// metricText is the gateway's metrics as its handler serves them.
func metricText(t *testing.T, g *Gateway) string {
	t.Helper()
	rec := httptest.NewRecorder()
	g.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("metrics: status %d", rec.Code)
	}
	return rec.Body.String()
}

// metricSum adds up every sample of the named metric whose labels contain
// all of match (e.g. `symbol="2330"`).
func metricSum(t *testing.T, g *Gateway, name string, match ...string) float64 {
	t.Helper()
	sum := 0.0
	for line := range strings.SplitSeq(metricText(t, g), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(line, m)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// streamCount is how many messages the stream holds on subject.
func streamCount(t *testing.T, nc *nats.Conn, stream, subject string) uint64 {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

// cluster is an embedded NATS cluster with JetStream on every node.
type cluster struct {
	t     *testing.T
	opts  []*server.Options
	nodes []*server.Server
}

// startCluster runs n JetStream nodes on loopback, routed to one another,
// each with its own store, and waits until JetStream has a meta leader.
func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{t: t, opts: make([]*server.Options, n), nodes: make([]*server.Server, n)}
	ports := freePorts(t, 2*n) // client and route ports: fixed, so a node can come back on them
	for i := range n {
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+j]))
			}
		}
		c.opts[i] = &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: ports[i],
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "natsbus", Host: "127.0.0.1", Port: ports[n+i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
	}
	for i := range n {
		c.start(i)
	}
	t.Cleanup(func() {
		for _, s := range c.nodes {
			if s != nil {
				s.Shutdown()
				s.WaitForShutdown()
			}
		}
	})
	waitWithin(t, 60*time.Second, "a JetStream meta leader", func() bool {
		for _, s := range c.nodes {
			if s.JetStreamIsLeader() {
				return true
			}
		}
		return false
	})
	return c
}

// start runs node i (again) with its options: same ports, same store.
func (c *cluster) start(i int) {
	c.t.Helper()
	o := c.opts[i].Clone()
	s, err := StartServer(o)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[i] = s
}

// stop shuts node i down and waits until it has.
func (c *cluster) stop(i int) {
	c.nodes[i].Shutdown()
	c.nodes[i].WaitForShutdown()
}

func (c *cluster) url(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// urls lists every node's URL, node first.
func (c *cluster) urls(first int) string {
	out := []string{c.url(first)}
	for i := range c.opts {
		if i != first {
			out = append(out, c.url(i))
		}
	}
	return strings.Join(out, ",")
}

// freePorts finds n free loopback ports, holding them all at once so that
// they differ.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// checkOnce says whether serials from..to each came exactly once, in any
// order, and counts those that came after a higher one.
func checkOnce(got []int64, from, to int64) (late int, err error) {
	seen := map[int64]int{}
	var highest int64
	for _, s := range got {
		seen[s]++
		if s < highest {
			late++
		}
		highest = max(highest, s)
	}
	var missing, twice []int64
	for s := from; s <= to; s++ {
		switch seen[s] {
		case 0:
			missing = append(missing, s)
		case 1:
		default:
			twice = append(twice, s)
		}
		delete(seen, s)
	}
	if len(missing) > 0 || len(twice) > 0 || len(seen) > 0 {
		return late, fmt.Errorf("%d values: missing %v, more than once %v, %d outside %d..%d", len(got), short(missing), short(twice), len(seen), from, to)
	}
	return late, nil
}
