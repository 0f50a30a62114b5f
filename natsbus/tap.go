package natsbus

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/messages"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// tap sees every frame of one product's Fugle connections, on their
// reader and supervisor goroutines, and republishes the data frames as
// they are. It learns from the acks which subscription an envelope id
// stands for (data frames carry no modifiers) and which keys each
// connection carries, so that when a connection ends it can mark a gap on
// every key it carried, after that connection's last frame.
type tap struct {
	g       *Gateway
	product string
	m       *productMetrics
	next    marketdata.FrameTap // the user's own tap, if any

	mu    sync.Mutex
	conns map[uint64]*connTap
	open  map[Key]openGap // gaps started and not yet ended
}

type openGap struct {
	since time.Time
}

type connTap struct {
	mu     sync.Mutex
	dec    *messages.Decoder
	ids    map[string]mods  // envelope id -> the modifiers of its subscription
	routes map[string]route // envelope id -> where its last frame went
	keys   map[Key]bool     // keys acked on this connection
	acks   []messages.Ack
}

// route is the subject of a subscription's frames, kept so that a frame
// costs no key check or subject building.
type route struct {
	channel         messages.Channel
	symbol, subject string
}

type mods struct{ oddLot, afterHours bool }

func newTap(g *Gateway, product string, next marketdata.FrameTap) *tap {
	return &tap{g: g, product: product, m: g.products[product], next: next, conns: map[uint64]*connTap{}, open: map[Key]openGap{}}
}

func (t *tap) Opened(conn uint64, at time.Time, url string) {
	t.mu.Lock()
	t.conns[conn] = &connTap{dec: messages.NewDecoder(), ids: map[string]mods{}, routes: map[string]route{}, keys: map[Key]bool{}}
	t.mu.Unlock()
	if t.next != nil {
		t.next.Opened(conn, at, url)
	}
}

func (t *tap) conn(conn uint64) *connTap {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns[conn]
}

func (t *tap) Frame(dir marketdata.FrameDirection, conn uint64, at time.Time, frame []byte) {
	if t.next != nil {
		t.next.Frame(dir, conn, at, frame)
	}
	if dir != marketdata.FrameIn {
		return
	}
	c := t.conn(conn)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := c.dec.Frame(frame)
	if err != nil {
		return // the client reports it; nothing to route
	}
	switch f.Kind {
	case messages.KindData, messages.KindSnapshot:
		symbol := f.Data.Get("symbol").String()
		r, ok := c.routes[f.ID]
		if !ok || r.channel != f.Channel || r.symbol != symbol {
			m := c.ids[f.ID]
			k := Key{Product: t.product, Channel: f.Channel, Symbol: symbol, IntradayOddLot: m.oddLot, AfterHours: m.afterHours}
			if k.check() != nil {
				t.m.unroutable.Inc()
				return
			}
			r = route{channel: f.Channel, symbol: symbol, subject: k.Subject(t.g.opt.Prefix)}
			c.routes[f.ID] = r
		}
		t.m.framesIn.Inc()
		t.g.out.push(&entry{subject: r.subject, data: append([]byte(nil), frame...),
			msgID: msgID(f.Kind, f.Channel, f.Data.Raw), at: at.UnixNano(), m: t.m})
	case messages.KindSubscribed:
		acks, err := c.dec.Acks(&f, c.acks[:0])
		if err != nil {
			return
		}
		c.acks = acks
		for _, a := range acks {
			k := t.keyOf(a)
			c.ids[a.ID] = mods{a.IntradayOddLot, a.AfterHours}
			delete(c.routes, a.ID)
			c.keys[k] = true
			t.ended(k, conn, at)
		}
	case messages.KindUnsubscribed:
		acks, err := c.dec.Acks(&f, c.acks[:0])
		if err != nil {
			return
		}
		c.acks = acks
		for _, a := range acks {
			k := t.keyOf(a)
			delete(c.keys, k)
			t.mu.Lock()
			delete(t.open, k)
			t.mu.Unlock()
		}
	}
}

// keyOf is the key an ack stands for.
func (t *tap) keyOf(a messages.Ack) Key {
	return Key{Product: t.product, Channel: a.Channel, Symbol: a.Symbol, IntradayOddLot: a.IntradayOddLot, AfterHours: a.AfterHours}
}

// Closed marks a gap on every key the connection carried. It runs once
// the connection's reader has returned, so the markers follow the
// connection's last data frame on every key's subject.
func (t *tap) Closed(conn uint64, at time.Time, code int, reason string) {
	if t.next != nil {
		t.next.Closed(conn, at, code, reason)
	}
	t.mu.Lock()
	c := t.conns[conn]
	delete(t.conns, conn)
	t.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.keys {
		t.mu.Lock()
		if _, open := t.open[k]; !open {
			t.open[k] = openGap{since: at}
		}
		t.mu.Unlock()
		t.g.publishMarker(k, markerGapStart, marker{Conn: conn, Code: code, Reason: reason}, at)
	}
}

// reopen records a gap of k that started at since, before this gateway
// held k, for the next ack of k to end.
func (t *tap) reopen(k Key, since time.Time) {
	t.mu.Lock()
	if _, open := t.open[k]; !open {
		t.open[k] = openGap{since: since}
	}
	t.mu.Unlock()
}

// ended closes k's gap, if one is open, with a marker ahead of the first
// frame of k on its new connection.
func (t *tap) ended(k Key, conn uint64, at time.Time) {
	t.mu.Lock()
	g, open := t.open[k]
	delete(t.open, k)
	t.mu.Unlock()
	if open {
		t.g.publishMarker(k, markerGapEnd, marker{Conn: conn, DowntimeMS: at.Sub(g.since).Milliseconds()}, at)
	}
}

// msgID names a frame by its content, so that the same frame read by two
// gateways, or read again after a restart, gets the same id and JetStream
// keeps one copy. The envelope is left out: its subscription id differs
// from one connection to the next.
func msgID(kind messages.Kind, channel messages.Channel, data string) string {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(channel); i++ {
		h = (h ^ uint64(channel[i])) * prime
	}
	for i := 0; i < len(data); i++ {
		h = (h ^ uint64(data[i])) * prime
	}
	var b [24]byte
	out := strconv.AppendUint(b[:0], h, 36)
	out = append(out, '-')
	out = strconv.AppendInt(out, int64(len(data)), 36)
	return string(out)
}

func markerMsg(prefix, gateway string, k Key, kind string, m marker, at time.Time) *nats.Msg {
	m.Gateway = gateway
	m.Time = at.UnixMicro()
	body, _ := json.Marshal(m)
	id := gateway + "-" + kind + "-" + strconv.FormatUint(m.Conn, 10) + "-" + k.Subject(prefix)
	return &nats.Msg{Subject: k.Subject(prefix), Data: body, Header: nats.Header{
		jetstream.MsgIDHeader: {id},
		headerMarker:          {kind},
		headerGateway:         {gateway},
		headerReceived:        {strconv.FormatInt(at.UnixNano(), 10)},
	}}
}
