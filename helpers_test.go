package marketdata

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

// hang bounds every wait in the tests: a deadlock fails the test instead of
// stalling the run. It is not a timing assertion.
const hang = 15 * time.Second

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	t.Cleanup(cancel)
	return ctx
}

const testKey = "test-key"

// newServer starts a mock endpoint that accepts testKey.
func newServer(t *testing.T, opts ...marketdatatest.Option) *marketdatatest.Server {
	t.Helper()
	srv := marketdatatest.NewServer(append([]marketdatatest.Option{marketdatatest.WithAPIKey(testKey)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// newClient builds a client for srv with short timeouts; edit adjusts the
// option. The client is closed at cleanup.
func newClient(t *testing.T, srv *marketdatatest.Server, edit func(*WebSocketClientOption)) *WebSocketClient {
	t.Helper()
	opt := WebSocketClientOption{
		Endpoint:                 srv.StockURL(),
		APIKey:                   testKey,
		CloseTimeout:             2 * time.Second,
		AuthTimeout:              5 * time.Second,
		ReconnectInitialInterval: 10 * time.Millisecond,
		ReconnectMaxInterval:     100 * time.Millisecond,
	}
	if edit != nil {
		edit(&opt)
	}
	c, err := NewWebSocketClient(opt)
	if err != nil {
		t.Fatalf("NewWebSocketClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func connect(t *testing.T, c *WebSocketClient) {
	t.Helper()
	if err := c.Connect(testCtx(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

func subscribe(t *testing.T, c *WebSocketClient, ch Channel, symbols ...string) {
	t.Helper()
	if err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ch, Symbols: symbols}); err != nil {
		t.Fatalf("Subscribe %s %v: %v", ch, symbols, err)
	}
}

// nextEvent reads Events until one of type T satisfies match, failing the
// test if the channel closes or nothing matches within hang. Events that do
// not match are returned too, in order, for assertions on sequences.
func nextEvent[T Event](t *testing.T, c *WebSocketClient, match func(T) bool) (T, []Event) {
	t.Helper()
	var seen []Event
	timeout := time.NewTimer(hang)
	defer timeout.Stop()
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				var zero T
				t.Fatalf("Events closed while waiting for %T; saw %v", zero, seen)
				return zero, seen
			}
			seen = append(seen, e)
			if v, ok := e.(T); ok && (match == nil || match(v)) {
				return v, seen
			}
		case <-timeout.C:
			var zero T
			t.Fatalf("no %T within %v; saw %v", zero, hang, seen)
			return zero, seen
		}
	}
}

// receive reads one value from ch within hang.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("channel closed")
		}
		return v
	case <-time.After(hang):
		t.Fatalf("nothing received within %v", hang)
	}
	var zero T
	return zero
}

// within runs f and fails the test if it has not returned within hang.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hang):
		t.Fatalf("%s did not return within %v", what, hang)
	}
}

// eventually waits for cond, re-checking it each millisecond; it fails the
// test if cond is still false after hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func tradeJSON(symbol string, serial int) []byte {
	return []byte(fmt.Sprintf(`{"symbol":%q,"type":"EQUITY","exchange":"TWSE","market":"TSE","bid":567,"ask":568,"price":568,"size":1,"volume":%d,"time":1685338200000000,"serial":%d}`, symbol, serial, serial))
}
