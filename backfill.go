package marketdata

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BackfillSource fetches, over REST, what a subscription missed while the
// client was away. Its methods must return once ctx ends: the connection's
// end, and Close, wait for them. The rest package's client provides one
// (rest.Client.Backfill); the client calls it from its own goroutine after
// a reconnect has restored the subscription, one key at a time, in the
// order the keys were subscribed.
type BackfillSource interface {
	// Trades returns the day's trades of req's symbol newer than the gap's
	// start, oldest first: for stock, those with a serial above
	// AfterSerial; for futures and options (whose REST trades carry no
	// serial), those after Since.
	Trades(ctx context.Context, req BackfillRequest) ([]Trade, error)
	// Candles returns the day's one-minute candles of req's symbol, oldest
	// first.
	Candles(ctx context.Context, req BackfillRequest) ([]Candle, error)
}

// BackfillRequest names what a BackfillSource is asked for.
type BackfillRequest struct {
	Subscription Subscription
	// FutOpt is true on a futures and options endpoint.
	FutOpt bool
	// AfterSerial is the serial of the last stock trade delivered before
	// the gap (0 when none was).
	AfterSerial int64
	// Since is the time of the last value delivered before the gap (zero
	// when none was).
	Since time.Time
}

// Backfilled reports that a key's gap has been healed, as far as REST
// could: Count values were delivered with Meta.Backfill set. Complete says
// the gap was closed completely: for stock trades, the cumulative volume
// reconciles from the last trade before the gap through the backfilled
// trades to the first live one after it; for futures and options trades,
// their running totals reconcile the same way; for candles, the fetch
// succeeded. Err says why it is not complete, when known.
type Backfilled struct {
	Conn         uint64
	Subscription Subscription
	Count        int
	Complete     bool
	Err          error
}

func (Backfilled) event() {}

