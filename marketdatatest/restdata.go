package marketdatatest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// The REST answers built from the record of published payloads. Stock and
// futopt payloads are told apart by their exchange (TAIFEX) or type
// (FUTURE..., OPTION...); odd-lot payloads by type ODDLOT, after-hours ones
// by a type ending in _AH.

// restQuery is what a data route reads of a request.
type restQuery struct {
	product, group, endpoint, symbol string
	q                                url.Values
	variant                          bool // oddlot (stock) or afterhours (futopt)
}

func (s *Server) restData(sub string, q url.Values, pageLimit int) (int, []byte) {
	parts := strings.SplitN(strings.TrimPrefix(sub, "/"), "/", 4)
	if len(parts) < 3 {
		return http.StatusNotFound, notFoundBody("/marketdata/v1.0" + sub)
	}
	rq := restQuery{product: parts[0], group: parts[1], endpoint: parts[2], q: q}
	if len(parts) == 4 {
		rq.symbol = parts[3] // a futopt spread keeps its slash
	}
	if rq.product == "stock" {
		rq.variant = q.Get("type") == "oddlot"
	} else {
		rq.variant = strings.EqualFold(q.Get("session"), "afterhours")
	}
	key := rq.product + "/" + rq.group + "/" + rq.endpoint
	withSymbol := rq.symbol != ""
	switch {
	case key == "stock/intraday/tickers" || key == "futopt/intraday/tickers":
		return s.restTickers(rq)
	case key == "futopt/intraday/products":
		return s.restProducts(rq)
	case key == "stock/snapshot/quotes" || key == "stock/snapshot/movers" || key == "stock/snapshot/actives":
		if withSymbol {
			return s.restSnapshot(rq)
		}
	case !withSymbol:
	case rq.group == "intraday" && rq.endpoint == "quote":
		return s.restQuote(rq)
	case rq.group == "intraday" && rq.endpoint == "ticker":
		return s.restTicker(rq)
	case rq.group == "intraday" && rq.endpoint == "trades":
		return s.restTrades(rq, pageLimit)
	case rq.group == "intraday" && rq.endpoint == "candles":
		return s.restCandles(rq)
	case rq.group == "intraday" && rq.endpoint == "volumes":
		return s.restVolumes(rq)
	case key == "stock/historical/stats":
		return s.restStats(rq)
	case key == "stock/historical/candles":
		return s.restHistoricalCandles(rq)
	}
	return http.StatusNotFound, notFoundBody("/marketdata/v1.0" + sub)
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return jsonError(http.StatusInternalServerError, err.Error())
	}
	return b
}

func badRequest(msg string) (int, []byte) {
	return http.StatusBadRequest, marshal(map[string]any{"statusCode": 400, "message": []string{msg}, "error": "Bad Request"})
}

func notFound() (int, []byte) { return http.StatusNotFound, statusBody(http.StatusNotFound) }

// payloadProduct tells a futopt payload from a stock one.
func payloadProduct(p gjson.Result) string {
	typ := p.Get("type").Str
	if p.Get("exchange").Str == "TAIFEX" || strings.HasPrefix(typ, "FUTURE") || strings.HasPrefix(typ, "OPTION") {
		return "futopt"
	}
	return "stock"
}

func payloadVariant(p gjson.Result) bool {
	typ := p.Get("type").Str
	return typ == "ODDLOT" || strings.HasSuffix(typ, "_AH")
}

func (rq restQuery) matches(p gjson.Result) bool {
	return payloadProduct(p) == rq.product && payloadVariant(p) == rq.variant
}

// head is the identifying members of a symbol's answers.
type head struct {
	Date     string `json:"date"`
	Type     string `json:"type"`
	Exchange string `json:"exchange"`
	Market   string `json:"market,omitempty"`
	Symbol   string `json:"symbol"`
}

func (rq restQuery) defaultHead() head {
	h := head{Type: "EQUITY", Exchange: "TWSE", Market: "TSE", Symbol: rq.symbol}
	switch {
	case rq.product == "futopt":
		h.Type, h.Exchange, h.Market = "FUTURE", "TAIFEX", ""
		if rq.variant {
			h.Type = "FUTURE_AH"
		}
	case rq.variant:
		h.Type = "ODDLOT"
	}
	return h
}

