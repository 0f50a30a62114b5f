package marketdata

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Plan is what a Fugle plan allows one API key: a number of connections,
// each holding a number of subscriptions (one subscription is one symbol on
// one channel).
type Plan struct {
	Connections                int
	SubscriptionsPerConnection int
}

// The published plans, as quoted from Fugle's pricing page; set your own
// Plan if yours differs.
var (
	PlanFree      = Plan{Connections: 1, SubscriptionsPerConnection: 5}
	PlanDeveloper = Plan{Connections: 2, SubscriptionsPerConnection: 300}
	PlanAdvanced  = Plan{Connections: 2, SubscriptionsPerConnection: 2000}
)

// ParsePlan reads a plan as a command-line flag names it: "free",
// "developer", "advanced", or NxM (N connections of M subscriptions each,
// such as 2x300).
func ParsePlan(s string) (Plan, error) {
	switch s {
	case "free":
		return PlanFree, nil
	case "developer":
		return PlanDeveloper, nil
	case "advanced":
		return PlanAdvanced, nil
	}
	var p Plan
	if n, err := fmt.Sscanf(s, "%dx%d", &p.Connections, &p.SubscriptionsPerConnection); err != nil || n != 2 || p.Connections < 1 || p.SubscriptionsPerConnection < 1 {
		return p, fmt.Errorf("plan %q: want free, developer, advanced or NxM such as 2x300", s)
	}
	return p, nil
}

// ErrPlanFull: a Subscribe needs more room than the plan (or the server)
// has. It is matched by a *PlanFullError, which says how much.
var ErrPlanFull = errors.New("marketdata: the plan has no room for the subscriptions")

// PlanFullError is a Subscribe the plan cannot hold. Nothing was sent.
type PlanFullError struct {
	Requested int // new subscriptions the call asked for
	Free      int // room left over every connection
	Capacity  int // the plan's (or the server's, once learned) total
}

func (e *PlanFullError) Error() string {
	return fmt.Sprintf("marketdata: the plan has no room: %d subscription(s) requested, %d free of %d", e.Requested, e.Free, e.Capacity)
}

// Is matches ErrPlanFull.
func (e *PlanFullError) Is(target error) bool { return target == ErrPlanFull }

// PoolOption configures a Pool.
type PoolOption struct {
	// Client is the template of every connection's option: endpoint,
	// credential, timeouts, drop policy, buffers, Ordered, Logger. Its
	// defaults apply as for NewWebSocketClient.
	Client WebSocketClientOption
	// Plan bounds the connections and the subscriptions per connection.
	// Default PlanFree.
	Plan Plan
	// Spread places new subscriptions on the connection with the most room,
	// opening every connection at Connect. Default false: connections fill
	// one after another, and the next is opened only when needed.
	Spread bool
	// FailoverAfter is how long a connection may stay down before its
	// subscriptions move to connections with room. What does not fit is
	// reported (KeysUnplaced) and placed as soon as room appears. Keys never
	// move back on their own. Default 30 s; negative: off.
	FailoverAfter time.Duration
}

// DefaultFailoverAfter is PoolOption.FailoverAfter's default.
const DefaultFailoverAfter = 30 * time.Second

// KeysMoved: subscriptions moved from one connection slot of a pool to
// another (From is -1 for keys that had been unplaced). Their values may be
// missing between the last value on the old connection and the first on
// the new one.
type KeysMoved struct {
	From, To      int
	Subscriptions []Subscription
}

// KeysUnplaced: a connection stayed down and the other connections had no
// room for these subscriptions. They stay wanted, and are placed (with a
// KeysMoved from -1) as soon as room appears.
type KeysUnplaced struct {
	From          int
	Subscriptions []Subscription
}

func (KeysMoved) event()    {}
func (KeysUnplaced) event() {}

func (e KeysMoved) String() string {
	return fmt.Sprintf("moved %d subscription(s) from connection slot %d to %d", len(e.Subscriptions), e.From, e.To)
}

