package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/natsbus"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSimulatedFeedThroughTheEmbeddedServer(t *testing.T) {
	t.Setenv(marketdata.APIKeyEnv, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-metrics", "127.0.0.1:0", "-rate", "50"}, &stderr)
	}()
	serving := regexp.MustCompile(`serving stock on (nats://[0-9.:]+)`)
	var url string
	for url == "" {
		select {
		case code := <-done:
			t.Fatalf("exited %d: %s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if m := serving.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
	}
	if !strings.Contains(stderr.String(), "simulated feed") {
		t.Errorf("stderr does not say the feed is simulated: %s", stderr.String())
	}

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c, err := natsbus.NewClient(nc, natsbus.ClientOption{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case tr := <-c.Trades():
		if tr.Symbol != "2330" {
			t.Errorf("trade of %q", tr.Symbol)
		}
	case <-ctx.Done():
		t.Fatal("no trade from the simulated feed")
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"-products", "bonds"}, {"-plan", "huge"}} {
		var stderr syncBuffer
		if code := run(context.Background(), args, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