func headFrom(h head, p gjson.Result) head {
	if v := p.Get("type").Str; v != "" {
		h.Type = v
	}
	if v := p.Get("exchange").Str; v != "" {
		h.Exchange = v
	}
	if v := p.Get("market").Str; v != "" {
		h.Market = v
	}
	return h
}

func dateOf(us int64) string {
	if us == 0 {
		return time.Now().In(taipei).Format("2006-01-02")
	}
	return time.UnixMicro(us).In(taipei).Format("2006-01-02")
}

// restTrade is one trade of the record.
type restTrade struct {
	serial int64
	time   int64
	price  float64
	size   int64
	bid    *float64
	ask    *float64
	volume *int64
	trial  bool
	sub    int // index inside a futopt frame
}

func optFloat(p gjson.Result, name string) *float64 {
	if v := p.Get(name); v.Type == gjson.Number {
		f := v.Num
		return &f
	}
	return nil
}

func optInt(p gjson.Result, name string) *int64 {
	if v := p.Get(name); v.Type == gjson.Number {
		n := v.Int()
		return &n
	}
	return nil
}

// trades returns the day's trades of the record, newest first, each serial
// once (the last published wins), with the head of the last payload.
func (s *Server) trades(rq restQuery) ([]restTrade, head, bool) {
	h := rq.defaultHead()
	found := false
	byKey := map[[2]int64]restTrade{}
	for _, sp := range s.rest.load("trades", s.canonical(rq.symbol)) {
		p := sp.payload()
		if !p.IsObject() || !rq.matches(p) {
			continue
		}
		found = true
		h = headFrom(h, p)
		serial := p.Get("serial").Int()
		t := p.Get("time").Int()
		trial := p.Get("isTrial").Bool()
		if ticks := p.Get("trades"); ticks.IsArray() {
			for i, tk := range ticks.Array() {
				ts := serial
				if v := tk.Get("serial"); v.Exists() {
					ts = v.Int()
				}
				byKey[[2]int64{ts, int64(i)}] = restTrade{serial: ts, time: t, price: tk.Get("price").Num, size: tk.Get("size").Int(), trial: trial, sub: i}
			}
			continue
		}
		byKey[[2]int64{serial, 0}] = restTrade{
			serial: serial, time: t, price: p.Get("price").Num, size: p.Get("size").Int(),
			bid: optFloat(p, "bid"), ask: optFloat(p, "ask"), volume: optInt(p, "volume"), trial: trial,
		}
	}
	out := make([]restTrade, 0, len(byKey))
	for _, t := range byKey {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b restTrade) int {
		if c := cmp.Compare(b.serial, a.serial); c != 0 {
			return c
		}
		if c := cmp.Compare(b.time, a.time); c != 0 {
			return c
		}
		return cmp.Compare(b.sub, a.sub)
	})
	if len(out) > 0 {
		h.Date = dateOf(out[0].time)
	}
	return out, h, found
}

type tradeRowJSON struct {
	Bid    *float64 `json:"bid,omitempty"`
	Ask    *float64 `json:"ask,omitempty"`
	Price  float64  `json:"price"`
	Size   int64    `json:"size"`
	Volume *int64   `json:"volume,omitempty"`
	Time   int64    `json:"time"`
	Serial int64    `json:"serial"`
}

func (s *Server) restTrades(rq restQuery, pageLimit int) (int, []byte) {
	all, h, found := s.trades(rq)
	if !found && len(s.rest.load("aggregates", s.canonical(rq.symbol))) == 0 {
		return notFound()
	}
	trialOnly := rq.q.Get("isTrial") == "true"
	rows := all[:0:0]
	for _, t := range all {
		if t.trial == trialOnly {
			rows = append(rows, t)
		}
	}
	if rq.product == "stock" && rq.q.Get("sort") == "asc" {
		slices.Reverse(rows)
	}
	offset, _ := strconv.Atoi(rq.q.Get("offset"))
	limit := 50
	if v := rq.q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	if offset < 0 || limit < 0 {
		return badRequest("offset and limit must not be negative")
	}
	if pageLimit > 0 && limit > pageLimit {
		limit = pageLimit
	}
	offset = min(offset, len(rows))
	rows = rows[offset:min(offset+limit, len(rows))]
	data := make([]tradeRowJSON, len(rows))
	for i, t := range rows {
		data[i] = tradeRowJSON{Bid: t.bid, Ask: t.ask, Price: t.price, Size: t.size, Volume: t.volume, Time: t.time, Serial: t.serial}
	}
	return http.StatusOK, marshal(struct {
		head
		Data []tradeRowJSON `json:"data"`
	}{h, data})
}

