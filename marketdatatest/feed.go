package marketdatatest

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The simulated feed keeps one random-walk market per (endpoint, symbol,
// modifiers), advances each market once per tick whatever channels watch it,
// and renders the payload of every watched channel from that one state, so
// that trades, books, candles and aggregates of a symbol agree with each
// other and across connections.

var taipei = time.FixedZone("Asia/Taipei", 8*3600)

// Start prices of well-known symbols; others are derived from a hash.
var basePrices = map[string]float64{
	"2330": 1000, "2317": 200, "2454": 1200, "2412": 125, "2881": 90,
	"2603": 200, "0050": 180, "IR0001": 22000, "IX0001": 22000,
}

var names = map[string]string{
	"2330": "台積電", "2317": "鴻海", "2454": "聯發科", "2412": "中華電",
	"2881": "富邦金", "2603": "長榮", "0050": "元大台灣50",
}

type marketKey struct {
	product, version, symbol string
	oddLot, afterHours       bool
	index                    bool
}

type groupKey struct {
	market  marketKey
	channel string
}

func marketKeyFor(ep endpoint, sub Subscription) marketKey {
	return marketKey{
		product: ep.product, version: ep.version, symbol: sub.Symbol,
		oddLot: sub.IntradayOddLot, afterHours: sub.AfterHours,
		index: sub.Channel == "indices",
	}
}

type feed struct {
	mu      sync.Mutex
	rng     *rand.Rand
	markets map[marketKey]*market
}

func newFeed(seed uint64) *feed {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &feed{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), markets: map[marketKey]*market{}}
}

func (f *feed) marketLocked(k marketKey, now time.Time) *market {
	m, ok := f.markets[k]
	if !ok {
		m = newMarket(k, now, f.rng)
		f.markets[k] = m
	}
	return m
}

// snapshot renders the current state of a subscription's channel.
func (f *feed) snapshot(ep endpoint, sub Subscription) []byte {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.marketLocked(marketKeyFor(ep, sub), now)
	return m.payload(sub.Channel, now, false, f.rng)
}

// tick advances every market named in keys once and renders each group.
func (f *feed) tick(now time.Time, keys []groupKey) map[groupKey][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	advanced := map[marketKey]bool{}
	out := make(map[groupKey][]byte, len(keys))
	for _, k := range keys {
		m := f.marketLocked(k.market, now)
		if !advanced[k.market] {
			m.advance(now, f.rng)
			advanced[k.market] = true
		}
		out[k] = m.payload(k.channel, now, true, f.rng)
	}
	return out
}

type feedTarget struct {
	c  *Conn
	id string
}

func (s *Server) runFeed() {
	defer close(s.feedDone)
	interval := time.Duration(float64(time.Second) / s.cfg.feedRate)
	perTick := 1.0
	if interval < time.Millisecond {
		interval, perTick = time.Millisecond, s.cfg.feedRate/1000
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	acc := 0.0
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		acc += perTick
		n := int(acc)
		acc -= float64(n)
		for range n {
			s.feedTick()
		}
	}
}

func (s *Server) feedTick() {
	if s.silent.Load() {
		return
	}
	groups := map[groupKey][]feedTarget{}
	var keys []groupKey
	for _, c := range s.liveConns() {
		subs := c.Subscriptions()
		for i, sub := range subs {
			if seenID(subs[:i], sub.ID) {
				continue // an alias and its contract share one stream
			}
			k := groupKey{marketKeyFor(c.ep, sub), sub.Channel}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], feedTarget{c, sub.ID})
		}
	}
	if len(keys) == 0 {
		return
	}
	payloads := s.feed.tick(time.Now(), keys)
	for _, k := range keys {
		if k.market.version == "v1.0" && !k.market.index && !k.market.oddLot {
			s.rest.record(k.channel, s.canonical(k.market.symbol), payloads[k], false)
		}
		for _, t := range groups[k] {
			t.c.enqueue(item{kind: itemText, data: DataFrame(k.channel, t.id, payloads[k])}, true)
		}
	}
}

