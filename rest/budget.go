package rest

import (
	"context"
	"sync"
	"time"
)

// Requests per minute of the Fugle plans for the stock intraday API, to
// set Option.RatePerMinute or NewBudget from. The historical and technical
// APIs allow 60 per minute on every plan, corporate actions 30.
const (
	PlanBasicPerMinute     = 60
	PlanDeveloperPerMinute = 600
	PlanAdvancedPerMinute  = 2000
)

// Budget is a client-side limit of requests per minute: at most the limit
// in any 60 seconds, whatever window the server counts in. One Budget may
// be shared by several clients and by other code calling the same account,
// such as a streaming client filling gaps, so that all of them together
// stay within the plan. A nil *Budget never waits. It is safe for
// concurrent use.
type Budget struct {
	limit int
	clk   clock

	mu    sync.Mutex
	times []time.Time // the start of the last limit requests, oldest first
	hold  time.Time   // no request before this (set by a 429's Retry-After)
}

// clock lets tests drive a Budget without waiting.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

const budgetWindow = time.Minute

// NewBudget returns a Budget of perMinute requests per minute. perMinute of
// 0 or less returns nil: no limit.
func NewBudget(perMinute int) *Budget {
	return newBudget(perMinute, realClock{})
}

func newBudget(perMinute int, clk clock) *Budget {
	if perMinute <= 0 {
		return nil
	}
	return &Budget{limit: perMinute, clk: clk, times: make([]time.Time, 0, perMinute)}
}

// Limit returns the requests per minute, 0 for a nil Budget.
func (b *Budget) Limit() int {
	if b == nil {
		return 0
	}
	return b.limit
}

// Wait blocks until a request may be sent and takes its slot, or returns
// ctx's error.
func (b *Budget) Wait(ctx context.Context) error {
	if b == nil {
		return ctx.Err()
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := b.reserve()
		if d <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.clk.After(d):
		}
	}
}

// Allow takes a slot if one is free now and reports whether it did.
func (b *Budget) Allow() bool {
	return b == nil || b.reserve() <= 0
}

// reserve takes a slot and returns 0, or returns how long until one frees.
func (b *Budget) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clk.Now()
	if now.Before(b.hold) {
		return b.hold.Sub(now)
	}
	if len(b.times) == b.limit {
		if wait := b.times[0].Add(budgetWindow).Sub(now); wait > 0 {
			return wait
		}
		copy(b.times, b.times[1:])
		b.times = b.times[:len(b.times)-1]
	}
	b.times = append(b.times, now)
	return 0
}

// holdUntil makes every caller wait until t, as a 429's Retry-After asks.
func (b *Budget) holdUntil(t time.Time) {
	if b == nil {
		return
	}
	b.mu.Lock()
	if t.After(b.hold) {
		b.hold = t
	}
	b.mu.Unlock()
}