// latestAggregate is the last aggregates payload of the record.
func (s *Server) latestAggregate(rq restQuery) (gjson.Result, bool) {
	l := s.rest.load("aggregates", s.canonical(rq.symbol))
	for i := len(l) - 1; i >= 0; i-- {
		if p := l[i].payload(); p.IsObject() && rq.matches(p) {
			return p, true
		}
	}
	return gjson.Result{}, false
}

func (s *Server) restQuote(rq restQuery) (int, []byte) {
	if p, ok := s.latestAggregate(rq); ok {
		return http.StatusOK, []byte(p.Raw)
	}
	trades, h, found := s.trades(rq)
	var real []restTrade
	for _, t := range trades {
		if !t.trial {
			real = append(real, t)
		}
	}
	if !found || len(real) == 0 {
		return notFound()
	}
	// No aggregate was published: sum up the trades, oldest first.
	type last struct {
		Bid    *float64 `json:"bid,omitempty"`
		Ask    *float64 `json:"ask,omitempty"`
		Price  float64  `json:"price"`
		Size   int64    `json:"size"`
		Time   int64    `json:"time"`
		Serial any      `json:"serial"` // a zero-padded string on futopt
	}
	type total struct {
		TradeValue  float64 `json:"tradeValue"`
		TradeVolume int64   `json:"tradeVolume"`
		Transaction int     `json:"transaction"`
		Time        int64   `json:"time"`
	}
	q := struct {
		head
		Name           string  `json:"name,omitempty"`
		ReferencePrice float64 `json:"referencePrice"`
		OpenPrice      float64 `json:"openPrice"`
		OpenTime       int64   `json:"openTime"`
		HighPrice      float64 `json:"highPrice"`
		HighTime       int64   `json:"highTime"`
		LowPrice       float64 `json:"lowPrice"`
		LowTime        int64   `json:"lowTime"`
		ClosePrice     float64 `json:"closePrice"`
		CloseTime      int64   `json:"closeTime"`
		AvgPrice       float64 `json:"avgPrice"`
		Change         float64 `json:"change"`
		ChangePercent  float64 `json:"changePercent"`
		LastPrice      float64 `json:"lastPrice"`
		LastSize       int64   `json:"lastSize"`
		Total          total   `json:"total"`
		LastTrade      last    `json:"lastTrade"`
		Serial         int64   `json:"serial"`
		LastUpdated    int64   `json:"lastUpdated"`
	}{head: h, Name: names[rq.symbol]}
	// The first trade's price stands in for the reference price.
	q.ReferencePrice = real[len(real)-1].price
	for i := len(real) - 1; i >= 0; i-- {
		t := real[i]
		if q.OpenTime == 0 {
			q.OpenPrice, q.OpenTime, q.HighPrice, q.HighTime, q.LowPrice, q.LowTime = t.price, t.time, t.price, t.time, t.price, t.time
		}
		if t.price > q.HighPrice {
			q.HighPrice, q.HighTime = t.price, t.time
		}
		if t.price < q.LowPrice {
			q.LowPrice, q.LowTime = t.price, t.time
		}
		q.Total.TradeValue += t.price * float64(t.size)
		q.Total.TradeVolume += t.size
		q.Total.Transaction++
	}
	t := real[0]
	q.ClosePrice, q.CloseTime, q.LastPrice, q.LastSize = t.price, t.time, t.price, t.size
	q.Change = math.Round((t.price-q.ReferencePrice)*100) / 100
	q.ChangePercent = math.Round(q.Change/q.ReferencePrice*10000) / 100
	if q.Total.TradeVolume > 0 {
		q.AvgPrice = math.Round(q.Total.TradeValue/float64(q.Total.TradeVolume)*100) / 100
	}
	q.Total.TradeValue = math.Round(q.Total.TradeValue)
	q.Total.Time = t.time
	q.LastTrade = last{Bid: t.bid, Ask: t.ask, Price: t.price, Size: t.size, Time: t.time, Serial: t.serial}
	if rq.product == "futopt" {
		q.LastTrade.Serial = fmt.Sprintf("%08d", t.serial)
	}
	q.Serial, q.LastUpdated = t.serial, t.time
	return http.StatusOK, marshal(q)
}

