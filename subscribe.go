package marketdata

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/go-fugle/marketdata/messages"
)

// Channel names a stream: trades, candles, books, aggregates or indices.
type Channel = messages.Channel

// The channels of the API. Stock has all five; futures and options have
// all but indices.
const (
	ChannelTrades     = messages.ChannelTrades
	ChannelCandles    = messages.ChannelCandles
	ChannelBooks      = messages.ChannelBooks
	ChannelAggregates = messages.ChannelAggregates
	ChannelIndices    = messages.ChannelIndices
)

// SubscribeRequest names one channel for one or more symbols.
type SubscribeRequest struct {
	Channel Channel
	// Symbols are sent as the server expects: one as "symbol", several as
	// "symbols". They are not checked against a pattern: futures spreads
	// contain "/".
	Symbols []string
	// IntradayOddLot selects intraday odd-lot trading (stock).
	IntradayOddLot bool
	// AfterHours selects the night session (futures and options).
	AfterHours bool
}

// Subscription is one (channel, symbol, modifiers) the client wants.
type Subscription struct {
	Channel        Channel
	Symbol         string
	IntradayOddLot bool
	AfterHours     bool
	// ID is the server's id for it on the current connection; the server
	// may give one id to several subscriptions (a futures alias and its
	// contract).
	ID string
	// Active is true when the server acknowledged it on the current
	// connection; false while disconnected or awaiting the ack.
	Active bool
}

func (s Subscription) String() string {
	var mods string
	if s.IntradayOddLot {
		mods += "+oddlot"
	}
	if s.AfterHours {
		mods += "+afterhours"
	}
	return string(s.Channel) + ":" + s.Symbol + mods
}

// subKey identifies a wanted subscription.
type subKey struct {
	channel    Channel
	symbol     string
	oddLot     bool
	afterHours bool
}

// group is what one subscribe frame can carry: symbols that share a channel
// and modifiers.
type group struct {
	channel    Channel
	oddLot     bool
	afterHours bool
}

func (k subKey) group() group { return group{k.channel, k.oddLot, k.afterHours} }

func (k subKey) subscription() Subscription {
	return Subscription{Channel: k.channel, Symbol: k.symbol, IntradayOddLot: k.oddLot, AfterHours: k.afterHours}
}

func (r SubscribeRequest) keys() ([]subKey, error) {
	if r.Channel == "" {
		return nil, fmt.Errorf("%w: no channel", ErrInvalidRequest)
	}
	if len(r.Symbols) == 0 {
		return nil, fmt.Errorf("%w: no symbols", ErrInvalidRequest)
	}
	keys := make([]subKey, 0, len(r.Symbols))
	seen := make(map[string]bool, len(r.Symbols))
	for _, sym := range r.Symbols {
		if strings.TrimSpace(sym) == "" {
			return nil, fmt.Errorf("%w: empty symbol", ErrInvalidRequest)
		}
		if seen[sym] {
			continue
		}
		seen[sym] = true
		keys = append(keys, subKey{r.Channel, sym, r.IntradayOddLot, r.AfterHours})
	}
	return keys, nil
}

// waiter is one Subscribe or Unsubscribe call waiting for the server.
type waiter struct {
	remaining   int
	err         error
	unconfirmed []Subscription // keys the server answered without confirming
	done        chan struct{}
}

func newWaiter() *waiter { return &waiter{done: make(chan struct{})} }

func (w *waiter) resolve(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
	w.remaining--
	if w.remaining == 0 {
		close(w.done)
	}
}

// unconfirm resolves one key the server's ack left out.
func (w *waiter) unconfirm(s Subscription) {
	w.unconfirmed = append(w.unconfirmed, s)
	w.resolve(nil)
}