func (e KeysUnplaced) String() string {
	return fmt.Sprintf("%d subscription(s) of connection slot %d have no room: waiting for it", len(e.Subscriptions), e.From)
}

// Pool spreads subscriptions over the connections a plan allows, behind the
// consumer API of a single client (it satisfies Stream): one merged set of
// channels, one drop policy and one set of counters, the connections
// delivering into them directly. Connection numbers (Meta.Conn) are unique
// across the pool. With several connections, a gap is per subscription: a
// change of the connection number between two values of the same key
// (channel and symbol) means values may be missing between them.
//
// A Subscribe the plan cannot hold returns a *PlanFullError before anything
// is sent. When the server refuses earlier than the plan says (error 1001),
// the pool learns that connection's real capacity and places the refused
// keys elsewhere; when nothing has room, it takes back what that call
// placed and returns the error.
type Pool struct {
	opt  PoolOption
	cred credential
	*outlets
	seqs atomic.Uint64

	closeCtx context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	endOnce  sync.Once
	watchers sync.WaitGroup

	mu        sync.Mutex
	members   []*member
	owner     map[subKey]*member
	unplaced  []subKey // wanted, on no connection: waiting for room
	connected bool
	closed    bool
	err       error
}

// member is one connection slot of the pool.
type member struct {
	index    int
	c        *WebSocketClient // nil until opened
	capacity int              // the plan's, or what the server showed
	keys     int              // subscriptions placed on it
	down     bool             // its connection is lost and being retried
	failed   bool             // down past FailoverAfter: its keys moved away
	timer    *time.Timer      // the failover timer while down
	downs    uint64           // times it went down: a timer from an earlier outage is stale
}

// room is what m can take now: nothing while it has failed over.
func (m *member) room() int {
	if m.failed {
		return 0
	}
	return max(m.capacity-m.keys, 0)
}

// NewPool builds a pool; nothing is dialled until Connect.
func NewPool(option PoolOption) (*Pool, error) {
	opt, cred, err := option.Client.withDefaults()
	if err != nil {
		return nil, err
	}
	if option.Plan == (Plan{}) {
		option.Plan = PlanFree
	}
	if option.Plan.Connections < 1 || option.Plan.SubscriptionsPerConnection < 1 {
		return nil, fmt.Errorf("%w: a plan needs at least one connection and one subscription per connection", ErrInvalidOption)
	}
	switch {
	case option.FailoverAfter == 0:
		option.FailoverAfter = DefaultFailoverAfter
	case option.FailoverAfter < 0:
		option.FailoverAfter = 0
	}
	option.Client = opt
	p := &Pool{opt: option, cred: cred, done: make(chan struct{}), owner: map[subKey]*member{}}
	p.closeCtx, p.cancel = context.WithCancel(context.Background())
	p.outlets = newOutlets(opt, p.closeCtx.Done())
	for i := 0; i < option.Plan.Connections; i++ {
		p.members = append(p.members, &member{index: i, capacity: option.Plan.SubscriptionsPerConnection})
	}
	return p, nil
}

var _ Stream = (*Pool)(nil)

// open makes m's client, connected, and watches it. Called without p.mu.
func (p *Pool) open(ctx context.Context, m *member) (*WebSocketClient, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	c := m.c
	if c == nil {
		c = newWebSocketClient(p.opt.Client, p.cred, p.outlets, &p.seqs)
		c.limitBackoff = true
		c.onLink = func(up bool) { p.link(m, up) }
		m.c = c
		p.watchers.Add(1)
		go p.watch(c)
	}
	p.mu.Unlock()
	if err := c.Connect(ctx); err != nil && !errors.Is(err, ErrAlreadyConnected) {
		return c, err
	}
	return c, nil
}

