package main

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
)

// The frame mix, in percent: the three busiest channels of a trading day.
const (
	mixTrades     = 50
	mixBooks      = 30
	mixAggregates = 20
)

// poolFrames is how many distinct frames a pool holds before the stream
// cycles through it again: enough to spread over every symbol of the memory
// run while keeping the pool a few megabytes.
const poolFrames = 8192

// frame is one pre-framed WebSocket message inside a pool's buffer.
type frame struct {
	start, end int    // the frame's bytes, header included, in pool.buf
	payload    int    // the message's size without its header
	serial     int    // offset of the fixed-width "serial" digits in pool.buf, or -1
	trades     bool   // the trades channel
	key        string // channel ":" symbol: the subscription that gets it
}

// pool is a set of pre-framed server-to-client text messages laid out back to
// back, so that a stream is a few large writes of bytes that already exist.
// Only the digits of each "serial" are rewritten as the stream goes.
type pool struct {
	buf    []byte
	frames []frame
	width  int // digits of every serial field
}

// subscription is one channel and the symbols wanted on it.
type subscription struct {
	Channel string   `json:"channel"`
	Symbols []string `json:"symbols"`
}

// workload is what a client subscribes to and the frames the endpoint
// streams for it.
type workload struct {
	subs []subscription
	pool *pool
}

// subscriptionCount is the number of (channel, symbol) pairs of w.
func (w *workload) subscriptionCount() int {
	n := 0
	for _, s := range w.subs {
		n += len(s.Symbols)
	}
	return n
}

// subKey names one subscription: channel and symbol.
func subKey(channel, symbol string) string { return channel + ":" + symbol }

// part is the pool of the frames of p whose subscription is in keys, in
// their order in p, copied back to back (serial offsets moved with them),
// and owned, which of p's frames went into it.
func (p *pool) part(keys map[string]bool) (*pool, []bool) {
	q := &pool{width: p.width}
	owned := make([]bool, len(p.frames))
	for i, fr := range p.frames {
		if !keys[fr.key] {
			continue
		}
		owned[i] = true
		shift := len(q.buf) - fr.start
		q.buf = append(q.buf, p.buf[fr.start:fr.end]...)
		nf := fr
		nf.start, nf.end = fr.start+shift, fr.end+shift
		if fr.serial >= 0 {
			nf.serial = fr.serial + shift
		}
		q.frames = append(q.frames, nf)
	}
	return q, owned
}

// routedFrames is how many of the first n frames of a stream cycling
// through a pool fall on the pool's frames marked in owned: what a
// connection subscribed to those frames' keys receives of n.
func routedFrames(n int, owned []bool) int {
	if len(owned) == 0 {
		return 0
	}
	per, rest := 0, 0
	for i, o := range owned {
		if o {
			per++
			if i < n%len(owned) {
				rest++
			}
		}
	}
	return n/len(owned)*per + rest
}

// symbolList returns n four-digit stock codes.
func symbolList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(1101 + i)
	}
	return out
}

// subscriptionID is the id the endpoint gives a (channel, symbol): derived,
// so that acks and data frames agree without shared state.
func subscriptionID(channel, symbol string) string {
	h := fnv.New64a()
	h.Write([]byte(channel + ":" + symbol))
	return strconv.FormatUint(h.Sum64(), 36)
}

// newWorkload builds the subscriptions and the frame pool. With split false
// every symbol is wanted on all three channels (the throughput and latency
// runs: 3 × symbols subscriptions). With split true each symbol is wanted on
// one channel in the proportions of the mix, so that symbols subscriptions
// spread over the three channels (the memory run). serialWidth is the width
// of every serial field: 9 digits for a sequence number, 19 for a
// nanosecond timestamp.
func newWorkload(symbols []string, split bool, serialWidth int) *workload {
	bySub := map[string][]string{}
	if split {
		for i, s := range symbols {
			bySub[channelFor(i%100)] = append(bySub[channelFor(i%100)], s)
		}
	} else {
		for _, ch := range []string{"trades", "books", "aggregates"} {
			bySub[ch] = symbols
		}
	}
	w := &workload{}
	for _, ch := range []string{"trades", "books", "aggregates"} {
		if len(bySub[ch]) > 0 {
			w.subs = append(w.subs, subscription{Channel: ch, Symbols: bySub[ch]})
		}
	}

	rng := rand.New(rand.NewPCG(2330, 2317))
	p := &pool{width: serialWidth}
	next := map[string]int{} // round-robin position per channel, so every symbol appears
	for i := 0; i < poolFrames; i++ {
		ch := channelFor(rng.IntN(100))
		syms := bySub[ch]
		sym := syms[next[ch]%len(syms)]
		next[ch]++
		p.add(ch, sym, i, rng)
	}
	w.pool = p
	return w
}

func channelFor(pct int) string {
	switch {
	case pct < mixTrades:
		return "trades"
	case pct < mixTrades+mixBooks:
		return "books"
	default:
		return "aggregates"
	}
}

// serialMark stands for the serial's digits in a payload template.
const serialMark = "\x00"