// market is the state of one simulated instrument.
type market struct {
	key          marketKey
	typ          string
	trialEnabled bool
	multiplier   float64 // shares per unit of size, for tradeValue

	ref, tick, price, bid, ask float64
	open, high, low            float64
	openTime, highTime         int64
	lowTime, lastTime          int64
	lastSize                   int64
	volume, atBid, atAsk       int64
	transactions, serial       int64
	value                      float64
	bids, asks                 [5]Level

	trial                   bool
	hasTrial                bool
	trialPrice, trialBid    float64
	trialAsk                float64
	trialSize, trialTime    int64
	trialSerial             int64
	candleMinute            int64
	cOpen, cHigh, cLow, cCl float64
	cVolume                 int64
	cValue                  float64
}

func newMarket(k marketKey, now time.Time, rng *rand.Rand) *market {
	m := &market{key: k, multiplier: 1}
	h := fnv.New32a()
	h.Write([]byte(k.symbol))
	hash := float64(h.Sum32())
	base, known := basePrices[k.symbol]
	switch {
	case k.index:
		m.typ = "INDEX"
		if !known {
			base = 1000 + math.Mod(hash, 30000)
		}
		m.tick = 0.01
	case k.product == "futopt":
		m.typ = "FUTURE"
		if len(k.symbol) >= 3 && k.symbol[2] == 'O' {
			m.typ = "OPTION"
		}
		if k.afterHours {
			m.typ += "_AH"
		}
		switch {
		case known:
		case m.typ == "OPTION" || m.typ == "OPTION_AH":
			base = 50 + math.Mod(hash, 400)
		case strings.HasPrefix(k.symbol, "TXF"), strings.HasPrefix(k.symbol, "MXF"), strings.HasPrefix(k.symbol, "TMF"):
			base = 22000
		default:
			base = 100 + math.Mod(hash, 2000)
		}
		m.tick = 1
		m.trialEnabled = k.version == "v1.1"
	default:
		m.typ = "EQUITY"
		if !known {
			base = 10 + math.Mod(hash, 990)
		}
		m.tick = stockTick(base)
		m.trialEnabled = true
		if !k.oddLot {
			m.multiplier = 1000 // a board lot
		}
	}
	base = roundTo(base, m.tick)
	m.ref, m.price, m.open, m.high, m.low = base, base, base, base, base
	// The session opened at 09:00 Taipei today, or, before that, a day
	// ago: a snapshot must never be stamped after the live frames that
	// follow it.
	open := time.Date(now.In(taipei).Year(), now.In(taipei).Month(), now.In(taipei).Day(), 9, 0, 0, 0, taipei)
	if open.After(now) {
		open = open.AddDate(0, 0, -1)
	}
	m.openTime, m.highTime, m.lowTime, m.lastTime = open.UnixMicro(), open.UnixMicro(), open.UnixMicro(), open.UnixMicro()
	m.lastSize = 1 + rng.Int64N(20)
	m.volume = 1000 + rng.Int64N(9000)
	m.atBid, m.atAsk = m.volume/2, m.volume/2
	m.transactions = m.volume / 5
	m.value = base * float64(m.volume) * m.multiplier
	m.serial = 100000 + rng.Int64N(100000)
	m.bid, m.ask = base-m.tick, base
	m.rebuildBook(rng)
	m.startCandle(now)
	return m
}

// stockTick is the TWSE tick size for a price.
func stockTick(p float64) float64 {
	switch {
	case p < 10:
		return 0.01
	case p < 50:
		return 0.05
	case p < 100:
		return 0.1
	case p < 500:
		return 0.5
	case p < 1000:
		return 1
	}
	return 5
}

// roundTo rounds to the tick and then to two decimals, so that prices print
// without binary noise such as 12.350000000000001.
func roundTo(p, tick float64) float64 {
	return math.Round(math.Round(p/tick)*tick*100) / 100
}