// reference returns the reference price, previous close and name of a
// symbol: from its latest aggregate, or its first trade.
func (s *Server) reference(rq restQuery) (ref, prev float64, name string, h head, ok bool) {
	h = rq.defaultHead()
	if p, found := s.latestAggregate(rq); found {
		h = headFrom(h, p)
		h.Date = p.Get("date").Str
		ref = p.Get("referencePrice").Num
		if ref == 0 {
			ref = p.Get("previousClose").Num
		}
		if ref == 0 {
			ref = p.Get("openPrice").Num
		}
		return ref, p.Get("previousClose").Num, p.Get("name").Str, h, true
	}
	trades, th, found := s.trades(rq)
	if !found || len(trades) == 0 {
		return 0, 0, "", h, false
	}
	first := trades[len(trades)-1].price
	return first, first, names[rq.symbol], th, true
}

func (s *Server) restTicker(rq restQuery) (int, []byte) {
	ref, prev, name, h, ok := s.reference(rq)
	if !ok {
		return notFound()
	}
	if name == "" {
		name = names[rq.symbol]
	}
	if name == "" {
		name = rq.symbol
	}
	if h.Date == "" {
		h.Date = dateOf(0)
	}
	if rq.product == "futopt" {
		return http.StatusOK, marshal(struct {
			Date           string  `json:"date"`
			Type           string  `json:"type"`
			Exchange       string  `json:"exchange"`
			Symbol         string  `json:"symbol"`
			Name           string  `json:"name"`
			ReferencePrice float64 `json:"referencePrice"`
		}{h.Date, h.Type, h.Exchange, h.Symbol, name, ref})
	}
	tick := stockTick(ref)
	return http.StatusOK, marshal(struct {
		head
		Name                        string  `json:"name"`
		PreviousClose               float64 `json:"previousClose"`
		ReferencePrice              float64 `json:"referencePrice"`
		LimitUpPrice                float64 `json:"limitUpPrice"`
		LimitDownPrice              float64 `json:"limitDownPrice"`
		CanDayTrade                 bool    `json:"canDayTrade"`
		CanBuyDayTrade              bool    `json:"canBuyDayTrade"`
		CanBelowFlatMarginShortSell bool    `json:"canBelowFlatMarginShortSell"`
		CanBelowFlatSBLShortSell    bool    `json:"canBelowFlatSBLShortSell"`
		IsAttention                 bool    `json:"isAttention"`
		IsDisposition               bool    `json:"isDisposition"`
		IsUnusuallyRecommended      bool    `json:"isUnusuallyRecommended"`
		IsSpecificAbnormally        bool    `json:"isSpecificAbnormally"`
		MatchingInterval            int     `json:"matchingInterval"`
		SecurityStatus              string  `json:"securityStatus"`
		BoardLot                    int     `json:"boardLot"`
		TradingCurrency             string  `json:"tradingCurrency"`
	}{
		head: h, Name: name, PreviousClose: prev, ReferencePrice: ref,
		LimitUpPrice: math.Floor(ref*1.1/tick+1e-9) * tick, LimitDownPrice: math.Ceil(ref*0.9/tick-1e-9) * tick,
		CanDayTrade: true, CanBuyDayTrade: true, CanBelowFlatMarginShortSell: true, CanBelowFlatSBLShortSell: true,
		SecurityStatus: "NORMAL", BoardLot: 1000, TradingCurrency: "TWD",
	})
}