// add appends one data frame for channel and symbol, with prices varying
// around a per-symbol base. The payloads are the samples of protocol.md §5.
func (p *pool) add(channel, symbol string, i int, rng *rand.Rand) {
	code, _ := strconv.Atoi(symbol)
	base := float64(20 + code%900)
	tick := float64(rng.IntN(20)-10) * 0.5
	price := base + tick
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	t := 1685338200000000 + int64(i)*1000
	levels := func(from float64, step float64) string {
		s := ""
		for k := 0; k < 5; k++ {
			if k > 0 {
				s += ","
			}
			s += fmt.Sprintf(`{"price":%s,"size":%d}`, f(from+float64(k)*step), 50+rng.IntN(4000))
		}
		return s
	}
	var data string
	switch channel {
	case "trades":
		data = fmt.Sprintf(`{"symbol":%q,"type":"EQUITY","exchange":"TWSE","market":"TSE","bid":%s,"ask":%s,"price":%s,"size":%d,"volume":%d,"isClose":true,"time":%d,"serial":%s}`,
			symbol, f(price-0.5), f(price), f(price), 1+rng.IntN(5000), 10000+i*7, t, serialMark)
	case "books":
		data = fmt.Sprintf(`{"symbol":%q,"type":"EQUITY","exchange":"TWSE","market":"TSE","bids":[%s],"asks":[%s],"time":%d}`,
			symbol, levels(price-0.5, -0.5), levels(price, 0.5), t)
	case "aggregates":
		data = fmt.Sprintf(`{"date":"2023-05-29","type":"EQUITY","exchange":"TWSE","market":"TSE","symbol":%q,"name":"台積電","referencePrice":%s,"previousClose":%s,"openPrice":%s,"openTime":1685322000049353,"highPrice":%s,"highTime":1685322000049353,"lowPrice":%s,"lowTime":1685327142152580,"closePrice":%s,"closeTime":%d,"avgPrice":%s,"change":2,"changePercent":0.35,"amplitude":1.77,"lastPrice":%s,"lastSize":%d,"bids":[%s],"asks":[%s],"total":{"tradeValue":31019803000,"tradeVolume":%d,"tradeVolumeAtBid":19853,"tradeVolumeAtAsk":27900,"transaction":9530,"time":%d},"lastTrade":{"bid":%s,"ask":%s,"price":%s,"size":4778,"time":%d,"serial":6652422},"lastTrial":{"bid":%s,"ask":%s,"price":%s,"size":4772,"time":1685338196400347,"serial":6651941},"isClose":true,"serial":%s,"lastUpdated":%d}`,
			symbol, f(base), f(base), f(base+4), f(base+4), f(base-2), f(price), t, f(price+0.77), f(price), 1+rng.IntN(5000),
			levels(price-0.5, -0.5), levels(price, 0.5), 54538+i*7, t, f(price-0.5), f(price), f(price), t, f(price-0.5), f(price), f(price), serialMark, t)
	}
	payload := fmt.Sprintf(`{"event":"data","data":%s,"id":%q,"channel":%q}`, data, subscriptionID(channel, symbol), channel)

	fr := frame{start: len(p.buf), serial: -1, trades: channel == "trades", key: subKey(channel, symbol)}
	at := -1
	for k := 0; k < len(payload); k++ {
		if payload[k] == serialMark[0] {
			at = k
			break
		}
	}
	size := len(payload)
	if at >= 0 {
		size += p.width - 1
	}
	fr.payload = size
	p.buf = appendFrameHeader(p.buf, size)
	if at >= 0 {
		p.buf = append(p.buf, payload[:at]...)
		fr.serial = len(p.buf)
		p.buf = putSerial(append(p.buf, make([]byte, p.width)...), fr.serial, p.width, int64(i))
		p.buf = append(p.buf, payload[at+1:]...)
	} else {
		p.buf = append(p.buf, payload...)
	}
	fr.end = len(p.buf)
	p.frames = append(p.frames, fr)
}

// appendFrameHeader appends the header of an unmasked, final text frame of
// size payload bytes (RFC 6455 §5.2): the server side sends no mask.
func appendFrameHeader(b []byte, size int) []byte {
	b = append(b, 0x81)
	switch {
	case size < 126:
		return append(b, byte(size))
	case size <= 0xFFFF:
		return append(b, 126, byte(size>>8), byte(size))
	default:
		b = append(b, 127)
		return binary.BigEndian.AppendUint64(b, uint64(size))
	}
}

// putSerial writes v as exactly width decimal digits at b[at:], after the
// offset that makes every value the same width (a leading zero is not JSON).
func putSerial(b []byte, at, width int, v int64) []byte {
	lo := pow10(width - 1)
	v = lo + v%(9*lo) // stays width digits wide
	for k := at + width - 1; k >= at; k-- {
		b[k] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// putStamp writes a nanosecond timestamp, already 19 digits wide, at b[at:].
func putStamp(b []byte, at int, v int64) {
	for k := at + 18; k >= at; k-- {
		b[k] = byte('0' + v%10)
		v /= 10
	}
}

func pow10(n int) int64 {
	v := int64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}
