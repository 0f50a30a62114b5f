package marketdata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

// TestConcurrentUseWhileConnectionsDrop calls every method of the client
// from many goroutines while data flows and the server keeps cutting the
// connection, then closes it from several goroutines at once. Run under
// -race it proves the absence of data races; the test fails on a panic, on
// any call that does not return, on an error a caller could not expect, on
// a goroutine left behind (TestMain runs goleak), and on values that were
// neither delivered nor counted as dropped.
func TestConcurrentUseWhileConnectionsDrop(t *testing.T) {
	const (
		runFor  = 2 * time.Second
		callers = 8
	)
	srv := newServer(t, marketdatatest.WithHeartbeat(20*time.Millisecond))
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.ReconnectInitialInterval = time.Millisecond
		o.ReconnectMaxInterval = 5 * time.Millisecond
		o.StableAfter = time.Nanosecond
		o.BufferSize = 64 // small, so that drops happen too
		o.EventBufferSize = 64
		o.CloseTimeout = time.Second
	})
	connect(t, c)
	symbols := []string{"2330", "2317", "2454", "2412", "1301", "2882", "2603", "3008"}
	subscribe(t, c, ChannelTrades, symbols[:4]...)
	subscribe(t, c, ChannelBooks, symbols[:2]...)

	// Consumers: every channel is drained until the client closes it.
	var delivered [6]atomic.Uint64 // trades, candles, books, aggregates, indices, events
	var consumers sync.WaitGroup
	drain := func(i int, ch func() bool) {
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			for ch() {
				delivered[i].Add(1)
			}
		}()
	}
	drain(0, func() bool { _, ok := <-c.Trades(); return ok })
	drain(1, func() bool { _, ok := <-c.Candles(); return ok })
	drain(2, func() bool { _, ok := <-c.Books(); return ok })
	drain(3, func() bool { _, ok := <-c.Aggregates(); return ok })
	drain(4, func() bool { _, ok := <-c.Indices(); return ok })
	drain(5, func() bool { _, ok := <-c.Events(); return ok })

	stop := make(chan struct{})
	stopCtx, cancelStop := context.WithCancel(context.Background())
	defer cancelStop()
	var workers sync.WaitGroup
	var mu sync.Mutex
	var unexpected []string
	complain := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(unexpected) < 20 {
			unexpected = append(unexpected, fmt.Sprintf(format, args...))
		}
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}

	// The feed.
	workers.Add(1)
	go func() {
		defer workers.Done()
		book := marketdatatest.BooksJSON("2330", []marketdatatest.Level{{Price: 567, Size: 1}}, []marketdatatest.Level{{Price: 568, Size: 2}}, time.Now())
		for i := 0; !stopped(); i++ {
			srv.Publish("trades", symbols[i%len(symbols)], tradeJSON(symbols[i%len(symbols)], i))
			if i%4 == 0 {
				srv.Publish("books", "2330", book)
			}
			if i%64 == 0 {
				srv.SendAll([]byte(`{"event":"data","data":{"symbol":`)) // malformed, from time to time
			}
		}
	}()

	// The faults: every authenticated connection is cut, by a drop or a
	// close frame: one in three at once, one once its first subscription is
	// back, one once trades flow on it again (or after a moment, if they do
	// not).
	var cuts atomic.Int64
	workers.Add(1)
	go func() {
		defer workers.Done()
		for i := 0; ; i++ {
			var target *marketdatatest.Conn
			err := srv.Wait(stopCtx, func() bool {
				live := srv.LiveConns()
				if len(live) == 0 || !live[len(live)-1].Authenticated() {
					return false
				}
				target = live[len(live)-1]
				return i%3 != 1 || len(target.Subscriptions()) > 0
			})
			if err != nil {
				return
			}
			if i%3 == 2 {
				from, until := c.Stats().Trades.Received, time.Now().Add(50*time.Millisecond)
				for c.Stats().Trades.Received < from+20 && time.Now().Before(until) && !stopped() {
					time.Sleep(time.Millisecond)
				}
			}
			if i%4 == 3 {
				_ = target.Close(1001, "restart")
			} else {
				target.Drop()
			}
			cuts.Add(1)
			select {
			case <-target.Done():
			case <-stop:
				return
			}
		}
	}()

	// The callers.
	for g := 0; g < callers; g++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for !stopped() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+rng.IntN(100))*time.Millisecond)
				// Trades of symbols[0] stay wanted throughout.
				req := SubscribeRequest{Channel: ChannelTrades, Symbols: []string{symbols[1+rng.IntN(len(symbols)-1)]}}
				if rng.IntN(4) == 0 {
					req.Channel = ChannelCandles
					req.Symbols = append(req.Symbols, symbols[rng.IntN(len(symbols))])
				}
				switch op := rng.IntN(7); op {
				case 0:
					err := c.Subscribe(ctx, req)
					if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnsubscribed) && !errors.Is(err, ErrClosed) {
						complain("Subscribe(%v) = %v", req, err)
					}
				case 1:
					err := c.Unsubscribe(ctx, req)
					if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNotSubscribed) && !errors.Is(err, ErrClosed) {
						complain("Unsubscribe(%v) = %v", req, err)
					}
				case 2:
					_, err := c.Ping(ctx)
					if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNotConnected) {
						complain("Ping = %v", err)
					}
				case 3:
					subs := c.Subscriptions()
					if !sort.SliceIsSorted(subs, func(i, j int) bool { return lessSub(subs[i], subs[j]) }) {
						complain("Subscriptions() not sorted: %v", subs)
					}
					seen := map[string]bool{}
					for _, s := range subs {
						if seen[s.String()] {
							complain("Subscriptions() lists %v twice", s)
						}
						seen[s.String()] = true
						if s.Active != (s.ID != "") {
							complain("Subscriptions(): %+v", s)
						}
					}
				case 4:
					_ = c.Stats()
				case 5:
					if s := c.State(); s < StateConnecting || s > StateClosed {
						complain("State() = %v", s)
					}
				case 6:
					_ = c.ListSubscriptions()
				}
				cancel()
			}
		}()
	}

	time.Sleep(runFor) // the length of the run, not a wait for anything

	// Close from several goroutines while everything above still runs.
	closeErrs := make([]error, 3)
	within(t, "concurrent Close", func() {
		var wg sync.WaitGroup
		for i := range closeErrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				closeErrs[i] = c.Close()
			}()
		}
		wg.Wait()
	})
	close(stop)
	cancelStop()
	within(t, "the callers, the feed and the faults", workers.Wait)
	within(t, "the consumers (every channel closed)", consumers.Wait)

	for _, s := range unexpected {
		t.Error(s)
	}
	for i, err := range closeErrs {
		var ce *CloseError
		if err != nil && !errors.Is(err, ErrCloseTimeout) && !errors.As(err, &ce) {
			t.Errorf("Close #%d = %v", i, err)
		}
		if !errors.Is(err, closeErrs[0]) {
			t.Errorf("concurrent Close calls disagree: %v and %v", closeErrs[0], err)
		}
	}
	if cuts.Load() < 3 {
		t.Fatalf("only %d connections were cut", cuts.Load())
	}
	st := c.Stats()
	for i, cs := range []ChannelStats{st.Trades, st.Candles, st.Books, st.Aggregates, st.Indices, st.Events} {
		if got := delivered[i].Load(); got != cs.Received-cs.Dropped {
			t.Errorf("channel %d: delivered %d, but Received %d - Dropped %d = %d", i, got, cs.Received, cs.Dropped, cs.Received-cs.Dropped)
		}
	}
	// Under heavy load the faults can cut every connection before trades are
	// restored (books come back first), so any market data counts here.
	if st.Trades.Received+st.Books.Received == 0 || st.Reconnects == 0 {
		t.Fatalf("nothing happened: %+v", st)
	}
	if c.State() != StateClosed || c.Err() != nil {
		t.Fatalf("after Close: state %v, Err %v", c.State(), c.Err())
	}
	if err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close = %v", err)
	}
	if _, err := c.Ping(testCtx(t)); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Ping after Close = %v", err)
	}
	t.Logf("%d connections cut, %d reconnects, %d trades (%d dropped), %d events", cuts.Load(), st.Reconnects, st.Trades.Received, st.Trades.Dropped, st.Events.Received)
}
