package rest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

// fakeClock moves only when told. Advance waits, event-driven, until every
// live worker is blocked in After, so that the time a worker reads after a
// grant is the time of the grant.
type fakeClock struct {
	mu      sync.Mutex
	cond    *sync.Cond
	now     time.Time
	waiters []fakeWaiter
	alive   int
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(workers int) *fakeClock {
	c := &fakeClock{now: time.Date(2026, 1, 30, 9, 0, 0, 0, time.UTC), alive: workers}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.cond.Broadcast()
	return ch
}

func (c *fakeClock) done() {
	c.mu.Lock()
	c.alive--
	c.cond.Broadcast()
	c.mu.Unlock()
}

// run advances the clock to the earliest deadline whenever every live
// worker waits, until none is left.
func (c *fakeClock) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for c.alive > 0 && len(c.waiters) < c.alive {
			c.cond.Wait()
		}
		if c.alive == 0 {
			return
		}
		next := c.waiters[0].at
		for _, w := range c.waiters {
			if w.at.Before(next) {
				next = w.at
			}
		}
		if next.After(c.now) {
			c.now = next
		}
		kept := c.waiters[:0]
		for _, w := range c.waiters {
			if !w.at.After(c.now) {
				w.ch <- c.now
			} else {
				kept = append(kept, w)
			}
		}
		c.waiters = kept
	}
}

// checkWindow fails if more than limit of times fall in any minute.
func checkWindow(t *testing.T, times []time.Time, limit int) {
	t.Helper()
	for i, start := range times {
		n := 0
		for _, u := range times[i:] {
			if u.Sub(start) < time.Minute {
				n++
			}
		}
		if n > limit {
			t.Fatalf("%d requests in the minute from %v, limit %d", n, start, limit)
		}
	}
}

func TestBudgetNeverExceeds(t *testing.T) {
	const workers, each, limit = 7, 15, 30
	clk := newFakeClock(workers)
	b := newBudget(limit, clk)
	var mu sync.Mutex
	var granted []time.Time
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer clk.done()
			for range each {
				if err := b.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				granted = append(granted, clk.Now())
				mu.Unlock()
			}
		}()
	}
	clk.run()
	wg.Wait()
	if len(granted) != workers*each {
		t.Fatalf("%d grants", len(granted))
	}
	checkWindow(t, sortTimes(granted), limit)
	// 105 requests at 30 a minute need three full minutes and no more.
	if span := granted[len(granted)-1].Sub(granted[0]); span < 3*time.Minute || span > 3*time.Minute+time.Second {
		t.Errorf("the last request came %v after the first", span)
	}
}

func sortTimes(ts []time.Time) []time.Time {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
	return ts
}

// Two clients (a user's calls and a backfill, say) share one budget: the
// server never sees more than it allows, although each client alone would
// be within it.
func TestBudgetSharedByClients(t *testing.T) {
	const limit, perClient = 30, 25
	srv := newMock(t)
	clk := newFakeClock(2)
	b := newBudget(limit, clk)
	var mu sync.Mutex
	var seen []time.Time
	srv.OnRESTRequest(func(marketdatatest.RESTRequest) {
		mu.Lock()
		seen = append(seen, clk.Now())
		mu.Unlock()
	})
	var wg sync.WaitGroup
	for range 2 {
		c := newClient(t, srv.RESTURL(), Option{Budget: b})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer clk.done()
			for range perClient {
				if _, err := c.Stock.Intraday.Quote(context.Background(), "2330", IntradayParams{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	clk.run()
	wg.Wait()
	if len(seen) != 2*perClient {
		t.Fatalf("%d requests", len(seen))
	}
	checkWindow(t, sortTimes(seen), limit)
}

func TestBudgetAllowAndHold(t *testing.T) {
	clk := newFakeClock(0)
	b := newBudget(2, clk)
	first, second, third := b.Allow(), b.Allow(), b.Allow()
	if !first || !second || third {
		t.Fatal("two slots, then none")
	}
	clk.now = clk.now.Add(time.Minute)
	if !b.Allow() {
		t.Fatal("a slot a minute later")
	}
	b.holdUntil(clk.now.Add(10 * time.Second))
	if b.Allow() {
		t.Fatal("allowed during a hold")
	}
	clk.now = clk.now.Add(10 * time.Second)
	if !b.Allow() {
		t.Fatal("not allowed after the hold")
	}
	var nilBudget *Budget
	if !nilBudget.Allow() || nilBudget.Wait(context.Background()) != nil || nilBudget.Limit() != 0 || NewBudget(0) != nil {
		t.Fatal("a nil budget limits nothing")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait on a cancelled context: %v", err)
	}
}
