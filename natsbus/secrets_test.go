package natsbus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/nats-io/nats.go"
)

// The Fugle credential stays with the gateway's Fugle connections: it is
// on no NATS subject, header or body, in no metric, in no log record (at
// Debug, where frames are logged), and not in the printed option. The
// test runs the paths that say the most: subscribing, a refusal, a lost
// Fugle connection with its gap and reconnect, and closing.
func TestSecretNeverLeavesTheGateway(t *testing.T) {
	ns := startNATS(t, "")

	var (
		mu     sync.Mutex
		seen   int
		leaked []string
	)
	spy := connect(t, ns.ClientURL())
	sub, err := spy.Subscribe(">", func(m *nats.Msg) {
		text := m.Subject + " " + m.Reply + " " + fmt.Sprint(m.Header) + " " + string(m.Data)
		mu.Lock()
		defer mu.Unlock()
		seen++
		if strings.Contains(text, testKey) {
			leaked = append(leaked, text)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}
	if err := spy.Flush(); err != nil { // the spy is in place before anything
		t.Fatal(err)
	}

	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := startMock(t)
	srv.RejectSymbol("trades", "9999", 1003, "refused for the test")
	var opt GatewayOption
	g := startGateway(t, connect(t, ns.ClientURL()), srv, func(o *GatewayOption) {
		o.Logger = logger
		o.Stock.Client.Logger = logger
		opt = *o
	})
	for _, text := range []string{fmt.Sprintf("%+v", opt), fmt.Sprintf("%+v", *opt.Stock), fmt.Sprintf("%#v", *opt.Stock)} {
		if strings.Contains(text, testKey) {
			t.Errorf("printed option holds the key: %s", text)
		}
	}

	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, c, marketdata.ChannelTrades, "2330")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var gerr *GatewayError
	if err := c.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"9999"}}); !errors.As(err, &gerr) {
		t.Fatalf("subscribing a rejected symbol: %v, want a *GatewayError", err)
	}
	col := collect(c)
	publishTrades(srv, "2330", 1, 50)
	waitFor(t, "the first run", func() bool { return col.tradeCount() >= 50 })

	// A lost Fugle connection: gap markers, lifecycle events, a new auth.
	srv.DropAll()
	waitFor(t, "the gateway's reconnect", func() bool { return metricSum(t, g, "fugle_gateway_fugle_reconnects_total") >= 1 })
	if err := srv.WaitForSubscribers(ctx, "trades", "2330", 1); err != nil {
		t.Fatal(err)
	}
	publishTrades(srv, "2330", 51, 100)
	waitFor(t, "the second run", func() bool { return col.tradeCount() >= 100 })

	metrics := metricText(t, g)
	_ = c.Close()
	<-col.done
	_ = g.Close()
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	// Drain hands the spy what is queued, then ends it.
	if err := sub.Drain(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the spy to drain", func() bool { return !sub.IsValid() })

	// The key was in use: every Fugle connection authenticated with it.
	auths := 0
	for _, conn := range srv.Conns() {
		for _, f := range conn.Frames() {
			if bytes.Contains(f, []byte(testKey)) {
				auths++
			}
		}
	}
	if auths < 2 {
		t.Fatalf("%d frames to Fugle carried the key, want an auth per connection (2)", auths)
	}

	mu.Lock()
	defer mu.Unlock()
	if seen < 100 {
		t.Errorf("the spy saw %d NATS messages; it missed the traffic", seen)
	}
	for _, l := range leaked {
		t.Errorf("NATS message holds the key: %.300s", l)
	}
	if strings.Contains(metrics, testKey) {
		t.Error("metrics hold the key")
	}
	text := logs.String()
	if !strings.Contains(text, "level=DEBUG") || !strings.Contains(text, "marketdata: frame") {
		t.Errorf("no Debug frame records: the log check proves nothing\n%.2000s", text)
	}
	if i := strings.Index(text, testKey); i >= 0 {
		t.Errorf("log holds the key: ...%s...", text[max(0, i-200):min(len(text), i+100)])
	}
}

// lockedBuffer is a bytes.Buffer safe for the goroutines that log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
