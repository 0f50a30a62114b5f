package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// bus is one bus path: an embedded NATS server with JetStream on a
// temporary directory, a gateway holding one Fugle connection to the
// endpoint, and the connections the gateway and the consumer use (one
// each, as two processes would have).
type bus struct {
	dir      string
	ns       *server.Server
	gnc, cnc *nats.Conn
	gw       *natsbus.Gateway
	reg      *prometheus.Registry
	memory   bool
}

// busOptions are what a bus run varies.
type busOptions struct {
	memory     bool          // GatewayOption.MemoryStorage
	duplicates time.Duration // GatewayOption.Duplicates; 0: its default
}

func startBus(ctx context.Context, ep *endpoint, w *workload, o busOptions) (b *bus, err error) {
	b = &bus{memory: o.memory, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			b.close()
			b = nil
		}
	}()
	if b.dir, err = os.MkdirTemp("", "natsbus-bench-"); err != nil {
		return b, err
	}
	if b.ns, err = natsbus.RunServer(natsbus.ServerOption{Listen: "127.0.0.1:0", StoreDir: b.dir}); err != nil {
		return b, err
	}
	if b.gnc, err = nats.Connect(b.ns.ClientURL(), nats.Name("gateway")); err != nil {
		return b, err
	}
	if b.cnc, err = nats.Connect(b.ns.ClientURL(), nats.Name("consumer")); err != nil {
		return b, err
	}
	copt := directOptions(ep.url)
	copt.DisableReconnect = false // the gateway's own policy; a lost connection still shows in its counters
	gw, err := natsbus.NewGateway(natsbus.GatewayOption{
		Conn: b.gnc, Name: "bench",
		Stock:         &marketdata.PoolOption{Client: copt, Plan: marketdata.Plan{Connections: 1, SubscriptionsPerConnection: w.subscriptionCount()}},
		MemoryStorage: o.memory,
		Duplicates:    o.duplicates,
		Registerer:    b.reg,
	})
	if err != nil {
		return b, err
	}
	if err = gw.Start(ctx); err != nil {
		_ = gw.Close()
		return b, err
	}
	b.gw = gw
	return b, nil
}

// client is a consumer of the bus with the bench's delivery options.
func (b *bus) client() (*natsbus.Client, error) {
	return natsbus.NewClient(b.cnc, natsbus.ClientOption{FeedOption: marketdata.FeedOption{
		DropPolicy: marketdata.Block, BlockTimeout: -1,
	}})
}

