package marketdata

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

type tapped struct {
	dir   FrameDirection
	conn  uint64
	frame []byte
}

// recordingTap keeps what the client shows it.
type recordingTap struct {
	mu     sync.Mutex
	frames []tapped
	opened []uint64
	closed map[uint64]int
}

func (r *recordingTap) Frame(dir FrameDirection, conn uint64, at time.Time, frame []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.IsZero() {
		panic("no time")
	}
	r.frames = append(r.frames, tapped{dir, conn, append([]byte(nil), frame...)})
}

func (r *recordingTap) Opened(conn uint64, at time.Time, url string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened = append(r.opened, conn)
}

func (r *recordingTap) Closed(conn uint64, at time.Time, code int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed == nil {
		r.closed = map[uint64]int{}
	}
	if _, dup := r.closed[conn]; dup {
		panic("closed twice")
	}
	r.closed[conn] = code
}

func TestTapSeesEveryFrameButTheAuthFrame(t *testing.T) {
	srv := newServer(t)
	tap := &recordingTap{}
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.Tap = tap })
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	srv.Publish("trades", "2330", tradeJSON("2330", 1))
	receive(t, c.Trades())
	srv.DropAll()
	nextEvent(t, c, func(Resubscribed) bool { return true })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	var out [][]byte
	sawTrade := false
	for _, f := range tap.frames {
		if bytes.Contains(f.frame, []byte(testKey)) || bytes.Contains(f.frame, []byte(`"auth"`)) {
			t.Fatalf("the tap saw the auth frame: %s", f.frame)
		}
		if f.dir == FrameOut && f.conn == 1 {
			out = append(out, f.frame)
		}
		if f.dir == FrameIn && f.conn == 1 && bytes.Contains(f.frame, []byte(`"serial":1`)) {
			sawTrade = true
		}
	}
	if !sawTrade {
		t.Fatal("the tap missed the trade frame")
	}
	// What the server received after the auth frame is what the tap saw go out.
	sent := srv.Conns()[0].Frames()[1:]
	if len(sent) != len(out) {
		t.Fatalf("tap saw %d frames out, the server received %d after auth", len(out), len(sent))
	}
	for i := range sent {
		if !bytes.Equal(sent[i], out[i]) {
			t.Fatalf("frame %d: tap %s, server %s", i, out[i], sent[i])
		}
	}
	if len(tap.opened) != 2 || tap.closed[1] != 1006 || tap.closed[2] != 1000 {
		t.Fatalf("opened %v, closed %v; want 2 connections, the first lost (1006), the second closed (1000)", tap.opened, tap.closed)
	}
}
