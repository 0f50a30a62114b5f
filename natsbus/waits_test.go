package natsbus

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// waitLong is waitFor with room for heavy work on a loaded machine.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSubscribers waits until exactly n live mock connections hold
// (channel, symbol). (The mock's WaitForSubscribers waits for at least n,
// which is no wait at all for 0.)
func waitSubscribers(t *testing.T, srv *marketdatatest.Server, channel, symbol string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Wait(ctx, func() bool { return srv.Subscribers(channel, symbol) == n }); err != nil {
		t.Fatalf("waiting for %d subscribers of %s %s (have %d): %v", n, channel, symbol, srv.Subscribers(channel, symbol), err)
	}
}

// unsubscribeFrames counts the unsubscribe commands the mock received on
// any connection.
func unsubscribeFrames(srv *marketdatatest.Server) int {
	n := 0
	for _, c := range srv.Conns() {
		for _, f := range c.Frames() {
			if bytes.Contains(f, []byte(`"unsubscribe"`)) {
				n++
			}
		}
	}
	return n
}

// waitStreamMsgs waits until the gateway's stream holds at least n
// messages, so that what was published at the mock is on the bus.
func waitStreamMsgs(t *testing.T, nc *nats.Conn, n uint64) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var have uint64
	waitFor(t, "the stream to hold the published frames", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, DefaultStream)
		if err != nil {
			return false
		}
		have = s.CachedInfo().State.Msgs
		return have >= n
	})
}

// publishTradesOnce publishes serials from..to of symbol at the mock, and
// fails unless a connection (the gateway's) took each.
func publishTradesOnce(t *testing.T, srv *marketdatatest.Server, symbol string, from, to int64) {
	t.Helper()
	for i := from; i <= to; i++ {
		if n := srv.Publish("trades", symbol, trade(symbol, i)); n != 1 {
			t.Fatalf("trade %s #%d reached %d connections, want 1", symbol, i, n)
		}
	}
}

// snapshot returns a copy of everything the collector has read.
func (col *collector) snapshot() []marketdata.Message {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]marketdata.Message(nil), col.all...)
}

func isGap(m marketdata.Message, symbol string, start bool) bool {
	g, ok := m.(marketdata.Gap)
	return ok && g.Subscription.Symbol == symbol && g.Start == start
}

func isTrade(m marketdata.Message, symbol string, serial func(int64) bool) bool {
	tr, ok := m.(marketdata.Trade)
	return ok && tr.Symbol == symbol && serial(tr.Serial)
}