// streamState is the stream's message count and bytes.
func (b *bus) streamState(ctx context.Context) (msgs, bytes uint64, err error) {
	js, err := jetstream.New(b.cnc)
	if err != nil {
		return 0, 0, err
	}
	s, err := js.Stream(ctx, natsbus.DefaultStream)
	if err != nil {
		return 0, 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return info.State.Msgs, info.State.Bytes, nil
}

// setDuplicates changes the stream's duplicate window.
func (b *bus) setDuplicates(ctx context.Context, d time.Duration) error {
	js, err := jetstream.New(b.cnc)
	if err != nil {
		return err
	}
	s, err := js.Stream(ctx, natsbus.DefaultStream)
	if err != nil {
		return err
	}
	cfg := s.CachedInfo().Config
	cfg.Duplicates = d
	_, err = js.UpdateStream(ctx, cfg)
	return err
}

func (b *bus) close() {
	if b.gw != nil {
		_ = b.gw.Close()
	}
	for _, nc := range []*nats.Conn{b.cnc, b.gnc} {
		if nc != nil {
			nc.Close()
		}
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// gatewayCounters are the gateway's own metrics, summed over products.
type gatewayCounters struct {
	FramesIn      uint64 `json:"frames_in"`
	Published     uint64 `json:"published"`
	Duplicates    uint64 `json:"duplicates"`
	PublishErrors uint64 `json:"publish_errors"`
	Lost          uint64 `json:"lost"`
	Unroutable    uint64 `json:"unroutable"`
	Reconnects    uint64 `json:"reconnects"`
	// From fugle_gateway_publish_latency_seconds: frames acknowledged, and
	// of those, acknowledged within 250 µs, 500 µs and 1 ms of being read.
	Acks         uint64 `json:"acks,omitempty"`
	AckedIn250us uint64 `json:"acked_in_250us,omitempty"`
	AckedIn500us uint64 `json:"acked_in_500us,omitempty"`
	AckedIn1ms   uint64 `json:"acked_in_1ms,omitempty"`
}

// acked is how many frames JetStream has acknowledged, as stored or as a
// duplicate of one stored (a publish retried after its ack was late).
func (c gatewayCounters) acked() int { return int(c.Published + c.Duplicates) }

func (b *bus) counters() gatewayCounters {
	var c gatewayCounters
	families, err := b.reg.Gather()
	if err != nil {
		return c
	}
	for _, f := range families {
		if f.GetName() == "fugle_gateway_publish_latency_seconds" {
			for _, m := range f.GetMetric() {
				h := m.GetHistogram()
				c.Acks += h.GetSampleCount()
				for _, b := range h.GetBucket() {
					switch b.GetUpperBound() {
					case 250e-6:
						c.AckedIn250us += b.GetCumulativeCount()
					case 500e-6:
						c.AckedIn500us += b.GetCumulativeCount()
					case 1e-3:
						c.AckedIn1ms += b.GetCumulativeCount()
					}
				}
			}
			continue
		}
		var sum float64
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
		v := uint64(sum)
		switch f.GetName() {
		case "fugle_gateway_frames_in_total":
			c.FramesIn = v
		case "fugle_gateway_frames_published_total":
			c.Published = v
		case "fugle_gateway_duplicates_total":
			c.Duplicates = v
		case "fugle_gateway_publish_errors_total":
			c.PublishErrors = v
		case "fugle_gateway_publish_lost_total":
			c.Lost = v
		case "fugle_gateway_unroutable_total":
			c.Unroutable = v
		case "fugle_gateway_fugle_reconnects_total":
			c.Reconnects = v
		}
	}
	return c
}

// directOptions are the direct client's settings, and the template of the
// gateway's Fugle connection: Block without a time limit, so that a slow
// consumer holds the socket back instead of losing values.
func directOptions(url string) marketdata.WebSocketClientOption {
	return marketdata.WebSocketClientOption{
		Endpoint: url, APIKey: "bench",
		DropPolicy: marketdata.Block, BlockTimeout: -1,
		DisableReconnect: true, // a lost connection fails the run instead of hiding in it
	}
}

// latencySink collects the latency of every trade after the warm-up.
type latencySink struct {
	warmup  time.Duration
	from    int64 // unix nanoseconds when measuring starts
	samples []time.Duration
}

// add records one trade whose serial is the endpoint's clock at its write.
func (s *latencySink) add(sentNanos int64) {
	now := time.Now().UnixNano()
	if s.from == 0 {
		s.from = now + int64(s.warmup)
	}
	if now >= s.from {
		s.samples = append(s.samples, time.Duration(now-sentNanos))
	}
}

// consumed is what the consumer saw of one run.
type consumed struct {
	received    int
	reordered   int // values older than the one before of the same key
	first, last time.Time
	cpu         time.Duration // the process's CPU from the first value to the last
	cpuOK       bool
	stats       marketdata.Stats
	events      []string // events other than Connected and Authenticated, before Close
}

// hooks lets a run look at the consumer at given value counts.
type hooks struct {
	at   []int              // ascending value counts
	call func(received int) // called on the consumer goroutine at each
	sink *latencySink
}

// idleLimit is how long a run waits for the next value once the endpoint
// has sent everything: past it, what has not arrived counts as lost.
const idleLimit = 10 * time.Second

// consume connects s, subscribes to every channel of w and reads the typed
// channels on one goroutine until it has n values, or until the endpoint
// has sent its frames and nothing more arrived for idleLimit. It closes s.
func consume(ctx context.Context, s marketdata.Stream, w *workload, j *job, h hooks) (c consumed, sr streamResult, err error) {
	var (
		mu      sync.Mutex
		closing bool
		evDone  = make(chan struct{})
	)
	go func() {
		defer close(evDone)
		for e := range s.Events() {
			switch e.(type) {
			case marketdata.Connected, marketdata.Authenticated:
				continue
			}
			mu.Lock()
			if !closing {
				c.events = append(c.events, e.String())
			}
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		closing = true
		mu.Unlock()
		j.cancel()
		_ = s.Close()
		<-evDone
	}()
	if err := s.Connect(ctx); err != nil {
		return c, sr, err
	}

	var count atomic.Int64
	quit := make(chan struct{})
	type outcome struct {
		first, last time.Time
		cpu         time.Duration
		cpuOK       bool
		reordered   int
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		var sum int64 // touches every value, as a consumer would
		var cpu0 time.Duration
		trades, books, aggs := s.Trades(), s.Books(), s.Aggregates()
		next, n := 0, int64(j.n)
		// Every frame's timestamp is its number in the stream, so each
		// key's values must come with rising timestamps.
		lastT, lastB, lastA := map[string]int64{}, map[string]int64{}, map[string]int64{}
		inOrder := func(last map[string]int64, symbol string, t int64) {
			if t <= last[symbol] {
				o.reordered++
			}
			last[symbol] = t
		}
		for i := int64(0); i < n; i++ {
			select {
			case v, ok := <-trades:
				if !ok {
					done <- o
					return
				}
				if h.sink != nil {
					h.sink.add(v.Serial)
				}
				inOrder(lastT, v.Symbol, int64(v.Time))
				sum += v.Serial
			case v, ok := <-books:
				if !ok {
					done <- o
					return
				}
				inOrder(lastB, v.Symbol, int64(v.Time))
				sum += v.Bids[0].Size
			case v, ok := <-aggs:
				if !ok {
					done <- o
					return
				}
				inOrder(lastA, v.Symbol, int64(v.LastUpdated))
				sum += v.Total.TradeVolume
			case <-quit:
				o.cpu, o.cpuOK = cpuSince(cpu0, o.cpuOK)
				done <- o
				return
			}
			o.last = time.Now()
			if i == 0 {
				o.first = o.last
				cpu0, o.cpuOK = processCPU()
			}
			count.Store(i + 1)
			if next < len(h.at) && int(i+1) == h.at[next] {
				h.call(int(i + 1))
				next++
			}
		}
		o.cpu, o.cpuOK = cpuSince(cpu0, o.cpuOK)
		checksum.Add(sum)
		done <- o
	}()

	for _, sub := range w.subs {
		if err := s.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.Channel(sub.channel), Symbols: sub.symbols}); err != nil {
			close(quit)
			<-done
			return c, sr, fmt.Errorf("subscribe %s: %w", sub.channel, err)
		}
	}

	// Wait for every value, or for the values to stop coming once the
	// endpoint is done.
	var o outcome
	gotStream := false
	lastCount, lastChange := int64(-1), time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case o = <-done:
			break wait
		case sr = <-j.done:
			gotStream = true
		case <-ctx.Done():
			close(quit)
			o = <-done
			err = ctx.Err()
			break wait
		case now := <-tick.C:
			if k := count.Load(); k != lastCount {
				lastCount, lastChange = k, now
			} else if gotStream && now.Sub(lastChange) > idleLimit {
				close(quit)
				o = <-done
				break wait
			}
		}
	}
	if !gotStream {
		select {
		case sr = <-j.done:
		case <-time.After(idleLimit):
			sr.err = errors.New("the endpoint's stream did not finish")
		}
	}
	c.received = int(count.Load())
	c.first, c.last, c.cpu, c.cpuOK, c.reordered = o.first, o.last, o.cpu, o.cpuOK, o.reordered
	c.stats = s.Stats()
	return c, sr, err
}

// cpuSince is the process's CPU since cpu0, when both readings exist.
func cpuSince(cpu0 time.Duration, ok bool) (time.Duration, bool) {
	cpu1, ok1 := processCPU()
	if !ok || !ok1 {
		return 0, false
	}
	return cpu1 - cpu0, true
}

// checksum keeps the consumer's reads of each value from being optimised
// away.
var checksum atomic.Int64

// dropped is the sum of the typed channels' drop counters.
func dropped(st marketdata.Stats) uint64 {
	return st.Trades.Dropped + st.Books.Dropped + st.Aggregates.Dropped + st.Candles.Dropped + st.Indices.Dropped + st.Events.Dropped
}
