package marketdata

import (
	"sync"
	"testing"
)

func TestHandlersTakeValuesOnTheReaderInWireOrder(t *testing.T) {
	srv := newServer(t)
	var mu sync.Mutex
	var serials []int64
	got := make(chan struct{})
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.Handlers.Trade = func(v Trade) {
			mu.Lock()
			defer mu.Unlock()
			serials = append(serials, v.Serial)
			if v.Conn == 0 || v.Received.IsZero() {
				t.Errorf("trade without its connection or receipt time: %+v", v.Meta)
			}
			if len(serials) == 100 {
				close(got)
			}
		}
	})
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	subscribe(t, c, ChannelBooks, "2330")
	for i := 1; i <= 100; i++ {
		srv.Publish("trades", "2330", tradeJSON("2330", i))
	}
	srv.Publish("books", "2330", []byte(`{"symbol":"2330","bids":[],"asks":[],"time":1}`))
	select {
	case <-got:
	case <-testCtx(t).Done():
		t.Fatal("the handler did not get 100 trades")
	}
	// A kind without a handler still goes to its channel.
	select {
	case b := <-c.Books():
		if b.Symbol != "2330" {
			t.Errorf("book %+v", b)
		}
	case <-testCtx(t).Done():
		t.Fatal("no book on Books")
	}
	mu.Lock()
	for i, s := range serials {
		if s != int64(i+1) {
			t.Fatalf("handler saw serial %d at %d: %v", s, i, serials)
		}
	}
	mu.Unlock()
	if n := len(c.Trades()); n != 0 {
		t.Errorf("Trades has %d values: a handled kind must not reach its channel", n)
	}
	if st := c.Stats().Trades; st.Received != 100 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 100 received", st)
	}
}
