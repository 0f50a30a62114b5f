package marketdata

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// describeMessage names a message for order comparisons.
func describeMessage(m Message) string {
	switch v := m.(type) {
	case Trade:
		return fmt.Sprintf("trade %s %d", v.Symbol, v.Serial)
	case Book:
		return "book " + v.Symbol
	case Aggregate:
		return "aggregate " + v.Symbol
	case Unknown:
		return "unknown " + v.Event
	case Event:
		return fmt.Sprintf("%T", v)
	}
	return fmt.Sprintf("%T", m)
}

func TestOrderedStreamKeepsWireOrderAndLifecycleInPlace(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.Ordered = true })
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	subscribe(t, c, ChannelBooks, "2330")
	subscribe(t, c, ChannelAggregates, "2330")
	book := []byte(`{"symbol":"2330","bids":[{"price":1,"size":2}],"asks":[],"time":1}`)
	agg := []byte(`{"symbol":"2330","lastPrice":568}`)
	var want []string
	for i := 1; i <= 30; i++ {
		srv.Publish("trades", "2330", tradeJSON("2330", i))
		want = append(want, fmt.Sprintf("trade 2330 %d", i))
		switch i % 3 {
		case 0:
			srv.Publish("books", "2330", book)
			want = append(want, "book 2330")
		case 1:
			srv.Publish("aggregates", "2330", agg)
			want = append(want, "aggregate 2330")
		}
		if i == 15 {
			srv.SendAll([]byte(`{"event":"maintenance","data":{}}`))
			want = append(want, "unknown maintenance")
		}
	}
	var got []string
	for len(got) < 2+len(want) {
		m, err := c.Next(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, describeMessage(m))
	}
	if got[0] != "marketdata.Connected" || got[1] != "marketdata.Authenticated" {
		t.Fatalf("stream starts %v, want connected, authenticated", got[:2])
	}
	for i, w := range want {
		if got[2+i] != w {
			t.Fatalf("message %d = %q, want %q (stream %v)", i, got[2+i], w, got)
		}
	}
	// A lost connection: its lifecycle comes in place, before the data of
	// the next connection.
	srv.DropAll()
	if err := srv.WaitForSubscribers(testCtx(t), "trades", "2330", 1); err != nil {
		t.Fatal(err)
	}
	var lifecycle []string
	for {
		m, err := c.Next(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		lifecycle = append(lifecycle, describeMessage(m))
		if _, ok := m.(Resubscribed); ok {
			break
		}
		if _, ok := m.(Trade); ok {
			t.Fatalf("data before Resubscribed: %v", lifecycle)
		}
	}
	wantLife := []string{"marketdata.Disconnected", "marketdata.Reconnecting", "marketdata.Connected", "marketdata.Authenticated", "marketdata.Reconnected", "marketdata.Resubscribed"}
	if fmt.Sprint(lifecycle) != fmt.Sprint(wantLife) {
		t.Fatalf("lifecycle %v, want %v", lifecycle, wantLife)
	}
	srv.Publish("trades", "2330", tradeJSON("2330", 31))
	if m, _ := c.Next(testCtx(t)); describeMessage(m) != "trade 2330 31" || m.(Trade).Conn != 2 {
		t.Fatalf("after the reconnect: %v", m)
	}
	st := c.Stats()
	if st.Trades.Received != 0 || st.Books.Received != 0 || st.Events.Received != 0 {
		t.Fatalf("typed channels fed in ordered mode: %+v", st)
	}
}

func TestOrderedStreamDropAccounting(t *testing.T) {
	const published, buffer = 500, 50
	for _, policy := range []DropPolicy{DropOldest, DropNewest, Block} {
		t.Run(policy.String(), func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv, func(o *WebSocketClientOption) {
				o.Ordered, o.DropPolicy, o.BufferSize, o.BlockTimeout = true, policy, buffer, time.Millisecond
			})
			connect(t, c)
			subscribe(t, c, ChannelTrades, "2330")
			for i := 1; i <= published; i++ {
				srv.Publish("trades", "2330", tradeJSON("2330", i))
			}
			eventually(t, "every frame handled", func() bool {
				return c.Stats().Messages.Received >= published+2 // connected, authenticated, the trades
			})
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			all, trades, reported := uint64(0), 0, uint64(0)
			for m := range c.All() {
				all++
				switch v := m.(type) {
				case Trade:
					trades++
				case Dropped:
					reported += v.Count
				}
			}
			// Everything handed to the stream was delivered or dropped,
			// exactly. A drop report competes for room like any message:
			// one that does not fit is dropped and counted too.
			st := c.Stats().Messages
			if all != st.Received-st.Dropped {
				t.Fatalf("delivered %d, received %d - dropped %d = %d", all, st.Received, st.Dropped, st.Received-st.Dropped)
			}
			if st.Dropped == 0 || reported > st.Dropped || (policy == DropOldest && reported == 0) {
				t.Fatalf("dropped %d, reported %d", st.Dropped, reported)
			}
			if trades == 0 || uint64(trades)+st.Dropped < published {
				t.Fatalf("%d trades delivered, %d dropped, of %d", trades, st.Dropped, published)
			}
			if _, err := c.Next(context.Background()); !errors.Is(err, ErrClosed) {
				t.Fatalf("Next after the end = %v, want ErrClosed", err)
			}
		})
	}
}

func TestAllIteratorAndNextWithoutOrdered(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.Ordered = true })
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	for i := 1; i <= 3; i++ {
		srv.Publish("trades", "2330", tradeJSON("2330", i))
	}
	var serials []int64
	for m := range c.All() {
		if tr, ok := m.(Trade); ok {
			serials = append(serials, tr.Serial)
			if len(serials) == 3 {
				break // leaves the client running
			}
		}
	}
	if fmt.Sprint(serials) != "[1 2 3]" || c.State() != StateConnected {
		t.Fatalf("serials %v, state %v", serials, c.State())
	}

	plain := newClient(t, srv, nil)
	if _, err := plain.Next(testCtx(t)); !errors.Is(err, ErrNotOrdered) {
		t.Fatalf("Next without Ordered = %v", err)
	}
	for range plain.All() {
		t.Fatal("All without Ordered yielded")
	}
}