type barJSON struct {
	Date    string  `json:"date"`
	Open    float64 `json:"open"`
	High    float64 `json:"high"`
	Low     float64 `json:"low"`
	Close   float64 `json:"close"`
	Volume  int64   `json:"volume"`
	Average float64 `json:"average"`
	minute  int64
	value   float64
}

const isoMinute = "2006-01-02T15:04:05.000-07:00"

// minuteBars returns the day's one-minute bars, oldest first: the published
// candles (the last update of each minute wins), or, when none was
// published, bars summed up from the trades.
func (s *Server) minuteBars(rq restQuery) ([]barJSON, head, bool) {
	h := rq.defaultHead()
	byDate := map[string]barJSON{}
	for _, sp := range s.rest.load("candles", s.canonical(rq.symbol)) {
		p := sp.payload()
		if !p.IsObject() || !rq.matches(p) {
			continue
		}
		h = headFrom(h, p)
		add := func(b gjson.Result) {
			d := b.Get("date").Str
			t, err := time.Parse(isoMinute, d)
			if err != nil {
				return
			}
			byDate[d] = barJSON{Date: d, Open: b.Get("open").Num, High: b.Get("high").Num, Low: b.Get("low").Num, Close: b.Get("close").Num,
				Volume: b.Get("volume").Int(), Average: b.Get("average").Num, minute: t.Unix() / 60}
		}
		if bars := p.Get("data"); bars.IsArray() {
			bars.ForEach(func(_, b gjson.Result) bool { add(b); return true })
		} else {
			add(p)
		}
	}
	var bars []barJSON
	if len(byDate) > 0 {
		for _, b := range byDate {
			bars = append(bars, b)
		}
	} else {
		trades, th, found := s.trades(rq)
		if !found {
			return nil, h, false
		}
		h = th
		byMinute := map[int64]*barJSON{}
		for i := len(trades) - 1; i >= 0; i-- {
			t := trades[i]
			if t.trial {
				continue
			}
			m := t.time / 60e6
			b := byMinute[m]
			if b == nil {
				b = &barJSON{Date: time.Unix(m*60, 0).In(taipei).Format(isoMinute), Open: t.price, High: t.price, Low: t.price, minute: m}
				byMinute[m] = b
			}
			b.High, b.Low, b.Close = max(b.High, t.price), min(b.Low, t.price), t.price
			b.Volume += t.size
			b.value += t.price * float64(t.size)
		}
		for _, b := range byMinute {
			if b.Volume > 0 {
				b.Average = math.Round(b.value/float64(b.Volume)*100) / 100
			}
			bars = append(bars, *b)
		}
	}
	slices.SortFunc(bars, func(a, b barJSON) int { return cmp.Compare(a.minute, b.minute) })
	if len(bars) > 0 {
		h.Date = bars[0].Date[:10]
	}
	return bars, h, true
}

func (s *Server) restCandles(rq restQuery) (int, []byte) {
	bars, h, found := s.minuteBars(rq)
	if !found {
		return notFound()
	}
	tf := rq.q.Get("timeframe")
	n := 1
	if tf != "" {
		var err error
		if n, err = strconv.Atoi(tf); err != nil || n <= 0 {
			return badRequest("timeframe must be one of the following values: 1, 3, 5, 10, 15, 30, 60")
		}
	}
	if n > 1 {
		var out []barJSON
		for _, b := range bars {
			start := b.minute - b.minute%int64(n)
			if len(out) == 0 || out[len(out)-1].minute != start {
				b.minute = start
				b.Date = time.Unix(start*60, 0).In(taipei).Format(isoMinute)
				b.value = b.Average * float64(b.Volume)
				out = append(out, b)
				continue
			}
			o := &out[len(out)-1]
			o.High, o.Low, o.Close = max(o.High, b.High), min(o.Low, b.Low), b.Close
			o.Volume += b.Volume
			o.value += b.Average * float64(b.Volume)
			if o.Volume > 0 {
				o.Average = math.Round(o.value/float64(o.Volume)*100) / 100
			}
		}
		bars = out
	}
	if rq.product == "stock" && rq.q.Get("sort") == "desc" {
		slices.Reverse(bars)
	}
	if bars == nil {
		bars = []barJSON{}
	}
	return http.StatusOK, marshal(struct {
		head
		Timeframe string    `json:"timeframe,omitempty"`
		Data      []barJSON `json:"data"`
	}{h, tf, bars})
}

