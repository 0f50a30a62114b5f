package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/natsbus"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is written by the command and read by the test.
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

func TestPrintsTheGatewaysTradesAsNDJSON(t *testing.T) {
	ns, err := natsbus.RunServer(natsbus.ServerOption{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	srv := marketdatatest.NewServer()
	defer srv.Close()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	g, err := natsbus.NewGateway(natsbus.GatewayOption{Conn: nc, Name: "gw", Stock: &marketdata.PoolOption{
		Client: marketdata.WebSocketClientOption{Endpoint: srv.StockURL(), APIKey: "k"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-nats", ns.ClientURL(), "-symbols", "2330", "-channels", "trades", "-for", "20s"}, &stdout, &stderr)
	}()
	if err := srv.WaitForSubscribers(ctx, "trades", "2330", 1); err != nil {
		t.Fatal(err, stderr.String())
	}
	for serial := int64(1); serial <= 3; serial++ {
		srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 568, Size: 1, Serial: serial, Time: time.Now()}))
	}
	var lines []map[string]any
	for deadline := time.Now().Add(15 * time.Second); len(lines) < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("got %d trade lines; stdout %q stderr %q", len(lines), stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
		lines = lines[:0]
		sc := bufio.NewScanner(bytes.NewBufferString(stdout.String()))
		for sc.Scan() {
			var obj map[string]any
			if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
				t.Fatalf("not JSON: %q", sc.Text())
			}
			if obj["type"] == "trade" {
				lines = append(lines, obj)
			}
		}
	}
	for i, l := range lines {
		data := l["data"].(map[string]any)
		if data["symbol"] != "2330" || data["serial"] != float64(i+1) {
			t.Errorf("line %d: %v", i, l)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d; stderr %q", code, stderr.String())
	}
}