// watch ends the pool when a connection ends for good on its own (a
// rejected credential is a verdict on every connection of the key).
func (p *Pool) watch(c *WebSocketClient) {
	defer p.watchers.Done()
	select {
	case <-c.Done():
		err := c.Err()
		if err == nil {
			return
		}
		if errors.Is(err, ErrUnauthorized) || isCertificateError(err) {
			// A verdict on the key or the endpoint, not on one connection.
			p.mu.Lock()
			if p.err == nil && !p.closed {
				p.err = err
			}
			p.mu.Unlock()
			go func() { _ = p.Close() }()
			return
		}
		// This connection gave up (its reconnect limits ran out): its keys
		// move now, and its slot opens anew when needed.
		p.mu.Lock()
		var m *member
		for _, x := range p.members {
			if x.c == c {
				m = x
			}
		}
		if m == nil || p.closed {
			p.mu.Unlock()
			return
		}
		m.down = true
		p.mu.Unlock()
		p.failover(m)
		p.mu.Lock()
		if m.c == c {
			m.c, m.down, m.failed = nil, false, false
		}
		p.mu.Unlock()
	case <-p.closeCtx.Done():
	}
}

// link hears a connection go up or down. Down starts the failover timer;
// up stops it, and a connection back from a failover takes keys waiting
// for room.
func (p *Pool) link(m *member, up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	m.down = !up
	if up {
		m.failed = false
		p.placeWaitingLocked()
		return
	}
	m.downs++
	if p.opt.FailoverAfter > 0 {
		outage := m.downs
		m.timer = time.AfterFunc(p.opt.FailoverAfter, func() { p.failoverAfter(m, outage) })
	}
}

// failoverAfter fails m over if it is still in the outage that armed the
// timer.
func (p *Pool) failoverAfter(m *member, outage uint64) {
	p.mu.Lock()
	stale := m.downs != outage
	p.mu.Unlock()
	if !stale {
		p.failover(m)
	}
}

// failover moves the keys of a connection that stayed down.
func (p *Pool) failover(m *member) {
	p.mu.Lock()
	if p.closed || !m.down || m.failed {
		p.mu.Unlock()
		return
	}
	m.failed = true
	var keys []subKey
	for k, o := range p.owner {
		if o == m {
			keys = append(keys, k)
			delete(p.owner, k)
		}
	}
	m.keys = 0
	sortKeys(keys)
	c := m.c
	p.mu.Unlock()
	// Disconnected, the member only forgets them: nothing is sent.
	for _, r := range requestsFor(keys) {
		_ = c.Unsubscribe(p.closeCtx, r)
	}
	p.mu.Lock()
	if !p.closed {
		p.moveLocked(keys, m.index)
	}
	p.mu.Unlock()
}

// moveLocked places keys on connections with room and subscribes them
// there in the background; the rest wait. Called with p.mu held.
func (p *Pool) moveLocked(keys []subKey, from int) {
	placed := map[*member][]subKey{}
	var waiting []subKey
	for _, k := range keys {
		var best *member
		for _, o := range p.members {
			if o.down || o.room() == 0 {
				continue
			}
			if best == nil || o.room() > best.room() {
				best = o
			}
		}
		if best == nil {
			waiting = append(waiting, k)
			continue
		}
		best.keys++
		p.owner[k] = best
		placed[best] = append(placed[best], k)
	}
	p.unplaced = append(p.unplaced, waiting...)
	for _, o := range sortedMembers(placed) {
		p.outlets.emit(KeysMoved{From: from, To: o.index, Subscriptions: subscriptionsOf(placed[o])})
		p.watchers.Add(1)
		go p.subscribeMoved(o, placed[o])
	}
	if len(waiting) > 0 {
		p.outlets.emit(KeysUnplaced{From: from, Subscriptions: subscriptionsOf(waiting)})
	}
}