func (s *Server) restVolumes(rq restQuery) (int, []byte) {
	trades, h, found := s.trades(rq)
	if !found {
		return notFound()
	}
	type row struct {
		Price       float64 `json:"price"`
		Volume      int64   `json:"volume"`
		VolumeAtBid *int64  `json:"volumeAtBid,omitempty"`
		VolumeAtAsk *int64  `json:"volumeAtAsk,omitempty"`
	}
	byPrice := map[float64]*row{}
	for _, t := range trades {
		if t.trial {
			continue
		}
		r := byPrice[t.price]
		if r == nil {
			r = &row{Price: t.price}
			if rq.product == "stock" {
				r.VolumeAtBid, r.VolumeAtAsk = new(int64), new(int64)
			}
			byPrice[t.price] = r
		}
		r.Volume += t.size
		if r.VolumeAtBid != nil && t.bid != nil && t.price <= *t.bid {
			*r.VolumeAtBid += t.size
		}
		if r.VolumeAtAsk != nil && t.ask != nil && t.price >= *t.ask {
			*r.VolumeAtAsk += t.size
		}
	}
	rows := make([]row, 0, len(byPrice))
	for _, r := range byPrice {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(b.Price, a.Price) })
	return http.StatusOK, marshal(struct {
		head
		Data []row `json:"data"`
	}{h, rows})
}

// symbolsOf lists the recorded symbols of a product, sorted.
func (s *Server) symbolsOf(product string) []string {
	var out []string
	for _, sym := range s.rest.symbols() {
		rq := restQuery{product: product, symbol: sym}
		if _, _, _, _, ok := s.reference(rq); ok {
			out = append(out, sym)
		}
	}
	slices.Sort(out)
	return out
}

func (s *Server) restTickers(rq restQuery) (int, []byte) {
	typ := rq.q.Get("type")
	if typ == "" {
		return badRequest("type should not be empty")
	}
	session := rq.q.Get("session")
	if rq.product == "futopt" && session != "" && session != "REGULAR" && session != "AFTERHOURS" {
		// Lower case is accepted and matches nothing, as on the service.
		return http.StatusOK, marshal(map[string]any{"type": typ, "exchange": "TAIFEX", "session": session, "data": []any{}})
	}
	var data []map[string]any
	list := restQuery{product: rq.product, variant: session == "AFTERHOURS"}
	for _, sym := range s.symbolsOf(rq.product) {
		list.symbol = sym
		ref, _, name, h, ok := s.reference(list)
		if !ok {
			continue
		}
		if name == "" {
			name = names[sym]
		}
		if rq.product == "stock" {
			if typ != "ODDLOT" && typ != h.Type {
				continue
			}
			data = append(data, map[string]any{"symbol": sym, "name": cmp.Or(name, sym)})
			continue
		}
		if p := rq.q.Get("product"); p != "" && !strings.HasPrefix(sym, p) {
			continue
		}
		data = append(data, map[string]any{"symbol": sym, "type": h.Type, "name": cmp.Or(name, sym), "referencePrice": ref})
	}
	if data == nil {
		data = []map[string]any{}
	}
	if rq.product == "stock" {
		return http.StatusOK, marshal(struct {
			Date     string           `json:"date"`
			Type     string           `json:"type"`
			Exchange string           `json:"exchange"`
			Data     []map[string]any `json:"data"`
		}{dateOf(0), typ, "TWSE", data})
	}
	return http.StatusOK, marshal(struct {
		Type     string           `json:"type"`
		Exchange string           `json:"exchange"`
		Session  string           `json:"session"`
		Product  string           `json:"product,omitempty"`
		Data     []map[string]any `json:"data"`
	}{typ, "TAIFEX", cmp.Or(session, "REGULAR"), rq.q.Get("product"), data})
}

