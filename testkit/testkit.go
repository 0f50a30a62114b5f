// Package testkit gives a test a ready client in one line: connected to a
// mock server of package marketdatatest, or to a replay of a recording, and
// closed when the test ends.
//
//	srv := marketdatatest.NewServer()
//	client := testkit.Client(t, srv)
//
//	rp, client := testkit.Replay(t, "testdata/day.ndjson.zst")
package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/replay"
)

// Key is the credential the clients of this package present. A mock server
// built without a credential option accepts it, as it accepts any.
const Key = "testkit-key"

// connectTimeout bounds Connect, so a broken setup fails the test instead
// of hanging it.
const connectTimeout = 10 * time.Second

// Client returns a client connected to srv's stock endpoint, closed at the
// test's cleanup. edit adjusts the option before the client is built (for
// another endpoint, credential, drop policy or Ordered). Reconnects are
// quick, so tests that drop connections stay fast.
func Client(t testing.TB, srv *marketdatatest.Server, edit ...func(*marketdata.WebSocketClientOption)) *marketdata.WebSocketClient {
	t.Helper()
	return connected(t, marketdata.WebSocketClientOption{Endpoint: srv.StockURL()}, edit)
}

// Replay serves the recording at path and returns the replay server and a
// client connected to it, both closed at the test's cleanup. The client
// blocks rather than drops (DropPolicy Block, no time limit), so that a
// replay at any speed loses nothing; the replay clock starts when the
// client subscribes.
func Replay(t testing.TB, path string, opts ...replay.Option) (*replay.Server, *marketdata.WebSocketClient) {
	t.Helper()
	rp, err := replay.NewServer(path, opts...)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(rp.Close)
	c := connected(t, marketdata.WebSocketClientOption{Endpoint: rp.Endpoint(), DropPolicy: marketdata.Block, BlockTimeout: -1}, nil)
	return rp, c
}

func connected(t testing.TB, opt marketdata.WebSocketClientOption, edit []func(*marketdata.WebSocketClientOption)) *marketdata.WebSocketClient {
	t.Helper()
	opt.APIKey = Key
	opt.CloseTimeout = 2 * time.Second
	opt.ReconnectInitialInterval = 10 * time.Millisecond
	opt.ReconnectMaxInterval = 100 * time.Millisecond
	for _, e := range edit {
		e(&opt)
	}
	c, err := marketdata.NewWebSocketClient(opt)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("testkit: connect: %v", err)
	}
	return c
}