func (m *market) startCandle(now time.Time) {
	m.candleMinute = now.Unix() / 60
	m.cOpen, m.cHigh, m.cLow, m.cCl = m.price, m.price, m.price, m.price
	m.cVolume, m.cValue = 0, 0
}

func (m *market) rebuildBook(rng *rand.Rand) {
	for i := range m.bids {
		step := float64(i) * m.tick
		m.bids[i] = Level{Price: roundTo(m.bid-step, m.tick), Size: 1 + rng.Int64N(3000)}
		m.asks[i] = Level{Price: roundTo(m.ask+step, m.tick), Size: 1 + rng.Int64N(3000)}
	}
}

func (m *market) advance(now time.Time, rng *rand.Rand) {
	us := now.UnixMicro()
	if m.key.index {
		m.price = math.Round(m.price*(1+(rng.Float64()-0.5)*0.0004)*100) / 100
		m.lastTime = us
		return
	}
	// A random walk of one tick, pulled back toward the reference price
	// and kept within the ±10% daily limits.
	up := 0.5 - (m.price-m.ref)/m.ref*2
	step := 0.0
	switch r := rng.Float64(); {
	case r < 0.35*up*2:
		step = 1
	case r < 0.7:
		step = -1
	}
	next := roundTo(m.price+step*m.tick, m.tick)
	if m.typ == "EQUITY" {
		next = math.Min(math.Max(next, roundTo(m.ref*0.9, m.tick)), roundTo(m.ref*1.1, m.tick))
		m.tick = stockTick(next)
	}
	if next < m.tick {
		next = m.tick
	}
	size := 1 + rng.Int64N(10)
	switch {
	case m.key.oddLot:
		size = 1 + rng.Int64N(999)
	case m.key.product == "futopt":
		size = 1 + rng.Int64N(5)
	case rng.IntN(20) == 0:
		size = 10 + rng.Int64N(300)
	}
	atAsk := rng.IntN(2) == 0
	bid, ask := next-m.tick, next
	if !atAsk {
		bid, ask = next, next+m.tick
	}
	bid, ask = roundTo(bid, m.tick), roundTo(ask, m.tick)

	m.trial = m.trialEnabled && rng.IntN(20) == 0
	if m.trial {
		// A trial match moves no volume and fills nothing.
		m.hasTrial = true
		m.trialPrice, m.trialBid, m.trialAsk, m.trialSize = next, bid, ask, size
		m.trialTime = us
		m.serial++
		m.trialSerial = m.serial
		m.bid, m.ask = bid, ask
		m.rebuildBook(rng)
		return
	}
	m.price, m.bid, m.ask = next, bid, ask
	m.lastSize, m.lastTime = size, us
	m.volume += size
	if atAsk {
		m.atAsk += size
	} else {
		m.atBid += size
	}
	m.transactions++
	m.serial++
	m.value += next * float64(size) * m.multiplier
	if next > m.high {
		m.high, m.highTime = next, us
	}
	if next < m.low {
		m.low, m.lowTime = next, us
	}
	if now.Unix()/60 != m.candleMinute {
		m.startCandle(now)
	}
	m.cHigh, m.cLow, m.cCl = math.Max(m.cHigh, next), math.Min(m.cLow, next), next
	m.cVolume += size
	m.cValue += next * float64(size)
	m.rebuildBook(rng)
}

