package marketdata

// TestSoak runs reconnect cycles under a steady stream for as long as
// MARKETDATA_SOAK says, and fails if goroutines or open file descriptors
// grew, or the heap in use grew beyond a generous bound. It is skipped when
// the variable is unset:
//
//	MARKETDATA_SOAK=10m go test -run TestSoak -count=1 -timeout 0 -v .

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

// soakSample is what the soak test watches.
type soakSample struct {
	goroutines int
	heapInuse  uint64
	fds        int
}

func takeSoakSample(t *testing.T) soakSample {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("open descriptors cannot be counted here: %v", err)
	}
	return soakSample{goroutines: runtime.NumGoroutine(), heapInuse: m.HeapInuse, fds: len(entries)}
}

func (s soakSample) String() string {
	return fmt.Sprintf("goroutines %d, heap in use %d KiB, open descriptors %d", s.goroutines, s.heapInuse>>10, s.fds)
}

func TestSoak(t *testing.T) {
	v := os.Getenv("MARKETDATA_SOAK")
	if v == "" {
		t.Skip("set MARKETDATA_SOAK to a duration (such as 10m) to run the soak test")
	}
	length, err := time.ParseDuration(v)
	if err != nil || length <= 0 {
		t.Fatalf("MARKETDATA_SOAK=%q: want a duration such as 10m", v)
	}
	const rate = 2000 // messages per second, across the symbols
	symbols := []string{"2330", "2317", "2454", "2412", "1301", "2882", "2603", "3008"}

	// The server is replaced by a new one on the same address now and then,
	// so that what it keeps of past connections does not pile up.
	first := newServer(t, marketdatatest.WithHeartbeat(100*time.Millisecond))
	var server atomic.Pointer[marketdatatest.Server]
	server.Store(first)
	replace := func() {
		old := server.Load()
		old.Close()
		server.Store(marketdatatest.NewServer(marketdatatest.WithAPIKey(testKey), marketdatatest.WithHeartbeat(100*time.Millisecond), marketdatatest.WithAddr(old.Addr())))
	}
	t.Cleanup(func() { server.Load().Close() })
	c := newClient(t, first, func(o *WebSocketClientOption) {
		o.ReconnectInitialInterval = time.Millisecond
		o.ReconnectMaxInterval = 20 * time.Millisecond
		o.StableAfter = time.Nanosecond
		o.HeartbeatTimeout = 500 * time.Millisecond
		o.BufferSize = 256
	})
	connect(t, c)
	subscribe(t, c, ChannelTrades, symbols...)
	subscribe(t, c, ChannelBooks, symbols[:2]...)

	// The steady stream, whatever the connection's state.
	stop := make(chan struct{})
	var background sync.WaitGroup
	background.Add(1)
	go func() {
		defer background.Done()
		book := marketdatatest.BooksJSON("2330", []marketdatatest.Level{{Price: 567, Size: 1}}, []marketdatatest.Level{{Price: 568, Size: 2}}, time.Now())
		start := time.Now()
		for k := 0; ; {
			select {
			case <-stop:
				return
			default:
			}
			for due := int(time.Since(start).Seconds() * rate); k < due; k++ {
				srv := server.Load()
				srv.Publish("trades", symbols[k%len(symbols)], tradeJSON(symbols[k%len(symbols)], k))
				if k%10 == 0 {
					srv.Publish("books", "2330", book)
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	// The consumers: trades tell which connection data flows on.
	var lastConn, trades atomic.Uint64
	var consumers sync.WaitGroup
	consumers.Add(2)
	go func() {
		defer consumers.Done()
		for v := range c.Trades() {
			lastConn.Store(v.Conn)
			trades.Add(1)
		}
	}()
	go func() {
		defer consumers.Done()
		for range c.Books() {
		}
	}()
	events := make(chan Event, 64)
	consumers.Add(1)
	go func() {
		defer consumers.Done()
		defer close(events)
		for e := range c.Events() {
			switch e.(type) {
			case Disconnected, Reconnected, Resubscribed:
				select {
				case events <- e:
				case <-stop:
				}
			}
		}
	}()
	next := func(what string, match func(Event) bool) Event {
		t.Helper()
		timeout := time.NewTimer(hang)
		defer timeout.Stop()
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("Events closed while waiting for %s", what)
				}
				if match(e) {
					return e
				}
			case <-timeout.C:
				t.Fatalf("no %s within %v", what, hang)
			}
		}
	}
	// steady waits until conn is the only connection left on the server and
	// trades flow on it.
	steady := func(conn uint64) {
		t.Helper()
		srv := server.Load()
		if err := srv.Wait(testCtx(t), func() bool {
			live := srv.LiveConns()
			return len(live) == 1 && live[0].Authenticated() && len(live[0].Subscriptions()) == len(symbols)+2
		}); err != nil {
			t.Fatalf("waiting for connection #%d to be the only one, subscribed: %v", conn, err)
		}
		within(t, "the earlier connections to end", func() {
			for _, sc := range srv.Conns()[:len(srv.Conns())-1] {
				<-sc.Done()
			}
		})
		from := trades.Load()
		eventually(t, "trades on the connection", func() bool { return lastConn.Load() == conn && trades.Load() > from+rate/10 })
	}

	faults := []struct {
		name   string
		inject func()
	}{
		{"drop", func() { server.Load().DropAll() }},
		{"close 1001", func() { server.Load().CloseAll(1001, "restart") }},
		{"close 1011", func() { server.Load().CloseAll(1011, "internal error") }},
		{"stop and restart", func() {
			srv := server.Load()
			srv.Stop()
			if err := srv.Restart(); err != nil {
				t.Fatalf("Restart: %v", err)
			}
		}},
		{"silence", func() {
			srv := server.Load()
			srv.SetSilent(true)
			next("Disconnected after silence", func(e Event) bool {
				d, ok := e.(Disconnected)
				return ok && errors.Is(d.Err, ErrStaleConnection)
			})
			srv.SetSilent(false)
		}},
		{"new server", replace},
	}
	conn := uint64(1)
	cycle := func(i int) {
		t.Helper()
		f := faults[i%len(faults)]
		f.inject()
		r := next("Reconnected after "+f.name, func(e Event) bool { _, ok := e.(Reconnected); return ok }).(Reconnected)
		if r.Conn <= conn {
			t.Fatalf("cycle %d (%s): reconnected as #%d after #%d", i, f.name, r.Conn, conn)
		}
		conn = r.Conn
		rs := next("Resubscribed", func(e Event) bool { _, ok := e.(Resubscribed); return ok }).(Resubscribed)
		if rs.Conn != conn || len(rs.Restored) != len(symbols)+2 || len(rs.Failed) != 0 {
			t.Fatalf("cycle %d (%s): resubscribed = %v", i, f.name, rs)
		}
		// Touch the rest of the API on every connection.
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		if _, err := c.Ping(ctx); err != nil {
			t.Fatalf("cycle %d: Ping: %v", i, err)
		}
		extra := SubscribeRequest{Channel: ChannelCandles, Symbols: []string{symbols[i%len(symbols)]}}
		if err := c.Subscribe(ctx, extra); err != nil {
			t.Fatalf("cycle %d: Subscribe: %v", i, err)
		}
		if err := c.Unsubscribe(ctx, extra); err != nil && !errors.Is(err, ErrNotSubscribed) {
			t.Fatalf("cycle %d: Unsubscribe: %v", i, err)
		}
		steady(conn)
	}

	// Warm up (every fault once), then measure.
	for i := range faults {
		cycle(i)
	}
	start := takeSoakSample(t)
	t.Logf("start: %v", start)
	began := time.Now()
	cycles := 0
	for time.Since(began) < length {
		cycle(cycles)
		cycles++
	}
	var end soakSample
	deadline := time.Now().Add(hang)
	for {
		end = takeSoakSample(t)
		if (end.goroutines <= start.goroutines && end.fds <= start.fds) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := c.Stats()
	t.Logf("end after %v, %d reconnect cycles, %d trades (%d dropped): %v", time.Since(began).Round(time.Second), cycles, st.Trades.Received, st.Trades.Dropped, end)
	if end.goroutines > start.goroutines {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("goroutines grew from %d to %d:\n%s", start.goroutines, end.goroutines, b.String())
	}
	if end.fds > start.fds {
		t.Errorf("open descriptors grew from %d to %d", start.fds, end.fds)
	}
	if bound := start.heapInuse*3/2 + 16<<20; end.heapInuse > bound {
		t.Errorf("heap in use grew from %d KiB to %d KiB (bound %d KiB)", start.heapInuse>>10, end.heapInuse>>10, bound>>10)
	}

	close(stop)
	background.Wait()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	consumers.Wait()
}