// placeWaitingLocked gives waiting keys the room that appeared. Called
// with p.mu held.
func (p *Pool) placeWaitingLocked() {
	if len(p.unplaced) == 0 {
		return
	}
	keys := p.unplaced
	p.unplaced = nil
	p.moveLocked(keys, -1)
}

// subscribeMoved subscribes moved keys on their new connection.
func (p *Pool) subscribeMoved(m *member, keys []subKey) {
	defer p.watchers.Done()
	c, err := p.open(p.closeCtx, m)
	if err != nil {
		return
	}
	for _, r := range requestsFor(keys) {
		p.subscribeOrWait(m, c, r)
	}
}

// subscribeOrWait subscribes keys the pool moved; those the server refuses
// for lack of room wait for room like unplaced keys, rather than vanish.
func (p *Pool) subscribeOrWait(m *member, c *WebSocketClient, r SubscribeRequest) {
	err := c.Subscribe(p.closeCtx, r)
	var se *ServerError
	if !errors.As(err, &se) {
		return
	}
	ks, _ := r.keys()
	refused := p.learn(m, c, ks, se.Code == CodeLimitExceeded)
	if len(refused) == 0 || se.Code != CodeLimitExceeded {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.unplaced = append(p.unplaced, refused...)
		p.outlets.emit(KeysUnplaced{From: m.index, Subscriptions: subscriptionsOf(refused)})
	}
}

func subscriptionsOf(keys []subKey) []Subscription {
	out := make([]Subscription, len(keys))
	for i, k := range keys {
		out[i] = k.subscription()
	}
	return out
}

func sortKeys(keys []subKey) {
	sort.Slice(keys, func(i, j int) bool { return lessSub(keys[i].subscription(), keys[j].subscription()) })
}

// Connect opens the first connection (every connection with Spread) and
// returns once it is authenticated.
func (p *Pool) Connect(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if p.connected {
		p.mu.Unlock()
		return ErrAlreadyConnected
	}
	p.connected = true
	p.mu.Unlock()
	n := 1
	if p.opt.Spread {
		n = len(p.members)
	}
	for _, m := range p.members[:n] {
		if _, err := p.open(ctx, m); err != nil {
			p.mu.Lock()
			p.connected = false
			p.mu.Unlock()
			return err
		}
	}
	return nil
}

// place assigns keys to members with room. Called with p.mu held.
func (p *Pool) place(keys []subKey, exclude *member) (map[*member][]subKey, error) {
	free, capacity := 0, 0
	for _, m := range p.members {
		capacity += m.capacity
		if m != exclude {
			free += m.room()
		}
	}
	if len(keys) > free {
		return nil, &PlanFullError{Requested: len(keys), Free: free, Capacity: capacity}
	}
	out := map[*member][]subKey{}
	for _, k := range keys {
		// A connection that is up first; one being retried only when
		// nothing else has room (its Subscribe waits for it).
		var best *member
		for _, wantDown := range []bool{false, true} {
			for _, m := range p.members {
				if m == exclude || m.room() == 0 || m.down != wantDown {
					continue
				}
				if best == nil || (p.opt.Spread && m.room() > best.room()) {
					best = m
					if !p.opt.Spread {
						break // fill one after another
					}
				}
			}
			if best != nil {
				break
			}
		}
		best.keys++
		p.owner[k] = best
		out[best] = append(out[best], k)
	}
	return out, nil
}