// payload renders the data of one channel. live is false for snapshots,
// which show the last real trade rather than a trial.
func (m *market) payload(channel string, now time.Time, live bool, rng *rand.Rand) []byte {
	trial := live && m.trial
	b := make([]byte, 0, 512)
	b = append(b, `{"symbol":`...)
	b = appendString(b, m.key.symbol)
	b = appendStringField(b, "type", m.typ)
	switch {
	case m.key.index:
		b = append(b, `,"exchange":"TWSE"`...)
	case m.key.product == "futopt":
		b = append(b, `,"exchange":"TAIFEX"`...)
	default:
		b = append(b, `,"exchange":"TWSE","market":"TSE"`...)
	}
	switch {
	case m.key.index:
		b = appendFloatField(b, "index", m.price)
		b = appendIntField(b, "time", m.lastTime)
	case channel == "trades" && m.key.product == "futopt":
		b = m.futoptTrades(b, trial)
	case channel == "trades":
		b = m.stockTrade(b, trial)
	case channel == "books":
		b = appendLevels(b, "bids", m.bids[:])
		b = appendLevels(b, "asks", m.asks[:])
		if m.key.product == "futopt" && m.trialEnabled {
			if trial {
				b = append(b, `,"isTrial":true`...)
			}
			if rng.IntN(3) == 0 {
				b = append(b, `,"derivedBid":{"price":`...)
				b = appendFloat(b, roundTo(m.bids[4].Price-m.tick, m.tick))
				b = appendIntField(b, "size", 1+rng.Int64N(50))
				b = append(b, `},"derivedAsk":{"price":`...)
				b = appendFloat(b, roundTo(m.asks[4].Price+m.tick, m.tick))
				b = appendIntField(b, "size", 1+rng.Int64N(50))
				b = append(b, '}')
			}
		}
		b = appendIntField(b, "time", m.lastTimeFor(trial))
	case channel == "candles":
		b = m.candle(b)
	case channel == "aggregates":
		b = m.aggregate(b, now)
	}
	return append(b, '}')
}

func (m *market) lastTimeFor(trial bool) int64 {
	if trial {
		return m.trialTime
	}
	return m.lastTime
}

func (m *market) stockTrade(b []byte, trial bool) []byte {
	price, bid, ask, size, t, serial := m.price, m.bid, m.ask, m.lastSize, m.lastTime, m.serial
	if trial {
		price, bid, ask, size, t, serial = m.trialPrice, m.trialBid, m.trialAsk, m.trialSize, m.trialTime, m.trialSerial
	}
	b = appendFloatField(b, "bid", bid)
	b = appendFloatField(b, "ask", ask)
	b = appendFloatField(b, "price", price)
	b = appendIntField(b, "size", size)
	b = appendIntField(b, "volume", m.volume)
	if price >= roundTo(m.ref*1.1, m.tick) {
		b = append(b, `,"isLimitUpPrice":true`...)
	}
	if price <= roundTo(m.ref*0.9, m.tick) {
		b = append(b, `,"isLimitDownPrice":true`...)
	}
	if trial {
		b = append(b, `,"isTrial":true`...)
	} else {
		b = append(b, `,"isContinuous":true`...)
	}
	b = appendIntField(b, "time", t)
	return appendIntField(b, "serial", serial)
}

func (m *market) futoptTrades(b []byte, trial bool) []byte {
	price, bid, ask, size, t := m.price, m.bid, m.ask, m.lastSize, m.lastTime
	if trial {
		price, bid, ask, size, t = m.trialPrice, m.trialBid, m.trialAsk, m.trialSize, m.trialTime
	}
	b = append(b, `,"trades":[{"price":`...)
	b = appendFloat(b, price)
	b = appendIntField(b, "size", size)
	b = appendFloatField(b, "bid", bid)
	b = appendFloatField(b, "ask", ask)
	b = append(b, `}],"total":{"tradeVolume":`...)
	b = strconv.AppendInt(b, m.volume, 10)
	b = appendIntField(b, "totalBidMatch", m.atBid)
	b = appendIntField(b, "totalAskMatch", m.atAsk)
	b = append(b, '}')
	if trial {
		b = append(b, `,"isTrial":true`...)
	}
	b = appendIntField(b, "time", t)
	return appendIntField(b, "serial", m.serial)
}

