package natsbus

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
type outbox struct {
	g    *Gateway
	opts []jetstream.PublishOpt

	mu      sync.Mutex
	queue   []*entry             // handed in, not sent yet
	flight  []*entry             // sent, in order; acknowledged ones trimmed from the front
	pending map[*nats.Msg]*entry // sent and not answered yet
	broken  bool                 // a publish failed: go back once pending is empty
	closing bool                 // Close began: what is queued is the last
	wake    chan struct{}        // capacity 1: the sender has something to look at
	room    chan struct{}        // capacity 1: the queue shrank
	done    chan struct{}        // the sender returned
	noWait  atomic.Bool          // Close began: push no longer holds the Fugle reader back
}

type entry struct {
	msg      *nats.Msg
	product  string
	m        *productMetrics
	sent     time.Time
	acked    bool
	attempts int
}

const (
	outboxWindow   = 4096 // publishes in flight
	outboxStall    = 250 * time.Millisecond
	outboxTimeout  = 3 * time.Second  // an ack not back by then failed
	outboxCapacity = 1 << 18          // frames held while NATS is away; beyond, frames are lost (counted)
	outboxHigh     = 2 * outboxWindow // queued frames past which push waits, while NATS is up
	outboxAttempts = 100              // failed publishes of one frame before it is given up on
)

func newOutbox(g *Gateway) *outbox {
	return &outbox{
		g: g,
		// nats.go's own retry re-sends a publish on a timer, after newer
		// ones: the outbox retries instead, in order.
		opts:    []jetstream.PublishOpt{jetstream.WithRetryAttempts(0), jetstream.WithStallWait(time.Second)},
		pending: map[*nats.Msg]*entry{},
		wake:    make(chan struct{}, 1),
		room:    make(chan struct{}, 1),
		done:    make(chan struct{}),
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
func (o *outbox) push(m *nats.Msg, product string) {
	e := &entry{msg: m, product: product, m: o.g.products[product]}
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

// acked runs on nats.go's ack goroutine.
func (o *outbox) acked(m *nats.Msg, ack *jetstream.PubAck) {
	o.mu.Lock()
	e := o.pending[m]
	if e == nil {
		o.mu.Unlock()
		return
	}
	delete(o.pending, m)
	e.acked = true
	i := 0
	for i < len(o.flight) && o.flight[i].acked {
		o.flight[i] = nil
		i++
	}
	o.flight = o.flight[i:]
	o.mu.Unlock()
	o.signal()
	o.g.stored(e, ack)
}

// failed runs for a publish that was not acknowledged.
func (o *outbox) failed(m *nats.Msg, err error) {
	o.mu.Lock()
	e := o.pending[m]
	if e != nil {
		delete(o.pending, m)
		o.broken = true
	}
	o.mu.Unlock()
	if e != nil {
		e.m.publishErrors.Inc()
		o.signal()
	}
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
	retryPause := time.Duration(0)
	for {
		o.mu.Lock()
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
				e.sent = now
				o.flight = append(o.flight, e)
				o.pending[e.msg] = e
			}
		}
		o.mu.Unlock()
		if retryPause > 0 {
			time.Sleep(retryPause)
			retryPause = 0
			continue
		}
		if len(batch) == 0 {
			o.wait()
			continue
		}
		o.send(batch)
	}
}

// wait sleeps until there is news, or briefly while NATS is disconnected
// (a reconnect sends no signal).
func (o *outbox) wait() {
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	select {
	case <-o.wake:
	case <-t.C:
	}
}

// send publishes batch in order. After a publish that could not even be
// sent, the rest are not sent (they could reach the stream ahead of it):
// they count as failed and go back with it.
func (o *outbox) send(batch []*entry) {
	for i, e := range batch {
		if _, err := o.g.js.PublishMsgAsync(e.msg, o.opts...); err != nil {
			o.mu.Lock()
			for _, r := range batch[i:] {
				delete(o.pending, r.msg)
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

// receivedAt reads the Fugle-Received header.
func receivedAt(m *nats.Msg) (time.Time, bool) {
	ns, err := strconv.ParseInt(m.Header.Get(headerReceived), 10, 64)
	return time.Unix(0, ns), err == nil
}
