package natsbus

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidwall/gjson"
)

// outbox publishes the gateway's messages to JetStream in the order they
// were handed in, and keeps that order when publishes fail. Publishes are
// pipelined (up to window unacknowledged), and acks may come back in any
// order; when one fails (the connection dropped, no stream leader during
// an election, a timeout), nothing more is sent until every publish in
// flight has been answered, and then every one not acknowledged is sent
// again, in order, before anything newer. Frames that did reach the stream
// the first time come back as duplicates of their message id and are
// dropped by JetStream, so each is stored once, and a frame never overtakes
// an older one that failed.
//
// It publishes with core NATS and reads the acks on a reply subscription
// of its own, rather than through nats.go's asynchronous JetStream
// publisher: that one arms a timer per publish and retries out of order,
// and its reconnect watcher can outlive CleanupPublisher. Everything the
// outbox opens, close takes down.
type outbox struct {
	g *Gateway

	sub    *nats.Subscription // the acks
	prefix string             // reply subject of publish n: prefix + n
	status chan nats.Status   // RECONNECTING: what is pending will not be answered

	// A frame's header, filled in for each publish (PublishMsg writes it
	// out before returning), so that frames carry no map of their own.
	hdr      nats.Header
	hdrID    []string
	hdrAt    []string
	atDigits []byte

	mu      sync.Mutex
	next    uint64            // id of the next publish
	queue   []*entry          // handed in, not sent yet
	flight  []*entry          // sent, in order; acknowledged ones trimmed from the front
	pending map[uint64]*entry // sent and not answered yet, by publish id
	broken  bool              // a publish failed: go back once pending is empty
	closing bool              // Close began: what is queued is the last
	wake    chan struct{}     // capacity 1: the sender has something to look at
	room    chan struct{}     // capacity 1: the queue shrank
	done    chan struct{}     // the sender returned
	noWait  atomic.Bool       // Close began: push no longer holds the Fugle reader back
}

type entry struct {
	subject  string
	data     []byte
	msgID    string          // Nats-Msg-Id
	at       int64           // Unix ns the gateway read the frame (Fugle-Received)
	header   nats.Header     // a gap marker's whole header; nil for a frame
	id       uint64          // of the latest publish
	m        *productMetrics // its product's counters
	sent     time.Time
	acked    bool
	attempts int
}

const (
	outboxWindow   = 4096 // publishes in flight
	outboxStall    = 250 * time.Millisecond
	outboxTimeout  = 3 * time.Second       // an ack not back by then failed
	outboxCapacity = 1 << 18               // frames held while NATS is away; beyond, frames are lost (counted)
	outboxHigh     = 2 * outboxWindow      // queued frames past which push waits, while NATS is up
	outboxAttempts = 100                   // failed publishes of one frame before it is given up on
	outboxPoll     = 50 * time.Millisecond // the sender's longest sleep (a reconnect sends no signal)
)

func newOutbox(g *Gateway) *outbox {
	o := &outbox{
		g:       g,
		pending: map[uint64]*entry{},
		wake:    make(chan struct{}, 1),
		room:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		hdrID:   []string{""},
		hdrAt:   []string{""},
	}
	o.hdr = nats.Header{jetstream.MsgIDHeader: o.hdrID, headerReceived: o.hdrAt}
	return o
}

// open subscribes to the acks; run must not start before it returns.
func (o *outbox) open() error {
	o.prefix = o.g.nc.NewInbox() + "."
	sub, err := o.g.nc.Subscribe(o.prefix+"*", o.reply)
	if err != nil {
		return err
	}
	o.sub = sub
	o.status = o.g.nc.StatusChanged(nats.RECONNECTING)
	return nil
}