func (m *market) candle(b []byte) []byte {
	b = appendStringField(b, "date", time.Unix(m.candleMinute*60, 0).In(taipei).Format("2006-01-02T15:04:05.000-07:00"))
	b = appendFloatField(b, "open", m.cOpen)
	b = appendFloatField(b, "high", m.cHigh)
	b = appendFloatField(b, "low", m.cLow)
	b = appendFloatField(b, "close", m.cCl)
	b = appendIntField(b, "volume", m.cVolume)
	avg := m.cCl
	if m.cVolume > 0 {
		avg = math.Round(m.cValue/float64(m.cVolume)*100) / 100
	}
	return appendFloatField(b, "average", avg)
}

func (m *market) aggregate(b []byte, now time.Time) []byte {
	b = appendStringField(b, "date", now.In(taipei).Format("2006-01-02"))
	if name, ok := names[m.key.symbol]; ok && m.key.product == "stock" {
		b = appendStringField(b, "name", name)
	}
	change := roundTo(m.price-m.ref, 0.01)
	b = appendFloatField(b, "referencePrice", m.ref)
	b = appendFloatField(b, "previousClose", m.ref)
	b = appendFloatField(b, "openPrice", m.open)
	b = appendIntField(b, "openTime", m.openTime)
	b = appendFloatField(b, "highPrice", m.high)
	b = appendIntField(b, "highTime", m.highTime)
	b = appendFloatField(b, "lowPrice", m.low)
	b = appendIntField(b, "lowTime", m.lowTime)
	b = appendFloatField(b, "closePrice", m.price)
	b = appendIntField(b, "closeTime", m.lastTime)
	avg := m.price
	if m.volume > 0 {
		avg = math.Round(m.value/m.multiplier/float64(m.volume)*100) / 100
	}
	b = appendFloatField(b, "avgPrice", avg)
	b = appendFloatField(b, "change", change)
	b = appendFloatField(b, "changePercent", math.Round(change/m.ref*10000)/100)
	b = appendFloatField(b, "amplitude", math.Round((m.high-m.low)/m.ref*10000)/100)
	lastPrice, lastSize := m.price, m.lastSize
	if m.trial {
		lastPrice, lastSize = m.trialPrice, m.trialSize // lastPrice includes trials
	}
	b = appendFloatField(b, "lastPrice", lastPrice)
	b = appendIntField(b, "lastSize", lastSize)
	b = appendLevels(b, "bids", m.bids[:])
	b = appendLevels(b, "asks", m.asks[:])
	b = append(b, `,"total":{"tradeValue":`...)
	b = appendFloat(b, math.Round(m.value))
	b = appendIntField(b, "tradeVolume", m.volume)
	if m.key.product == "futopt" {
		b = appendIntField(b, "totalBidMatch", m.atBid)
		b = appendIntField(b, "totalAskMatch", m.atAsk)
	} else {
		b = appendIntField(b, "tradeVolumeAtBid", m.atBid)
		b = appendIntField(b, "tradeVolumeAtAsk", m.atAsk)
	}
	b = appendIntField(b, "transaction", m.transactions)
	b = appendIntField(b, "time", m.lastTime)
	b = append(b, `},"lastTrade":{"bid":`...)
	b = appendFloat(b, m.bid)
	b = appendFloatField(b, "ask", m.ask)
	b = appendFloatField(b, "price", m.price)
	b = appendIntField(b, "size", m.lastSize)
	b = appendIntField(b, "time", m.lastTime)
	b = appendIntField(b, "serial", m.serial)
	b = append(b, '}')
	if m.hasTrial {
		b = append(b, `,"lastTrial":{"bid":`...)
		b = appendFloat(b, m.trialBid)
		b = appendFloatField(b, "ask", m.trialAsk)
		b = appendFloatField(b, "price", m.trialPrice)
		b = appendIntField(b, "size", m.trialSize)
		b = appendIntField(b, "time", m.trialTime)
		b = appendIntField(b, "serial", m.trialSerial)
		b = append(b, '}')
	}
	if m.trial {
		b = append(b, `,"isTrial":true`...)
	}
	b = appendIntField(b, "serial", m.serial)
	return appendIntField(b, "lastUpdated", max(m.lastTime, m.trialTime))
}