func (w *waiter) wait(ctx context.Context) error {
	select {
	case <-w.done:
		// Read after done closed: the writer held the client's lock and
		// closed done last.
		if w.err == nil && len(w.unconfirmed) > 0 {
			subs := append([]Subscription(nil), w.unconfirmed...)
			sort.Slice(subs, func(i, j int) bool { return lessSub(subs[i], subs[j]) })
			return &UnconfirmedError{Subscriptions: subs}
		}
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// entry is a wanted subscription and its state on the current connection.
type entry struct {
	key  subKey
	id   string
	conn uint64 // the connection on which id is valid; 0 = never acked
	sent uint64 // the connection on which a subscribe frame is in flight
	// alone: a frame carrying it with others was refused, so it is sent by
	// itself to learn which symbol the server objects to.
	alone   bool
	waiters []*waiter
	order   uint64 // when it was first wanted, for healing keys in that order
}

// registry is the set of wanted subscriptions, reconciled against each
// connection by the supervisor. It is guarded by the client's mutex.
type registry struct {
	wanted map[subKey]*entry
	// stale holds ids active on connection staleConn that nothing wants any
	// more, with the Unsubscribe calls waiting for them.
	stale     map[string][]*waiter
	staleConn uint64
	added     uint64 // entries ever created
}

// request is the one subscribe or unsubscribe frame in flight on a session.
type request struct {
	unsubscribe bool
	keys        []subKey // subscribe
	ids         []string // unsubscribe
	frame       []byte
}

// Subscribe subscribes to one channel for one or more symbols and returns
// once the server has acknowledged every symbol, or with the server's error
// (a *ServerError). When the server refuses a frame of several symbols, they
// are sent again one by one: the symbols it accepts stay subscribed, and
// Subscribe returns the error of one it refused. When the server's ack
// leaves symbols out, Subscribe returns an *UnconfirmedError naming them:
// they stay wanted but not active, are requested again on the next
// connection (once per connection, so a server that keeps ignoring them
// causes no request loop), and become active if a late ack confirms them.
// The subscription is remembered and restored after every reconnect. Called while disconnected (or before Connect), it waits for the
// next connection. If ctx ends first, Subscribe returns ctx's error but the
// subscription stays wanted and will be made; Unsubscribe drops it.
func (c *WebSocketClient) Subscribe(ctx context.Context, req SubscribeRequest) error {
	keys, err := req.keys()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if err := c.usable(); err != nil {
		c.mu.Unlock()
		return err
	}
	w := c.subs.want(keys, c.liveSeqLocked())
	pending := w.remaining // the supervisor may resolve w as soon as the lock is released
	c.mu.Unlock()
	if pending == 0 {
		return nil
	}
	c.wakeSupervisor()
	return w.wait(ctx)
}

// Unsubscribe drops the named subscriptions. When they are active it sends
// one unsubscribe frame by their server ids (an id another wanted
// subscription shares is kept) and waits for the server's ack; while
// disconnected it only forgets them. Naming nothing subscribed returns
// ErrNotSubscribed.
func (c *WebSocketClient) Unsubscribe(ctx context.Context, req SubscribeRequest) error {
	keys, err := req.keys()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if err := c.usable(); err != nil {
		c.mu.Unlock()
		return err
	}
	w, found := c.subs.unwant(keys, c.liveSeqLocked())
	pending := w.remaining
	c.mu.Unlock()
	if found == 0 {
		return ErrNotSubscribed
	}
	if pending == 0 {
		return nil
	}
	c.wakeSupervisor()
	return w.wait(ctx)
}

// Subscriptions lists every wanted subscription, sorted, with its id and
// whether it is active on the current connection.
func (c *WebSocketClient) Subscriptions() []Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subs.list(c.liveSeqLocked())
}

// list reports every wanted subscription, sorted, active or not on
// connection live. Called with c.mu held.
func (r *registry) list(live uint64) []Subscription {
	out := make([]Subscription, 0, len(r.wanted))
	for _, e := range r.wanted {
		s := e.key.subscription()
		if s.Active = live != 0 && e.conn == live; s.Active {
			s.ID = e.id
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return lessSub(out[i], out[j]) })
	return out
}

func lessSub(a, b Subscription) bool {
	if a.Channel != b.Channel {
		return a.Channel < b.Channel
	}
	if a.IntradayOddLot != b.IntradayOddLot {
		return b.IntradayOddLot
	}
	if a.AfterHours != b.AfterHours {
		return b.AfterHours
	}
	return a.Symbol < b.Symbol
}

// ListSubscriptions asks the server for its own list of this connection's
// subscriptions. The reply's shape is undocumented, so it arrives on Events
// as an Unknown event with Event "subscriptions".
func (c *WebSocketClient) ListSubscriptions() error {
	s := c.liveSession()
	if s == nil {
		return ErrNotConnected
	}
	return s.send(subscriptionsFrame)
}

// want adds keys to the wanted set and returns a waiter for those not yet
// active on connection live (0: none). Called with c.mu held.
func (r *registry) want(keys []subKey, live uint64) *waiter {
	w := newWaiter()
	for _, k := range keys {
		e := r.wanted[k]
		if e == nil {
			r.added++
			e = &entry{key: k, order: r.added}
			r.wanted[k] = e
		}
		if live != 0 && e.conn == live {
			continue // already active
		}
		e.waiters = append(e.waiters, w)
		w.remaining++
	}
	return w
}

// unwant drops keys from the wanted set. Those active on connection live
// have their ids queued for an unsubscribe frame (unless another wanted key
// shares the id); the waiter resolves when the server has answered. It
// returns how many of keys were wanted. Called with c.mu held.
func (r *registry) unwant(keys []subKey, live uint64) (*waiter, int) {
	found := 0
	w := newWaiter()
	ids := map[string]bool{}
	for _, k := range keys {
		e := r.wanted[k]
		if e == nil {
			continue
		}
		found++
		delete(r.wanted, k)
		for _, pw := range e.waiters {
			pw.resolve(ErrUnsubscribed)
		}
		if live != 0 && e.conn == live && e.id != "" && !ids[e.id] {
			ids[e.id] = true
			if r.staleConn != live {
				r.stale, r.staleConn = map[string][]*waiter{}, live
			}
			r.stale[e.id] = append(r.stale[e.id], w)
			w.remaining++
		}
	}
	return w, found
}

// nextRequest picks the next frame that brings the connection closer to the
// wanted set: first unsubscribes of ids nothing wants, then one subscribe
// frame per (channel, modifiers), at most MaxSymbolsPerSend symbols each.
// Called with c.mu held.
func (r *registry) nextRequest(seq uint64, maxSymbols int) *request {
	if r.staleConn == seq && len(r.stale) > 0 {
		inUse := map[string]bool{}
		for _, e := range r.wanted {
			if e.conn == seq && e.id != "" {
				inUse[e.id] = true
			}
		}
		var ids []string
		for id, ws := range r.stale {
			if inUse[id] {
				// Shared with a subscription still wanted: keep it.
				for _, w := range ws {
					w.resolve(nil)
				}
				delete(r.stale, id)
				continue
			}
			ids = append(ids, id)
		}
		if len(ids) > 0 {
			sort.Strings(ids)
			if len(ids) > maxSymbols {
				ids = ids[:maxSymbols]
			}
			return &request{unsubscribe: true, ids: ids, frame: unsubscribeFrame(ids)}
		}
	}
	var pending []*entry
	for _, e := range r.wanted {
		if e.conn != seq && e.sent != seq {
			pending = append(pending, e)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	sort.Slice(pending, func(i, j int) bool {
		return lessSub(pending[i].key.subscription(), pending[j].key.subscription())
	})
	sort.SliceStable(pending, func(i, j int) bool { return pending[i].alone && !pending[j].alone })
	g := pending[0].key.group()
	var keys []subKey
	var symbols []string
	for _, e := range pending {
		if e.key.group() != g || len(keys) == maxSymbols || (len(keys) > 0 && (e.alone || pending[0].alone)) {
			continue
		}
		e.sent = seq
		keys = append(keys, e.key)
		symbols = append(symbols, e.key.symbol)
	}
	return &request{keys: keys, frame: subscribeFrame(g, symbols)}
}

// apply records the server's answer to req on connection seq. A nil
// serverErr means acks answered it. It returns the subscriptions that
// failed and those the ack left out. Called with c.mu held.
func (r *registry) apply(seq uint64, req *request, acks []messages.Ack, serverErr error) ([]SubscriptionFailure, []Subscription) {
	if req.unsubscribe {
		for _, id := range req.ids {
			for _, w := range r.stale[id] {
				w.resolve(serverErr)
			}
			delete(r.stale, id)
		}
		return nil, nil
	}
	if serverErr != nil && len(req.keys) > 1 {
		// The server refuses a frame whole: retry its symbols one by one so
		// that only the ones it objects to fail.
		for _, k := range req.keys {
			if e := r.wanted[k]; e != nil && e.sent == seq {
				e.sent, e.alone = 0, true
			}
		}
		return nil, nil
	}
	if serverErr != nil {
		var failed []SubscriptionFailure
		for _, k := range req.keys {
			e := r.wanted[k]
			if e == nil || e.sent != seq {
				continue
			}
			delete(r.wanted, k)
			for _, w := range e.waiters {
				w.resolve(serverErr)
			}
			failed = append(failed, SubscriptionFailure{Subscription: k.subscription(), Err: serverErr})
		}
		return failed, nil
	}
	// An ack for another channel, or for a key an earlier ack left out,
	// answers an earlier request: a late ack.
	g := req.keys[0].group()
	inReq := make(map[string]bool, len(req.keys))
	for _, k := range req.keys {
		inReq[k.symbol] = true
	}
	var mine []messages.Ack
	for _, a := range acks {
		if (a.Channel != "" && a.Channel != g.channel) || (!inReq[a.Symbol] && r.lateAck(seq, a)) {
			r.lateAck(seq, a)
			continue
		}
		mine = append(mine, a)
	}
	acks = mine
	// Match acks to keys by symbol; what is left is matched in order, since a
	// server may answer an alias with the contract it resolved to.
	ids := make([]string, len(req.keys))
	got := make([]bool, len(req.keys))
	used := make([]bool, len(acks))
	for i, k := range req.keys {
		for j, a := range acks {
			if !used[j] && a.Symbol == k.symbol {
				ids[i], got[i], used[j] = a.ID, true, true
				break
			}
		}
	}
	j := 0
	for i := range req.keys {
		if got[i] {
			continue
		}
		for j < len(acks) && used[j] {
			j++
		}
		if j < len(acks) {
			ids[i], got[i], used[j] = acks[j].ID, true, true
		}
	}
	var unconfirmed []Subscription
	for i, k := range req.keys {
		e := r.wanted[k]
		if e == nil || e.sent != seq {
			// Unsubscribed while the request was in flight.
			if ids[i] != "" {
				if r.staleConn != seq {
					r.stale, r.staleConn = map[string][]*waiter{}, seq
				}
				if _, ok := r.stale[ids[i]]; !ok {
					r.stale[ids[i]] = nil
				}
			}
			continue
		}
		if !got[i] {
			// The ack left it out. It stays marked as sent on this
			// connection, so it is not requested again until the next one.
			unconfirmed = append(unconfirmed, k.subscription())
			for _, w := range e.waiters {
				w.unconfirm(k.subscription())
			}
			e.waiters = nil
			continue
		}
		e.id, e.conn, e.alone = ids[i], seq, false
		for _, w := range e.waiters {
			w.resolve(nil)
		}
		e.waiters = nil
	}
	return nil, unconfirmed
}

// lateAck applies an ack that answers no request in flight: it confirms a
// key sent on this connection whose ack had left it out. It reports whether
// the ack matched one. Called with c.mu held.
func (r *registry) lateAck(seq uint64, a messages.Ack) bool {
	k := subKey{a.Channel, a.Symbol, a.IntradayOddLot, a.AfterHours}
	e := r.wanted[k]
	if e == nil || e.sent != seq || e.conn == seq {
		return false
	}
	e.id, e.conn, e.alone = a.ID, seq, false
	return true
}

// connectionLost forgets what only lived on connection seq: ids to
// unsubscribe (the server dropped them with the connection).
func (r *registry) connectionLost(seq uint64) {
	if r.staleConn != seq {
		return
	}
	for id, ws := range r.stale {
		for _, w := range ws {
			w.resolve(nil)
		}
		delete(r.stale, id)
	}
}

// end resolves every waiter with err: the client will not connect again.
func (r *registry) end(err error) {
	for _, e := range r.wanted {
		for _, w := range e.waiters {
			w.resolve(err)
		}
		e.waiters = nil
	}
	for id, ws := range r.stale {
		for _, w := range ws {
			w.resolve(err)
		}
		delete(r.stale, id)
	}
}

// active lists the subscriptions active on connection seq.
func (r *registry) active(seq uint64) []Subscription {
	var out []Subscription
	for _, e := range r.wanted {
		if e.conn == seq {
			s := e.key.subscription()
			s.ID, s.Active = e.id, true
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return lessSub(out[i], out[j]) })
	return out
}

// answersRequest reports whether an error frame can be the answer to a
// subscribe or unsubscribe frame. The protocol has no request ids, so an
// error about something else (a ping sent before authenticating, an auth
// timeout) must not be taken for a refused subscription.
func answersRequest(e *ServerError) bool {
	switch e.Code {
	case 0, CodeLimitExceeded, CodeValidationFailed:
		return true
	}
	return false
}

// activeInOrder lists the subscriptions active on connection seq in the
// order they were first wanted.
func (r *registry) activeInOrder(seq uint64) []Subscription {
	var es []*entry
	for _, e := range r.wanted {
		if e.conn == seq {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].order < es[j].order })
	out := make([]Subscription, len(es))
	for i, e := range es {
		out[i] = e.key.subscription()
		out[i].ID, out[i].Active = e.id, true
	}
	return out
}
