package record

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
)

// countingTap counts what the client hands the recorder.
type countingTap struct {
	next  marketdata.FrameTap
	calls atomic.Int64
}

func (c *countingTap) Frame(dir marketdata.FrameDirection, conn uint64, at time.Time, frame []byte) {
	c.calls.Add(1)
	c.next.Frame(dir, conn, at, frame)
}

func (c *countingTap) Opened(conn uint64, at time.Time, url string) {
	c.calls.Add(1)
	c.next.Opened(conn, at, url)
}

func (c *countingTap) Closed(conn uint64, at time.Time, code int, reason string) {
	c.calls.Add(1)
	c.next.Closed(conn, at, code, reason)
}

// A recorder whose disk stalls never slows the stream: the consumer gets
// every value, Ping answers, and the file says exactly how much it lost.
func TestStalledDiskDoesNotSlowTheStream(t *testing.T) {
	const published = 500
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	disk := newStallWriter()
	w, err := NewWriter(disk, None, Options{QueueSize: 32, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tap := &countingTap{next: w.ClientTap()}
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("k"))
	defer srv.Close()
	c, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{Endpoint: srv.StockURL(), APIKey: "k", Tap: tap})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-disk.entered: // the writer is stuck in its first Write
	case <-ctx.Done():
		t.Fatal("the recorder never wrote")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); i <= published; i++ {
			srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 10, Size: 1, Serial: i}))
		}
	}()
	for i := int64(1); i <= published; i++ {
		select {
		case tr := <-c.Trades():
			if tr.Serial != i {
				t.Fatalf("serial %d, want %d", tr.Serial, i)
			}
		case <-ctx.Done():
			t.Fatalf("the stream stalled at %d with the disk", i)
		}
	}
	<-done
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping while the disk stalls: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	close(disk.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := NewReader(bytes.NewReader(disk.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var kept, lost int64
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch l.Kind {
		case KindFrame, KindOpen, KindClose:
			kept++
		case KindLost:
			lost += int64(l.Count)
		}
	}
	if lost == 0 || uint64(lost) != w.Stats().Lost {
		t.Fatalf("lost lines count %d, the writer %d", lost, w.Stats().Lost)
	}
	if kept+lost != tap.calls.Load() {
		t.Fatalf("kept %d + lost %d != %d handed over", kept, lost, tap.calls.Load())
	}
}