// productCode is the product of a contract code: its leading letters.
func productCode(sym string) string {
	i := strings.IndexFunc(sym, func(r rune) bool { return r < 'A' || r > 'Z' })
	if i < 0 || i > 3 {
		return sym[:min(3, len(sym))]
	}
	return sym[:i]
}

func (s *Server) restProducts(rq restQuery) (int, []byte) {
	typ := rq.q.Get("type")
	if typ == "" {
		return badRequest("type should not be empty")
	}
	seen := map[string]bool{}
	data := []map[string]any{}
	for _, sym := range s.symbolsOf("futopt") {
		code := productCode(sym)
		if seen[code] {
			continue
		}
		seen[code] = true
		data = append(data, map[string]any{"symbol": code, "type": typ, "name": code, "contractType": "I", "endSession": "0",
			"statusCode": "N", "tradingCurrency": "TWD", "underlyingSymbol": "", "underlyingType": ""})
	}
	return http.StatusOK, marshal(struct {
		Type     string           `json:"type"`
		Exchange string           `json:"exchange"`
		Session  string           `json:"session,omitempty"`
		Data     []map[string]any `json:"data"`
	}{typ, "TAIFEX", rq.q.Get("session"), data})
}

// dayStats is a stock's day from its latest aggregate.
type dayStats struct {
	typ, symbol, name, market, date          string
	open, high, low, close, change, changePc float64
	volume                                   int64
	value                                    float64
	prev                                     float64
	updated                                  int64
}

func (s *Server) dayStats(rq restQuery) (dayStats, bool) {
	p, ok := s.latestAggregate(rq)
	if !ok {
		return dayStats{}, false
	}
	return dayStats{
		typ: cmp.Or(p.Get("type").Str, "EQUITY"), symbol: rq.symbol, name: p.Get("name").Str, market: cmp.Or(p.Get("market").Str, "TSE"),
		date: p.Get("date").Str, open: p.Get("openPrice").Num, high: p.Get("highPrice").Num, low: p.Get("lowPrice").Num,
		close: p.Get("closePrice").Num, change: p.Get("change").Num, changePc: p.Get("changePercent").Num,
		volume: p.Get("total.tradeVolume").Int(), value: p.Get("total.tradeValue").Num,
		prev: p.Get("previousClose").Num, updated: p.Get("lastUpdated").Int(),
	}, true
}

func (s *Server) restStats(rq restQuery) (int, []byte) {
	d, ok := s.dayStats(rq)
	if !ok {
		return notFound()
	}
	return http.StatusOK, marshal(struct {
		Date          string  `json:"date"`
		Type          string  `json:"type"`
		Exchange      string  `json:"exchange"`
		Market        string  `json:"market"`
		Symbol        string  `json:"symbol"`
		Name          string  `json:"name"`
		OpenPrice     float64 `json:"openPrice"`
		HighPrice     float64 `json:"highPrice"`
		LowPrice      float64 `json:"lowPrice"`
		ClosePrice    float64 `json:"closePrice"`
		Change        float64 `json:"change"`
		TradeVolume   int64   `json:"tradeVolume"`
		TradeValue    float64 `json:"tradeValue"`
		PreviousClose float64 `json:"previousClose"`
		Week52High    float64 `json:"week52High"`
		Week52Low     float64 `json:"week52Low"`
	}{d.date, d.typ, "TWSE", d.market, d.symbol, d.name, d.open, d.high, d.low, d.close, d.change, d.volume, d.value, d.prev, d.high, d.low})
}

// restHistoricalCandles answers with the one day the record knows, today,
// as a daily bar.
func (s *Server) restHistoricalCandles(rq restQuery) (int, []byte) {
	d, ok := s.dayStats(rq)
	if !ok {
		return notFound()
	}
	tf := cmp.Or(rq.q.Get("timeframe"), "D")
	bar := map[string]any{"date": d.date}
	fields := strings.Split(cmp.Or(rq.q.Get("fields"), "open,high,low,close,volume,turnover,change"), ",")
	values := map[string]any{"open": d.open, "high": d.high, "low": d.low, "close": d.close, "volume": d.volume, "turnover": d.value, "change": d.change}
	for _, f := range fields {
		if v, ok := values[f]; ok {
			bar[f] = v
		}
	}
	return http.StatusOK, marshal(struct {
		Symbol    string           `json:"symbol"`
		Type      string           `json:"type"`
		Exchange  string           `json:"exchange"`
		Market    string           `json:"market"`
		Timeframe string           `json:"timeframe"`
		Data      []map[string]any `json:"data"`
	}{d.symbol, d.typ, "TWSE", d.market, tf, []map[string]any{bar}})
}

