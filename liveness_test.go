package marketdata

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/gorilla/websocket"
)

// pingOnlyServer authenticates every connection, then sends RFC 6455 ping
// frames and never a text frame, as a proxy keeping a quiet link open would.
type pingOnlyServer struct {
	srv      *http.Server
	ln       net.Listener
	upgrades atomic.Int32
	pongs    atomic.Int32
	pinged   chan struct{} // closed once every ping of the first connection is out
}

func newPingOnlyServer(t *testing.T, pings int, every time.Duration) *pingOnlyServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pingOnlyServer{ln: ln, pinged: make(chan struct{})}
	up := websocket.Upgrader{}
	quit := make(chan struct{})
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		first := p.upgrades.Add(1) == 1
		if _, _, err := ws.ReadMessage(); err != nil { // the auth frame
			return
		}
		if ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`)) != nil {
			return
		}
		ws.SetPongHandler(func(string) error { p.pongs.Add(1); return nil })
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; i < pings; i++ {
			select {
			case <-tick.C:
			case <-quit:
				return
			}
			if ws.WriteControl(websocket.PingMessage, []byte("keepalive"), time.Now().Add(time.Second)) != nil {
				return
			}
		}
		if first {
			close(p.pinged)
		}
		<-quit
	})}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() {
		close(quit)
		_ = p.srv.Close()
	})
	return p
}

func TestPingFramesKeepTheConnectionAlive(t *testing.T) {
	const pings, every, heartbeat = 30, 50 * time.Millisecond, 300 * time.Millisecond
	p := newPingOnlyServer(t, pings, every)
	c, err := NewWebSocketClient(WebSocketClientOption{
		Endpoint: "ws://" + p.ln.Addr().String() + "/marketdata/v1.0/stock/streaming", APIKey: testKey,
		HeartbeatTimeout: heartbeat, CloseTimeout: time.Second,
		ReconnectInitialInterval: 10 * time.Millisecond, ReconnectMaxInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	connect(t, c)
	select {
	case <-p.pinged: // 30 pings over 1.5 s: five heartbeat timeouts of pings alone
	case <-time.After(hang):
		t.Fatal("the server never finished pinging")
	}
	eventually(t, "every ping answered", func() bool { return p.pongs.Load() == pings })
	if n := p.upgrades.Load(); n != 1 {
		t.Fatalf("%d connections: a link alive with pings was declared dead", n)
	}
	if st := c.Stats(); st.Connections != 1 || st.Reconnects != 0 {
		t.Fatalf("stats %+v, want one connection and no reconnect", st)
	}
}

// A consumer that stalls under Block holds the reader, not the server: a
// connection that keeps receiving frames is never declared silent for it.
func TestSlowConsumerUnderBlockIsNotASilentServer(t *testing.T) {
	const frames, heartbeat = 40, 500 * time.Millisecond
	cases := map[string]func(*WebSocketClientOption){
		// Each wait is longer than the heartbeat timeout.
		"block timeout above heartbeat": func(o *WebSocketClientOption) { o.BlockTimeout = 10 * time.Second },
		// Each wait is shorter, but nobody reads Events, so reports and
		// values waited in turn and added up.
		"events unread": func(o *WebSocketClientOption) { o.BlockTimeout = 300 * time.Millisecond; o.EventBufferSize = 1 },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, marketdatatest.WithHeartbeat(0))
			c := newClient(t, srv, func(o *WebSocketClientOption) {
				o.DropPolicy, o.BufferSize, o.HeartbeatTimeout = Block, 1, heartbeat
				edit(o)
			})
			connect(t, c)
			subscribe(t, c, ChannelTrades, "2330")
			published := make(chan struct{})
			go func() {
				defer close(published)
				tick := time.NewTicker(20 * time.Millisecond) // a frame every 20 ms, as a busy symbol
				defer tick.Stop()
				for i := 1; i <= frames; i++ {
					<-tick.C
					srv.Publish("trades", "2330", tradeJSON("2330", i))
				}
			}()
			first := receive(t, c.Trades())
			time.Sleep(3 * heartbeat) // the consumer stalls: three heartbeat timeouts
			delivered := 1
			last := first.Serial
			for st := c.Stats().Trades; uint64(delivered)+st.Dropped < frames; st = c.Stats().Trades {
				select {
				case v := <-c.Trades():
					if v.Serial <= last {
						t.Fatalf("serial %d after %d", v.Serial, last)
					}
					last = v.Serial
					delivered++
				case <-time.After(hang):
					t.Fatalf("stream stalled: delivered %d, stats %+v", delivered, st)
				}
			}
			<-published
			// Received counts a value once handed over: a moment after the
			// consumer may have it.
			eventually(t, "the last frame counted", func() bool { return c.Stats().Trades.Received == frames })
			st := c.Stats()
			if st.Connections != 1 || st.Reconnects != 0 {
				t.Fatalf("connections %d, reconnects %d: the stalled consumer was taken for a dead server", st.Connections, st.Reconnects)
			}
			if st.Trades.Received != frames || uint64(delivered)+st.Trades.Dropped != frames {
				t.Fatalf("received %d, delivered %d + dropped %d, want %d", st.Trades.Received, delivered, st.Trades.Dropped, frames)
			}
		})
	}
}
