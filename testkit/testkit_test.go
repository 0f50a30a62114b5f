package testkit_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/record"
	"github.com/go-fugle/marketdata/replay"
	"github.com/go-fugle/marketdata/testkit"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientIsConnected(t *testing.T) {
	srv := marketdatatest.NewServer()
	t.Cleanup(srv.Close)
	c := testkit.Client(t, srv)
	if c.State() != marketdata.StateConnected {
		t.Fatalf("state %v", c.State())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		t.Fatal(err)
	}
	srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 10, Size: 1, Serial: 1}))
	select {
	case tr := <-c.Trades():
		if tr.Price != 10 {
			t.Fatalf("price %v", tr.Price)
		}
	case <-ctx.Done():
		t.Fatal("no trade")
	}
}

// A recording made here replays to a bot in two lines.
func TestReplayInTwoLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.ndjson.gz")
	live := marketdatatest.NewServer()
	w, err := record.Create(path, record.Options{Endpoint: live.StockURL(), Product: "stock"})
	if err != nil {
		t.Fatal(err)
	}
	c := testkit.Client(t, live, func(o *marketdata.WebSocketClientOption) { o.Tap = w.ClientTap() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 5; i++ {
		live.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 10, Size: 1, Serial: i}))
		<-c.Trades()
	}
	_ = c.Close()
	live.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	_, bot := testkit.Replay(t, path, replay.Speed(replay.Max))
	if err := bot.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 5; i++ {
		select {
		case tr := <-bot.Trades():
			if tr.Serial != i {
				t.Fatalf("serial %d, want %d", tr.Serial, i)
			}
		case <-ctx.Done():
			t.Fatalf("trade %d never replayed", i)
		}
	}
}