type snapshotRow struct {
	Type          string  `json:"type"`
	Symbol        string  `json:"symbol"`
	Name          string  `json:"name"`
	OpenPrice     float64 `json:"openPrice"`
	HighPrice     float64 `json:"highPrice"`
	LowPrice      float64 `json:"lowPrice"`
	ClosePrice    float64 `json:"closePrice"`
	Change        float64 `json:"change"`
	ChangePercent float64 `json:"changePercent"`
	TradeVolume   int64   `json:"tradeVolume"`
	TradeValue    float64 `json:"tradeValue"`
	LastUpdated   int64   `json:"lastUpdated"`
}

func (s *Server) restSnapshot(rq restQuery) (int, []byte) {
	market := rq.symbol
	var rows []snapshotRow
	var updated int64
	for _, sym := range s.rest.symbols() {
		d, ok := s.dayStats(restQuery{product: "stock", symbol: sym})
		if !ok || d.market != market {
			continue
		}
		rows = append(rows, snapshotRow{d.typ, sym, d.name, d.open, d.high, d.low, d.close, d.change, d.changePc, d.volume, d.value, d.updated})
		updated = max(updated, d.updated)
	}
	out := struct {
		Date   string        `json:"date"`
		Time   string        `json:"time"`
		Market string        `json:"market"`
		Change string        `json:"change,omitempty"`
		Trade  string        `json:"trade,omitempty"`
		Data   []snapshotRow `json:"data"`
	}{Date: dateOf(updated), Time: time.UnixMicro(updated).In(taipei).Format("150405"), Market: market}
	switch rq.endpoint {
	case "movers":
		dir, change := rq.q.Get("direction"), rq.q.Get("change")
		if (dir != "up" && dir != "down") || (change != "percent" && change != "value") {
			return badRequest("direction and change are required")
		}
		out.Change = change
		metric := func(r snapshotRow) float64 {
			if change == "percent" {
				return r.ChangePercent
			}
			return r.Change
		}
		filters := map[string]func(a, b float64) bool{
			"gt": func(a, b float64) bool { return a > b }, "gte": func(a, b float64) bool { return a >= b },
			"lt": func(a, b float64) bool { return a < b }, "lte": func(a, b float64) bool { return a <= b },
			"eq": func(a, b float64) bool { return a == b },
		}
		kept := rows[:0]
		for _, r := range rows {
			m := metric(r)
			if (dir == "up" && m <= 0) || (dir == "down" && m >= 0) {
				continue
			}
			ok := true
			for k, f := range filters {
				if v := rq.q.Get(k); v != "" {
					x, err := strconv.ParseFloat(v, 64)
					ok = ok && err == nil && f(m, x)
				}
			}
			if ok {
				kept = append(kept, r)
			}
		}
		rows = kept
		slices.SortFunc(rows, func(a, b snapshotRow) int {
			if dir == "down" {
				return cmp.Compare(metric(a), metric(b))
			}
			return cmp.Compare(metric(b), metric(a))
		})
	case "actives":
		trade := rq.q.Get("trade")
		if trade != "volume" && trade != "value" {
			return badRequest("trade is required")
		}
		out.Trade = trade
		slices.SortFunc(rows, func(a, b snapshotRow) int {
			if trade == "value" {
				return cmp.Compare(b.TradeValue, a.TradeValue)
			}
			return cmp.Compare(b.TradeVolume, a.TradeVolume)
		})
	default:
		slices.SortFunc(rows, func(a, b snapshotRow) int { return cmp.Compare(a.Symbol, b.Symbol) })
	}
	if rows == nil {
		rows = []snapshotRow{}
	}
	out.Data = rows
	return http.StatusOK, marshal(out)
}
