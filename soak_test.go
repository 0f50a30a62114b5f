package marketdata

// TestSoak runs reconnect cycles under a steady stream for as long as
// MARKETDATA_SOAK says, and fails if goroutines or open file descriptors
// grew, or the heap in use grew beyond a generous bound. It is skipped when
// the variable is unset:
//
//	MARKETDATA_SOAK=10m go test -race -run TestSoak -count=1 -timeout 0 -v .

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
	var stopOnce sync.Once
	var background sync.WaitGroup
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		background.Wait()
	}
	t.Cleanup(halt) // also when the test fails half way
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
	// The events: lifecycle changes are tallied, every Resubscribed is
	// checked, and the newest connection is tracked.
	var (
		newest, stale atomic.Uint64
		evMu          sync.Mutex
		causes        = map[string]int{}
		badResub      []string
	)
	newest.Store(1)
	consumers.Add(1)
	go func() {
		defer consumers.Done()
		for e := range c.Events() {
			switch e := e.(type) {
			case Disconnected:
				cause := "close"
				if e.Err != nil {
					cause = e.Err.Error()
					if i := strings.Index(cause, "127.0.0.1:"); i >= 0 {
						cause = cause[:i] // one entry per kind, not per port
					}
				}
				if errors.Is(e.Err, ErrStaleConnection) {
					stale.Add(1)
				}
				evMu.Lock()
				causes[cause]++
				evMu.Unlock()
			case Reconnected:
				newest.Store(e.Conn)
			case Resubscribed:
				// Everything subscribed from the start comes back; a candles
				// subscription made during the restore may come back too.
				base := 0
				for _, r := range e.Restored {
					if r.Channel == ChannelTrades || r.Channel == ChannelBooks {
						base++
					}
				}
				if base != len(symbols)+2 || len(e.Failed) != 0 {
					evMu.Lock()
					badResub = append(badResub, e.String())
					evMu.Unlock()
				}
			}
		}
	}()
	// steady waits until the server holds one connection, authenticated and
	// subscribed, the client's newest, and trades flow on it.
	steady := func(what string) {
		t.Helper()
		srv := server.Load()
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		if err := srv.Wait(ctx, func() bool {
			live := srv.LiveConns()
			return len(live) == 1 && live[0].Authenticated() && len(live[0].Subscriptions()) == len(symbols)+2
		}); err != nil {
			t.Fatalf("%s: waiting for one connection, subscribed: %v", what, err)
		}
		within(t, what+": the earlier connections to end", func() {
			for _, sc := range srv.Conns()[:len(srv.Conns())-1] {
				<-sc.Done()
			}
		})
		from := trades.Load()
		eventually(t, what+": trades on the newest connection", func() bool {
			return lastConn.Load() == newest.Load() && trades.Load() > from+rate/10
		})
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
			from := stale.Load()
			srv.SetSilent(true)
			eventually(t, "the silent connection to be declared stale", func() bool { return stale.Load() > from })
			srv.SetSilent(false)
		}},
		{"new server", replace},
	}
	cycle := func(i int) {
		t.Helper()
		f := faults[i%len(faults)]
		what := fmt.Sprintf("cycle %d (%s)", i, f.name)
		from := newest.Load()
		f.inject()
		eventually(t, what+": a reconnect", func() bool { return newest.Load() > from })
		// Touch the rest of the API on every connection.
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		if _, err := c.Ping(ctx); err != nil {
			t.Fatalf("%s: Ping: %v", what, err)
		}
		extra := SubscribeRequest{Channel: ChannelCandles, Symbols: []string{symbols[i%len(symbols)]}}
		if err := c.Subscribe(ctx, extra); err != nil {
			t.Fatalf("%s: Subscribe: %v", what, err)
		}
		if err := c.Unsubscribe(ctx, extra); err != nil && !errors.Is(err, ErrNotSubscribed) {
			t.Fatalf("%s: Unsubscribe: %v", what, err)
		}
		steady(what)
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
	t.Logf("end after %v, %d reconnect cycles, %d reconnects, %d trades (%d dropped): %v",
		time.Since(began).Round(time.Second), cycles, st.Reconnects, st.Trades.Received, st.Trades.Dropped, end)
	evMu.Lock()
	for cause, n := range causes {
		t.Logf("disconnected %5d× %s", n, cause)
	}
	for _, r := range badResub {
		t.Errorf("incomplete restore: %s", r)
	}
	evMu.Unlock()
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

	halt()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	consumers.Wait()
}
