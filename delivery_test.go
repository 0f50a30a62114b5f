package marketdata

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A steadily slow consumer makes one long drop episode, reported once with
// its count, under every policy; the accounting stays exact.
func TestSteadilySlowConsumerGetsOneReportPerEpisode(t *testing.T) {
	const published = 1000
	for _, policy := range []DropPolicy{DropOldest, DropNewest, Block} {
		t.Run(policy.String(), func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv, func(o *WebSocketClientOption) {
				o.DropPolicy, o.BufferSize, o.BlockTimeout = policy, 4, time.Millisecond
			})
			connect(t, c)
			subscribe(t, c, ChannelTrades, "2330")
			var (
				mu      sync.Mutex
				reports []Dropped
			)
			eventsDone := make(chan struct{})
			go func() {
				defer close(eventsDone)
				for e := range c.Events() {
					if d, ok := e.(Dropped); ok && d.Channel == "trades" {
						mu.Lock()
						reports = append(reports, d)
						mu.Unlock()
					}
				}
			}()
			began := time.Now()
			for i := 1; i <= published; i++ {
				srv.Publish("trades", "2330", tradeJSON("2330", i))
			}
			// The consumer stays behind whatever the scheduler does: it takes a
			// value only from a full channel and only after a drop since its
			// last take, so the channel stays over half full (the episode's
			// slack) even when DropOldest's eviction runs at the same time; it
			// empties the channel once every value reached the client.
			ch, delivered, seen := c.Trades(), 0, uint64(0)
			deadline := time.Now().Add(hang)
			for {
				st := c.Stats().Trades
				if st.Received == published {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("stalled")
				}
				if len(ch) < cap(ch) || st.Dropped == seen {
					time.Sleep(50 * time.Microsecond) // wait for the reader to fill it and be refused
					continue
				}
				<-ch
				delivered, seen = delivered+1, st.Dropped
			}
			elapsed := time.Since(began)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			for range c.Trades() {
				delivered++
			}
			<-eventsDone
			st := c.Stats().Trades
			if st.Received != published || uint64(delivered)+st.Dropped != published {
				t.Fatalf("received %d, delivered %d + dropped %d, want %d", st.Received, delivered, st.Dropped, published)
			}
			if st.Dropped == 0 {
				t.Fatal("nothing dropped: the consumer was not slow")
			}
			var sum uint64
			for _, d := range reports {
				sum += d.Count
				if d.Count == 0 || d.Total > st.Dropped || d.Policy != policy {
					t.Fatalf("odd report %+v", d)
				}
			}
			if sum != st.Dropped {
				t.Fatalf("reports count %d drops, the channel %d", sum, st.Dropped)
			}
			// One episode, split only by the 10 s cap on a slow machine.
			if max := 1 + int(elapsed/episodeMax); len(reports) > max {
				t.Fatalf("%d reports for %d drops in %v, want at most %d", len(reports), st.Dropped, elapsed, max)
			}
		})
	}
}

// Lifecycle events never hold a public call: with Events full under Block,
// Connect, Subscribe, Unsubscribe, Ping and Close all return promptly.
func TestFullEventsUnderBlockHoldNoCaller(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.DropPolicy, o.EventBufferSize, o.BlockTimeout = Block, 1, 10*time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Connected fills Events; Authenticated finds it full.
	returnsWithin(t, "Connect", prompt, func() {
		if err := c.Connect(ctx); err != nil {
			t.Errorf("Connect: %v", err)
		}
	})
	if c.Stats().Events.Dropped == 0 {
		t.Fatal("Events was never full: the test shows nothing")
	}
	returnsWithin(t, "Subscribe", prompt, func() { subscribe(t, c, ChannelTrades, "2330") })
	returnsWithin(t, "Ping", prompt, func() {
		if _, err := c.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
	returnsWithin(t, "Unsubscribe", prompt, func() {
		if err := c.Unsubscribe(ctx, SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330"}}); err != nil {
			t.Errorf("Unsubscribe: %v", err)
		}
	})
	returnsWithin(t, "Close", prompt, func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// Block without a time limit loses nothing: a consumer that stalls holds the
// reader for as long as it stalls.
func TestBlockWithoutTimeLimitLosesNothing(t *testing.T) {
	const published = 200
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.DropPolicy, o.BufferSize, o.BlockTimeout = Block, 2, -1
	})
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	for i := 1; i <= published; i++ {
		srv.Publish("trades", "2330", tradeJSON("2330", i))
	}
	// Stall well past the default BlockTimeout (1 s) before reading.
	eventually(t, "the reader to be held by a full channel", func() bool { return len(c.Trades()) == cap(c.Trades()) })
	time.Sleep(1500 * time.Millisecond)
	for i := int64(1); i <= published; i++ {
		if v := receive(t, c.Trades()); v.Serial != i {
			t.Fatalf("serial %d, want %d", v.Serial, i)
		}
	}
	if st := c.Stats().Trades; st.Dropped != 0 {
		t.Fatalf("dropped %d", st.Dropped)
	}
}
