package main

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

// The frame mix, in percent: the three busiest channels of a trading day.
const (
	mixTrades     = 50
	mixBooks      = 30
	mixAggregates = 20
)

// poolFrames is how many distinct frames a pool holds before a stream
// cycles through it again.
const poolFrames = 8192

// Widths of the digits the endpoint rewrites in every frame.
const (
	uniqWidth  = 16 // a microsecond timestamp: "time" (trades, books) or "lastUpdated" (aggregates)
	stampWidth = 19 // a nanosecond clock: a trade's "serial"
)

// baseMicros is the first "time" of a stream, 2023-05-29 13:30 in Taipei;
// every frame's is one microsecond after the one before.
const baseMicros = 1685338200000000

// serialMark is the 19-digit serial the builders write, found and rewritten
// with the endpoint's clock in the latency runs.
const serialMark = 1_000_000_000_000_000_000

// frame is one pre-framed WebSocket message inside a pool's buffer.
type frame struct {
	start, end int // the frame's bytes, header included, in pool.buf
	payload    int // the message's size without its header
	// uniq is where the frame's 16-digit timestamp is. The gateway names a
	// frame by a hash of its data for JetStream's duplicate window, so the
	// endpoint makes every frame of a stream differ from the others by
	// rewriting it with baseMicros plus the frame's number in the stream.
	uniq int
	// stamp is where a trade's 19-digit serial is (-1 for other channels):
	// the latency runs write the endpoint's clock there.
	stamp int
}

// pool is a set of pre-framed server-to-client text messages laid out back
// to back, so that a stream is a few large writes of bytes that already
// exist, with only a few digits of each frame rewritten as it goes.
type pool struct {
	buf    []byte
	frames []frame
}

// workload is what a client subscribes to and the frames the endpoint
// streams for it.
type workload struct {
	symbols []string
	subs    []subscription
	pool    *pool
}

type subscription struct {
	channel string
	symbols []string
}

// subscriptionCount is the number of (channel, symbol) pairs of w.
func (w *workload) subscriptionCount() int {
	n := 0
	for _, s := range w.subs {
		n += len(s.symbols)
	}
	return n
}

// avgFrameBytes is the mean payload size of the pool's frames.
func (p *pool) avgFrameBytes() int {
	total := 0
	for _, f := range p.frames {
		total += f.payload
	}
	return total / max(len(p.frames), 1)
}

// subscriptionID is the id the endpoint gives a (channel, symbol): derived,
// so that acks and data frames agree without shared state.
func subscriptionID(channel, symbol string) string {
	h := fnv.New64a()
	h.Write([]byte(channel + ":" + symbol))
	return strconv.FormatUint(h.Sum64(), 36)
}

// newWorkload builds the subscriptions (every symbol on trades, books and
// aggregates) and the frame pool: the mix above, round robin over the
// symbols of each channel, payloads from marketdatatest's builders.
func newWorkload(nsymbols int) (*workload, error) {
	w := &workload{}
	for i := 0; i < nsymbols; i++ {
		w.symbols = append(w.symbols, strconv.Itoa(1101+i))
	}
	for _, ch := range []string{"trades", "books", "aggregates"} {
		w.subs = append(w.subs, subscription{channel: ch, symbols: w.symbols})
	}
	rng := rand.New(rand.NewPCG(2330, 2317))
	p := &pool{}
	next := map[string]int{}
	for i := 0; i < poolFrames; i++ {
		var ch string
		switch pct := rng.IntN(100); {
		case pct < mixTrades:
			ch = "trades"
		case pct < mixTrades+mixBooks:
			ch = "books"
		default:
			ch = "aggregates"
		}
		sym := w.symbols[next[ch]%len(w.symbols)]
		next[ch]++
		if err := p.add(ch, sym, i, rng); err != nil {
			return nil, err
		}
	}
	w.pool = p
	return w, nil
}

// add appends one data frame of channel for symbol, prices varying around
// a per-symbol base.
func (p *pool) add(channel, symbol string, i int, rng *rand.Rand) error {
	code, _ := strconv.Atoi(symbol)
	base := float64(20 + code%900)
	price := base + float64(rng.IntN(20)-10)*0.5
	at := time.UnixMicro(baseMicros + int64(i))
	levels := func(from, step float64) []marketdatatest.Level {
		out := make([]marketdatatest.Level, 5)
		for k := range out {
			out[k] = marketdatatest.Level{Price: from + float64(k)*step, Size: int64(50 + rng.IntN(4000))}
		}
		return out
	}
	var payload []byte
	uniqField := `"time":`
	switch channel {
	case "trades":
		payload = marketdatatest.TradeJSON(marketdatatest.Trade{
			Symbol: symbol, Price: price, Size: int64(1 + rng.IntN(5000)), Bid: price - 0.5, Ask: price,
			Volume: int64(10000 + i*7), Serial: serialMark, Time: at,
		})
	case "books":
		payload = marketdatatest.BooksJSON(symbol, levels(price-0.5, -0.5), levels(price, 0.5), at)
	case "aggregates":
		payload = marketdatatest.AggregateJSON(marketdatatest.Quote{
			Symbol: symbol, Name: "台積電", ReferencePrice: base, OpenPrice: base + 4, HighPrice: base + 4,
			LowPrice: base - 2, LastPrice: price, LastSize: int64(1 + rng.IntN(5000)), Change: 2, ChangePercent: 0.35,
			Bids: levels(price-0.5, -0.5), Asks: levels(price, 0.5), TradeVolume: int64(54538 + i*7),
			TradeValue: 31019803000, Time: at,
		})
		uniqField = `"lastUpdated":`
	}
	msg := marketdatatest.DataFrame(channel, subscriptionID(channel, symbol), payload)
	fr := frame{start: len(p.buf), payload: len(msg), stamp: -1}
	p.buf = appendFrameHeader(p.buf, len(msg))
	head := len(p.buf)
	p.buf = append(p.buf, msg...)
	fr.end = len(p.buf)
	u := lastIndex(msg, uniqField)
	if u < 0 || !digitsAt(msg, u+len(uniqField), uniqWidth) {
		return fmt.Errorf("frame %d (%s): no %d-digit %s", i, channel, uniqWidth, uniqField)
	}
	fr.uniq = head + u + len(uniqField)
	if channel == "trades" {
		s := lastIndex(msg, `"serial":`)
		if s < 0 || !digitsAt(msg, s+len(`"serial":`), stampWidth) {
			return fmt.Errorf("frame %d: no %d-digit serial", i, stampWidth)
		}
		fr.stamp = head + s + len(`"serial":`)
	}
	p.frames = append(p.frames, fr)
	return nil
}

func lastIndex(b []byte, s string) int {
	for i := len(b) - len(s); i >= 0; i-- {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// digitsAt says whether b has exactly width digits at at.
func digitsAt(b []byte, at, width int) bool {
	if at+width > len(b) || (at+width < len(b) && b[at+width] >= '0' && b[at+width] <= '9') {
		return false
	}
	for _, c := range b[at : at+width] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// putDigits writes v as exactly width decimal digits at b[at:]; v must
// have that many.
func putDigits(b []byte, at, width int, v int64) {
	for k := at + width - 1; k >= at; k-- {
		b[k] = byte('0' + v%10)
		v /= 10
	}
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