// shut takes down what open set up, once the sender returned.
func (o *outbox) shut() {
	if o.sub != nil {
		_ = o.sub.Unsubscribe()
		o.g.nc.RemoveStatusListener(o.status)
	}
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// push hands a message to the outbox. While NATS is connected but stores
// more slowly than frames come, it waits for the queue to shrink, holding
// the Fugle reader back (the socket's own flow control then slows the
// server) rather than losing frames; while NATS is away it holds up to
// outboxCapacity frames without waiting, so a restart does not stall the
// Fugle connection.
func (o *outbox) push(e *entry) {
	o.mu.Lock()
	for len(o.queue) >= outboxHigh && !o.closing && !o.noWait.Load() && o.g.nc.IsConnected() {
		o.mu.Unlock()
		t := time.NewTimer(20 * time.Millisecond) // a disconnect sends no signal
		select {
		case <-o.room:
		case <-t.C:
		}
		t.Stop()
		o.mu.Lock()
	}
	if o.closing || len(o.queue)+len(o.flight) >= outboxCapacity {
		o.mu.Unlock()
		o.g.lose(e, "the outbox is full or closed")
		return
	}
	o.queue = append(o.queue, e)
	o.mu.Unlock()
	o.signal()
}

// reply reads JetStream's answer to publish id: an ack, an error, or a
// no-responders status (no stream leader, during an election).
func (o *outbox) reply(m *nats.Msg) {
	if len(m.Subject) <= len(o.prefix) {
		return
	}
	id, err := strconv.ParseUint(m.Subject[len(o.prefix):], 10, 64)
	if err != nil {
		return
	}
	r := gjson.ParseBytes(m.Data)
	if len(m.Data) == 0 || r.Get("error").Exists() || r.Get("stream").Str == "" {
		o.failed(id)
		return
	}
	o.acked(id, r.Get("duplicate").Bool())
}

func (o *outbox) acked(id uint64, duplicate bool) {
	o.mu.Lock()
	e := o.pending[id]
	if e == nil {
		o.mu.Unlock()
		return
	}
	delete(o.pending, id)
	e.acked = true
	i := 0
	for i < len(o.flight) && o.flight[i].acked {
		o.flight[i] = nil
		i++
	}
	o.flight = o.flight[i:]
	o.mu.Unlock()
	o.signal()
	o.g.stored(e, duplicate)
}

// failed runs for a publish that was not acknowledged.
func (o *outbox) failed(id uint64) {
	o.mu.Lock()
	e := o.pending[id]
	if e != nil {
		delete(o.pending, id)
		o.broken = true
	}
	o.mu.Unlock()
	if e != nil {
		e.m.publishErrors.Inc()
		o.signal()
	}
}

// failPendingLocked gives up on every publish still unanswered: the
// connection dropped, or the oldest waited past outboxTimeout. Acks that
// come later find nothing pending; the resends are duplicates of any
// that did reach the stream.
func (o *outbox) failPendingLocked() {
	for id, e := range o.pending {
		delete(o.pending, id)
		e.m.publishErrors.Inc()
	}
	o.broken = true
}

// expiredLocked reports whether the oldest unanswered publish waited
// past outboxTimeout.
func (o *outbox) expiredLocked(now time.Time) bool {
	if len(o.pending) == 0 {
		return false
	}
	for _, e := range o.flight {
		if o.pending[e.id] == e {
			return now.Sub(e.sent) > outboxTimeout
		}
	}
	return false
}

// goBackLocked puts every unacknowledged sent entry back at the head of
// the queue, in order, once none is pending.
func (o *outbox) goBackLocked() {
	back := make([]*entry, 0, len(o.flight)+len(o.queue))
	for _, e := range o.flight {
		if e.acked {
			continue
		}
		if e.attempts++; e.attempts >= outboxAttempts {
			o.g.lose(e, "every publish attempt failed")
			continue
		}
		back = append(back, e)
	}
	o.queue = append(back, o.queue...)
	o.flight = o.flight[:0]
	o.broken = false
}

// run is the only sender.
func (o *outbox) run() {
	defer close(o.done)
	poll := time.NewTimer(outboxPoll)
	defer poll.Stop()
	retryPause := time.Duration(0)
	lost := false // RECONNECTING was reported: nothing pending will be answered
	for {
		if !lost {
			select {
			case <-o.status:
				lost = true
			default:
			}
		}
		o.mu.Lock()
		if lost || o.expiredLocked(time.Now()) {
			o.failPendingLocked()
		}
		lost = false
		if o.broken && len(o.pending) == 0 {
			o.goBackLocked()
			retryPause = 20 * time.Millisecond // let an election or a reconnect settle
		}
		idle := len(o.queue) == 0 && len(o.pending) == 0
		if idle && o.closing {
			o.mu.Unlock()
			return
		}
		var batch []*entry
		stalled := len(o.flight) > 0 && time.Since(o.flight[0].sent) > outboxStall
		if !o.broken && !stalled && o.g.nc.IsConnected() && retryPause == 0 {
			n := min(len(o.queue), outboxWindow-len(o.pending))
			batch = append(batch, o.queue[:n]...)
			clear(o.queue[:n])
			o.queue = o.queue[n:]
			if n > 0 {
				select {
				case o.room <- struct{}{}:
				default:
				}
			}
			now := time.Now()
			for _, e := range batch {
				o.next++
				e.id, e.sent = o.next, now
				o.flight = append(o.flight, e)
				o.pending[e.id] = e
			}
		}
		o.mu.Unlock()
		if retryPause > 0 {
			time.Sleep(retryPause)
			retryPause = 0
			continue
		}
		if len(batch) == 0 {
			lost = o.wait(poll)
			continue
		}
		o.send(batch)
	}
}

// wait sleeps until there is news, or for outboxPoll at most (a reconnect
// sends no signal); it reports whether RECONNECTING woke it.
func (o *outbox) wait(poll *time.Timer) bool {
	poll.Reset(outboxPoll) // since Go 1.23, no stale tick survives a Reset
	defer poll.Stop()
	select {
	case <-o.wake:
	case <-o.status:
		return true
	case <-poll.C:
	}
	return false
}

// send publishes batch in order. After a publish that could not even be
// sent, the rest are not sent (they could reach the stream ahead of it):
// they count as failed and go back with it.
func (o *outbox) send(batch []*entry) {
	var m nats.Msg // PublishMsg copies it out before returning
	reply := []byte(o.prefix)
	for i, e := range batch {
		reply = strconv.AppendUint(reply[:len(o.prefix)], e.id, 10)
		m.Subject, m.Reply, m.Header, m.Data = e.subject, string(reply), e.header, e.data
		if e.header == nil {
			o.atDigits = strconv.AppendInt(o.atDigits[:0], e.at, 10)
			o.hdrID[0], o.hdrAt[0] = e.msgID, string(o.atDigits)
			m.Header = o.hdr
		}
		if err := o.g.nc.PublishMsg(&m); err != nil {
			o.mu.Lock()
			for _, r := range batch[i:] {
				delete(o.pending, r.id)
			}
			o.broken = true
			o.mu.Unlock()
			e.m.publishErrors.Inc()
			return
		}
	}
}

// release stops push from waiting, so that closing the pools (whose
// readers may be in push) cannot wait on a NATS server that stopped
// acknowledging.
func (o *outbox) release() {
	o.noWait.Store(true)
	select {
	case o.room <- struct{}{}:
	default:
	}
}

// close lets the sender finish what is queued and in flight, for up to
// timeout; what is left then is counted lost.
func (o *outbox) close(timeout time.Duration) bool {
	o.mu.Lock()
	o.closing = true
	o.mu.Unlock()
	o.signal()
	select {
	case <-o.done:
		return true
	case <-time.After(timeout):
	}
	o.mu.Lock()
	left := append(append([]*entry(nil), o.queue...), o.flight...)
	o.queue, o.flight = nil, nil
	clear(o.pending)
	o.broken = false
	o.mu.Unlock()
	for _, e := range left {
		if !e.acked {
			o.g.lose(e, "the gateway closed before NATS acknowledged it")
		}
	}
	<-o.done
	return false
}