func (e Backfilled) String() string {
	s := "backfilled " + e.Subscription.String() + ": " + strconv.Itoa(e.Count) + " value(s)"
	if e.Complete {
		return s + ", gap closed"
	}
	s += ", gap not closed"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Reasons a backfill is not complete.
var (
	// ErrBackfillIncomplete: what REST returned does not reconcile with the
	// stream on both sides of the gap.
	ErrBackfillIncomplete = errors.New("marketdata: backfill does not reconcile with the stream")
	// ErrBackfillInterrupted: the connection was lost again, or the client
	// closed, before the backfill was done.
	ErrBackfillInterrupted = errors.New("marketdata: backfill interrupted")
)

// gapKey identifies a backfilled stream. Modifiers are not part of it: a
// data frame does not carry them.
type gapKey struct {
	channel Channel
	symbol  string
}

// gapState is what the client knows of one key around a gap.
type gapState struct {
	// The last live value delivered.
	lastSerial, lastVolume, lastTime int64
	hasVolume                        bool
	// The gap, while it is being healed.
	inGap                     bool
	gapSerial, gapVolume      int64
	gapTime                   int64
	gapHasVolume              bool
	firstSerial, firstVolume  int64 // the first live trade after the gap
	firstSize, firstTime      int64
	firstSeen, firstHasVolume bool
	floor                     int64 // live stock trades at or below it were backfilled
	holding                   bool
	heldTrades                []Trade
	heldCandles               []Candle
}

// gaps tracks every backfilled key. The reader updates it per value (only
// when backfill is on); the backfill goroutine reads and settles gaps.
type gaps struct {
	mu   sync.Mutex
	keys map[gapKey]*gapState
	dups uint64 // live values skipped because backfill had delivered them
}

func (g *gaps) state(k gapKey) *gapState {
	s := g.keys[k]
	if s == nil {
		s = &gapState{}
		g.keys[k] = s
	}
	return s
}

// liveTrade records a live trade and says whether to deliver it now; a
// held one is kept for the backfill goroutine.
func (g *gaps) liveTrade(v *Trade, hold bool) bool {
	if v.Snapshot {
		return true // the state at subscription time: not part of any sequence
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state(gapKey{ChannelTrades, v.Symbol})
	t := int64(v.Time)
	if s.inGap && !s.firstSeen {
		s.firstSeen, s.firstSerial, s.firstTime = true, v.Serial, t
		s.firstVolume, s.firstSize, s.firstHasVolume = tradeVolume(v)
	}
	if !s.inGap && v.Has("serial") && v.Serial < s.lastSerial {
		// Serials restart with each trading day: a new sequence.
		s.floor, s.lastSerial = 0, 0
	}
	if v.Has("serial") && s.floor > 0 && v.Serial <= s.floor {
		g.dups++
		return false
	}
	if s.holding {
		s.heldTrades = append(s.heldTrades, *v)
		return false
	}
	s.observeTrade(v)
	return true
}

func (s *gapState) observeTrade(v *Trade) {
	s.lastSerial, s.lastTime = max(s.lastSerial, v.Serial), int64(v.Time)
	s.lastVolume, _, s.hasVolume = tradeVolume(v)
}

// tradeVolume returns a trade's cumulative volume, its own size and whether
// the frame carried the volume: a stock trade's volume and size, a futures
// trade's running total and the sum of its fills.
func tradeVolume(v *Trade) (volume, size int64, ok bool) {
	if len(v.Trades) > 0 || v.Has("total.tradeVolume") {
		for _, f := range v.Trades {
			size += f.Size
		}
		return v.Total.TradeVolume, size, v.Has("total.tradeVolume")
	}
	return v.Volume, v.Size, v.Has("volume")
}

// liveCandle records a live candle; see liveTrade.
func (g *gaps) liveCandle(v *Candle, hold bool) bool {
	if v.Snapshot {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state(gapKey{ChannelCandles, v.Symbol})
	t := candleMinute(v)
	if s.inGap && !s.firstSeen {
		s.firstSeen, s.firstTime = true, t
	}
	if s.holding {
		s.heldCandles = append(s.heldCandles, *v)
		return false
	}
	s.lastTime = max(s.lastTime, t)
	return true
}

// candleMinute is a candle's minute in Unix microseconds, as trade times.
func candleMinute(v *Candle) int64 {
	t, err := time.Parse("2006-01-02T15:04:05.000-07:00", v.Date)
	if err != nil {
		return 0
	}
	return t.UnixMicro()
}

// lost opens a gap on every key, starting after the last value delivered
// (live or backfilled). Called once the connection's backfill goroutine has
// ended, so nothing moves meanwhile. A gap an interrupted backfill left open
// was reported then; the new one starts from what was delivered since.
func (g *gaps) lost(hold bool, active []Subscription) {
	g.mu.Lock()
	defer g.mu.Unlock()
	// Only the keys active on the lost connection are in the gap, even if
	// nothing had arrived for them yet; any other key (unsubscribed, never
	// confirmed) is neither healed nor held.
	inGap := map[gapKey]bool{}
	for _, sub := range active {
		if sub.Channel == ChannelTrades || sub.Channel == ChannelCandles {
			k := gapKey{sub.Channel, sub.Symbol}
			g.state(k)
			inGap[k] = true
		}
	}
	for k, s := range g.keys {
		if !inGap[k] {
			// Values held for a key nobody restores are not delivered:
			// counted, then forgotten.
			g.dups += uint64(len(s.heldTrades) + len(s.heldCandles))
			delete(g.keys, k)
			continue
		}
		s.inGap = true
		s.gapSerial, s.gapVolume, s.gapTime, s.gapHasVolume = s.lastSerial, s.lastVolume, s.lastTime, s.hasVolume
		s.firstSeen = false
		s.holding = hold
	}
}

// backfill heals the gaps of the keys restored on connection conn, in the
// order they were subscribed. It runs on its own goroutine until done or
// ctx ends (the connection is gone, or Close); then it delivers what is
// still held and reports the keys it did not reach as interrupted.
func (c *WebSocketClient) backfill(ctx context.Context, conn uint64, keys []Subscription, done chan<- struct{}) {
	defer c.wg.Done()
	defer close(done)
	futopt := strings.Contains(c.opt.Endpoint, "/futopt/")
	c.settle(ctx, keys)
	for _, sub := range keys {
		if sub.Channel != ChannelTrades && sub.Channel != ChannelCandles {
			continue
		}
		k := gapKey{sub.Channel, sub.Symbol}
		c.gaps.mu.Lock()
		s := c.gaps.state(k)
		inGap := s.inGap && ctx.Err() == nil
		req := BackfillRequest{Subscription: sub, FutOpt: futopt, AfterSerial: s.gapSerial}
		if s.gapTime > 0 {
			req.Since = time.UnixMicro(s.gapTime)
		}
		if !inGap {
			// Subscribed during the outage (no value before it, no gap), or
			// no time left: release what was held.
			reported := s.inGap
			s.holding, s.inGap = false, false
			held := s.takeHeld()
			c.gaps.mu.Unlock()
			c.release(held)
			if reported && ctx.Err() != nil {
				c.emit(Backfilled{Conn: conn, Subscription: sub, Err: ErrBackfillInterrupted})
			}
			continue
		}
		c.gaps.mu.Unlock()
		report := c.heal(ctx, conn, k, req)
		report.Conn = conn
		c.emit(report)
	}
}

// settleWait bounds the wait for the first live value of every restored
// key: that value is where the gap ends, which bounds what backfill
// delivers and lets it reconcile. A key that trades rarely is healed
// without it after this long.
const settleWait = time.Second

// settle waits until every restored trades and candles key has had a live
// value since the reconnect, settleWait at most.
func (c *WebSocketClient) settle(ctx context.Context, keys []Subscription) {
	deadline := time.Now().Add(min(settleWait, c.opt.BackfillTimeout))
	for time.Now().Before(deadline) {
		c.gaps.mu.Lock()
		waiting := false
		for _, sub := range keys {
			if sub.Channel != ChannelTrades && sub.Channel != ChannelCandles {
				continue
			}
			if s := c.gaps.keys[gapKey{sub.Channel, sub.Symbol}]; s != nil && s.inGap && !s.firstSeen {
				waiting = true
				break
			}
		}
		c.gaps.mu.Unlock()
		if !waiting {
			return
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// heal fetches one key's gap and delivers it, then what was held.
func (c *WebSocketClient) heal(ctx context.Context, conn uint64, k gapKey, req BackfillRequest) Backfilled {
	fetchCtx, cancel := context.WithTimeout(ctx, c.opt.BackfillTimeout)
	defer cancel()
	var (
		trades  []Trade
		candles []Candle
		err     error
	)
	if k.channel == ChannelTrades {
		trades, err = c.opt.Backfill.Trades(fetchCtx, req)
	} else {
		candles, err = c.opt.Backfill.Candles(fetchCtx, req)
	}
	out := Backfilled{Subscription: req.Subscription}
	c.gaps.mu.Lock()
	s := c.gaps.state(k)
	if err == nil {
		if k.channel == ChannelTrades {
			trades, out.Complete = s.selectTrades(trades, req.FutOpt)
			out.Count = len(trades)
		} else {
			candles = s.selectCandles(candles)
			out.Count, out.Complete = len(candles), true
		}
	}
	c.gaps.mu.Unlock()
	switch {
	case err != nil && ctx.Err() != nil:
		out.Err = ErrBackfillInterrupted
	case err != nil:
		out.Err = err
	case !out.Complete:
		out.Err = ErrBackfillIncomplete
	}
	for i := range trades {
		trades[i].Backfill, trades[i].Conn = true, conn
		route(c.outlets, c.trades, trades[i])
	}
	for i := range candles {
		candles[i].Backfill, candles[i].Conn = true, conn
		route(c.outlets, c.candles, candles[i])
	}
	// Deliver what was held meanwhile, until nothing more is: then live
	// values flow directly again.
	for {
		c.gaps.mu.Lock()
		held := s.takeHeld()
		if len(held.trades) == 0 && len(held.candles) == 0 {
			s.holding, s.inGap = false, false
			c.gaps.mu.Unlock()
			break
		}
		c.gaps.mu.Unlock()
		c.release(held)
	}
	if ctx.Err() != nil && out.Err == nil {
		out.Complete, out.Err = false, ErrBackfillInterrupted
	}
	return out
}

type heldValues struct {
	trades  []Trade
	candles []Candle
}

// takeHeld empties the held values, skipping trades backfill delivered.
// Called with the gaps lock held.
func (s *gapState) takeHeld() heldValues {
	h := heldValues{candles: s.heldCandles}
	for i := range s.heldTrades {
		v := &s.heldTrades[i]
		if s.floor > 0 && v.Serial <= s.floor {
			continue
		}
		s.observeTrade(v)
		h.trades = append(h.trades, *v)
	}
	for i := range s.heldCandles {
		s.lastTime = max(s.lastTime, candleMinute(&s.heldCandles[i]))
	}
	s.heldTrades, s.heldCandles = nil, nil
	return h
}

func (c *WebSocketClient) release(h heldValues) {
	for _, v := range h.trades {
		route(c.outlets, c.trades, v)
	}
	for _, v := range h.candles {
		route(c.outlets, c.candles, v)
	}
}

// selectTrades keeps the fetched trades inside the gap, in order, once
// each, raises the floor over them, and says whether the gap reconciles.
// Called with the gaps lock held.
func (s *gapState) selectTrades(fetched []Trade, futopt bool) ([]Trade, bool) {
	sort.SliceStable(fetched, func(i, j int) bool {
		if futopt {
			return fetched[i].Time < fetched[j].Time
		}
		return fetched[i].Serial < fetched[j].Serial
	})
	var out []Trade
	for _, v := range fetched {
		if futopt {
			t := int64(v.Time)
			if t <= s.gapTime || (s.firstSeen && t >= s.firstTime) {
				continue
			}
		} else {
			if v.Serial <= s.gapSerial || (s.firstSeen && v.Serial >= s.firstSerial) || (len(out) > 0 && v.Serial == out[len(out)-1].Serial) {
				continue
			}
			s.floor = max(s.floor, v.Serial)
		}
		out = append(out, v)
	}
	// Reconcile the cumulative volume across the gap.
	// No trade before the gap: the fetch started at the day's first trade,
	// so the volume starts from zero.
	volume, ok := s.gapVolume, s.gapHasVolume || (s.gapSerial == 0 && s.gapTime == 0)
	for i := range out {
		vol, size, has := tradeVolume(&out[i])
		ok = ok && has && vol == volume+size
		volume = vol
	}
	if s.firstSeen {
		ok = ok && s.firstHasVolume && s.firstVolume == volume+s.firstSize
	} else {
		ok = false // nothing live yet to close the gap against
	}
	if len(out) > 0 && !s.firstSeen {
		// Nothing live yet: the backfilled trades are the newest delivered.
		s.observeTrade(&out[len(out)-1])
	}
	return out, ok
}

// selectCandles keeps the fetched minutes strictly inside the gap.
func (s *gapState) selectCandles(fetched []Candle) []Candle {
	sort.SliceStable(fetched, func(i, j int) bool { return candleMinute(&fetched[i]) < candleMinute(&fetched[j]) })
	var out []Candle
	for i := range fetched {
		t := candleMinute(&fetched[i])
		// The minute forming when the connection dropped is sent again:
		// REST has its final state.
		if t < s.gapTime || (s.firstSeen && t >= s.firstTime) {
			continue
		}
		out = append(out, fetched[i])
	}
	return out
}

func (g *gaps) duplicates() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dups
}