// Subscribe places the request's new subscriptions on connections with
// room and returns once every connection has its acks. Keys already
// subscribed stay where they are.
func (p *Pool) Subscribe(ctx context.Context, req SubscribeRequest) error {
	keys, err := req.keys()
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	var fresh []subKey
	existing := map[*member][]subKey{}
	for _, k := range keys {
		if m := p.owner[k]; m != nil {
			existing[m] = append(existing[m], k)
		} else {
			fresh = append(fresh, k)
		}
	}
	placed, err := p.place(fresh, nil)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	for m, ks := range existing {
		placed[m] = append(placed[m], ks...)
	}
	var firstErr error
	for len(placed) > 0 {
		var refused []subKey
		var from *member
		for _, m := range sortedMembers(placed) {
			ks := placed[m]
			c, err := p.open(ctx, m)
			if err == nil {
				err = c.Subscribe(ctx, requestFor(req, ks))
			}
			var se *ServerError
			if errors.As(err, &se) && se.Code == CodeLimitExceeded {
				// The server holds fewer than the plan says: learn it, and
				// place what it refused elsewhere.
				r := p.learn(m, c, ks, true)
				refused, from = append(refused, r...), m
				continue
			}
			if se != nil && c != nil {
				p.learn(m, c, ks, false) // refused keys give their room back
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
		placed = nil
		if len(refused) > 0 {
			p.mu.Lock()
			var perr error
			placed, perr = p.place(refused, from)
			p.mu.Unlock()
			if perr != nil {
				p.rollback(ctx, fresh)
				return perr
			}
		}
	}
	return firstErr
}

// learn releases from m the keys of ks its client no longer wants (the
// server refused them) and returns them; with capacity, it also records
// that m's server holds no more than it now has.
func (p *Pool) learn(m *member, c *WebSocketClient, ks []subKey, capacity bool) []subKey {
	held := map[subKey]bool{}
	for _, s := range c.Subscriptions() {
		held[subKey{s.Channel, s.Symbol, s.IntradayOddLot, s.AfterHours}] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var refused []subKey
	for _, k := range ks {
		if !held[k] && p.owner[k] == m {
			refused = append(refused, k)
			delete(p.owner, k)
			m.keys--
		}
	}
	if capacity {
		m.capacity = len(held)
	}
	return refused
}

// rollback takes back the keys one Subscribe placed.
func (p *Pool) rollback(ctx context.Context, keys []subKey) {
	p.mu.Lock()
	byMember := map[*member][]subKey{}
	clients := map[*member]*WebSocketClient{}
	for _, k := range keys {
		if m := p.owner[k]; m != nil {
			byMember[m] = append(byMember[m], k)
			clients[m] = m.c
			delete(p.owner, k)
			m.keys--
		}
	}
	p.mu.Unlock()
	for m, ks := range byMember {
		if c := clients[m]; c != nil {
			for _, r := range requestsFor(ks) {
				_ = c.Unsubscribe(ctx, r)
			}
		}
	}
}

// Unsubscribe drops the named subscriptions from the connections holding
// them. Naming nothing subscribed returns ErrNotSubscribed.
func (p *Pool) Unsubscribe(ctx context.Context, req SubscribeRequest) error {
	keys, err := req.keys()
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	byMember := map[*member][]subKey{}
	found := 0
	for _, k := range keys {
		if m := p.owner[k]; m != nil {
			byMember[m] = append(byMember[m], k)
			delete(p.owner, k)
			m.keys--
			found++
		} else if i := slices.Index(p.unplaced, k); i >= 0 {
			p.unplaced = slices.Delete(p.unplaced, i, i+1)
			found++
		}
	}
	if len(byMember) > 0 {
		p.placeWaitingLocked() // the room just freed
	}
	clients := map[*member]*WebSocketClient{}
	for m := range byMember {
		clients[m] = m.c
	}
	p.mu.Unlock()
	if found == 0 {
		return ErrNotSubscribed
	}
	var firstErr error
	for _, m := range sortedMembers(byMember) {
		c := clients[m]
		if c == nil {
			continue // placed, never opened: nothing was sent
		}
		if err := c.Unsubscribe(ctx, requestFor(req, byMember[m])); err != nil && !errors.Is(err, ErrNotSubscribed) && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// Shard is one connection slot of a pool as Shards reports it.
type Shard struct {
	Index     int  // the slot, 0 for the first
	Open      bool // a connection was opened for it
	Capacity  int  // subscriptions it can hold: the plan's, or what its server showed
	Used      int  // subscriptions placed on it
	Conn      uint64
	Subs      []Subscription // where each key lives, with its server state
	Connected bool
}

// Shards reports every connection slot: how full it is and which
// subscriptions live on it.
func (p *Pool) Shards() []Shard {
	p.mu.Lock()
	clients := p.clientsLocked()
	shards := make([]Shard, len(p.members))
	for i, m := range p.members {
		shards[i] = Shard{Index: m.index, Open: m.c != nil, Capacity: m.capacity, Used: m.keys}
	}
	p.mu.Unlock()
	for i, c := range clients {
		if c == nil {
			continue
		}
		shards[i].Subs = c.Subscriptions()
		shards[i].Connected = c.State() == StateConnected
		if s := c.liveSession(); s != nil {
			shards[i].Conn = s.seq
		}
	}
	return shards
}

// Subscriptions lists every wanted subscription of every connection.
func (p *Pool) Subscriptions() []Subscription {
	var out []Subscription
	for _, sh := range p.Shards() {
		out = append(out, sh.Subs...)
	}
	sort.Slice(out, func(i, j int) bool { return lessSub(out[i], out[j]) })
	return out
}

// Trades delivers trades from every connection.
func (p *Pool) Trades() <-chan Trade { return p.trades.ch }

// Candles delivers candles from every connection.
func (p *Pool) Candles() <-chan Candle { return p.candles.ch }

// Books delivers order books from every connection.
func (p *Pool) Books() <-chan Book { return p.books.ch }

// Aggregates delivers aggregates from every connection.
func (p *Pool) Aggregates() <-chan Aggregate { return p.aggregates.ch }

// Indices delivers index values from every connection.
func (p *Pool) Indices() <-chan Index { return p.indices.ch }

// Events delivers every connection's events.
func (p *Pool) Events() <-chan Event { return p.events.ch }

// Messages is the ordered stream of every connection, with Ordered set in
// the template: each connection's values in wire order.
func (p *Pool) Messages() <-chan Message { return p.messages.ch }

// Next returns the next message of the ordered stream; see
// WebSocketClient.Next.
func (p *Pool) Next(ctx context.Context) (Message, error) {
	if !p.opt.Client.Ordered {
		return nil, ErrNotOrdered
	}
	return nextMessage(ctx, p.messages.ch, p.Err)
}

// All iterates over the ordered stream until the pool ends.
func (p *Pool) All() iter.Seq[Message] {
	if !p.opt.Client.Ordered {
		return func(func(Message) bool) {}
	}
	return allMessages(p.messages.ch)
}

// Stats sums the counters of every connection over the shared channels.
func (p *Pool) Stats() Stats {
	var st Stats
	p.mu.Lock()
	clients := p.clientsLocked()
	p.mu.Unlock()
	for _, c := range clients {
		if c != nil {
			s := c.Stats()
			st.Malformed += s.Malformed
			st.Connections += s.Connections
			st.Reconnects += s.Reconnects
			st.Duplicates += s.Duplicates
		}
	}
	p.outlets.stats(&st)
	return st
}

// Done is closed when the pool has ended.
func (p *Pool) Done() <-chan struct{} { return p.done }

// Err says why the pool ended on its own (a connection's final error);
// nil while it runs and after Close.
func (p *Pool) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close closes every connection in order, then every channel. It is
// idempotent and safe from any goroutine.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	for _, m := range p.members {
		if m.timer != nil {
			m.timer.Stop()
		}
	}
	clients := p.clientsLocked()
	p.mu.Unlock()
	p.cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(clients))
	for i, c := range clients {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Close()
		}()
	}
	wg.Wait()
	p.watchers.Wait()
	p.endOnce.Do(func() {
		p.outlets.close()
		close(p.done)
	})
	return errors.Join(errs...)
}

// clientsLocked is every slot's client (nil when not open), by index.
// Called with p.mu held.
func (p *Pool) clientsLocked() []*WebSocketClient {
	out := make([]*WebSocketClient, len(p.members))
	for i, m := range p.members {
		out[i] = m.c
	}
	return out
}

// requestFor is req narrowed to keys (which share its channel and
// modifiers).
func requestFor(req SubscribeRequest, keys []subKey) SubscribeRequest {
	r := SubscribeRequest{Channel: req.Channel, IntradayOddLot: req.IntradayOddLot, AfterHours: req.AfterHours}
	for _, k := range keys {
		r.Symbols = append(r.Symbols, k.symbol)
	}
	return r
}

// requestsFor groups keys into one request per channel and modifiers.
func requestsFor(keys []subKey) []SubscribeRequest {
	by := map[group][]string{}
	var order []group
	for _, k := range keys {
		g := k.group()
		if _, ok := by[g]; !ok {
			order = append(order, g)
		}
		by[g] = append(by[g], k.symbol)
	}
	out := make([]SubscribeRequest, 0, len(order))
	for _, g := range order {
		out = append(out, SubscribeRequest{Channel: g.channel, Symbols: by[g], IntradayOddLot: g.oddLot, AfterHours: g.afterHours})
	}
	return out
}

func sortedMembers[V any](m map[*member]V) []*member {
	out := make([]*member, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// Rebalance spreads the subscriptions evenly over the connections that are
// up, opening the plan's other connections if needed. Each key that moves
// is unsubscribed from its connection, then subscribed on the new one, so
// it is never on two at once; a KeysMoved event marks where its values may
// have a gap. Keys never move on their own except by failover.
func (p *Pool) Rebalance(ctx context.Context) error {
	for _, m := range p.members {
		if _, err := p.open(ctx, m); err != nil {
			return err
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	// Close waits for it: nothing is emitted after the channels close.
	p.watchers.Add(1)
	defer p.watchers.Done()
	var up []*member
	total := 0
	for _, m := range p.members {
		if !m.down && !m.failed {
			up = append(up, m)
			total += m.keys
		}
	}
	if len(up) < 2 {
		p.mu.Unlock()
		return nil
	}
	target := (total + len(up) - 1) / len(up)
	byMember := map[*member][]subKey{}
	for k, m := range p.owner {
		byMember[m] = append(byMember[m], k)
	}
	type move struct {
		from, to *member
		fc, tc   *WebSocketClient
		keys     []subKey
	}
	var moves []move
	for _, from := range up {
		ks := byMember[from]
		sortKeys(ks)
		for from.keys > target {
			var to *member
			for _, o := range up {
				if o.keys < target && o.room() > 0 {
					to = o
					break
				}
			}
			if to == nil {
				break
			}
			k := ks[len(ks)-1]
			ks = ks[:len(ks)-1]
			from.keys--
			to.keys++
			p.owner[k] = to
			if n := len(moves); n > 0 && moves[n-1].from == from && moves[n-1].to == to {
				moves[n-1].keys = append(moves[n-1].keys, k)
			} else {
				moves = append(moves, move{from, to, from.c, to.c, []subKey{k}})
			}
		}
	}
	p.mu.Unlock()
	var firstErr error
	for _, mv := range moves {
		p.outlets.emit(KeysMoved{From: mv.from.index, To: mv.to.index, Subscriptions: subscriptionsOf(mv.keys)})
		for _, r := range requestsFor(mv.keys) {
			if err := mv.fc.Unsubscribe(ctx, r); err != nil && !errors.Is(err, ErrNotSubscribed) && firstErr == nil {
				firstErr = err
			}
			if err := mv.tc.Subscribe(ctx, r); err != nil && firstErr == nil {
				firstErr = err
				var se *ServerError
				if errors.As(err, &se) {
					ks, _ := r.keys()
					p.learn(mv.to, mv.tc, ks, se.Code == CodeLimitExceeded)
				}
			}
		}
	}
	return firstErr
}
