package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
)

// The rivals are what a Go user writes instead of using the SDK: gorilla's
// ReadMessage on one reader goroutine, a decode of each frame into the
// user's own tagged structs, and buffered channels to a consumer goroutine.
// The structs carry what the SDK's Trade, Book and Aggregate carry for the
// stock channels (the futures-only members left out), so that both sides
// hand the consumer the same information.

// userTrade is a trades payload.
type userTrade struct {
	ID       string `json:"-"`
	Channel  string `json:"-"`
	Snapshot bool   `json:"-"`

	Symbol   string  `json:"symbol"`
	Type     string  `json:"type"`
	Exchange string  `json:"exchange"`
	Market   string  `json:"market"`
	Time     int64   `json:"time"`
	Serial   int64   `json:"serial"`
	Bid      float64 `json:"bid"`
	Ask      float64 `json:"ask"`
	Price    float64 `json:"price"`
	Size     int64   `json:"size"`
	Volume   int64   `json:"volume"`
	userFlags
}

// userFlags are the boolean flags of trades and aggregates.
type userFlags struct {
	IsLimitDownPrice bool `json:"isLimitDownPrice"`
	IsLimitUpPrice   bool `json:"isLimitUpPrice"`
	IsLimitDownBid   bool `json:"isLimitDownBid"`
	IsLimitUpBid     bool `json:"isLimitUpBid"`
	IsLimitDownAsk   bool `json:"isLimitDownAsk"`
	IsLimitUpAsk     bool `json:"isLimitUpAsk"`
	IsLimitDownHalt  bool `json:"isLimitDownHalt"`
	IsLimitUpHalt    bool `json:"isLimitUpHalt"`
	IsTrial          bool `json:"isTrial"`
	IsDelayedOpen    bool `json:"isDelayedOpen"`
	IsDelayedClose   bool `json:"isDelayedClose"`
	IsContinuous     bool `json:"isContinuous"`
	IsOpen           bool `json:"isOpen"`
	IsClose          bool `json:"isClose"`
}

// userLevel is one price level of a book side.
type userLevel struct {
	Price float64 `json:"price"`
	Size  int64   `json:"size"`
}

// userBook is a books payload.
type userBook struct {
	ID       string `json:"-"`
	Channel  string `json:"-"`
	Snapshot bool   `json:"-"`

	Symbol   string      `json:"symbol"`
	Type     string      `json:"type"`
	Exchange string      `json:"exchange"`
	Market   string      `json:"market"`
	Time     int64       `json:"time"`
	Serial   int64       `json:"serial"`
	IsTrial  bool        `json:"isTrial"`
	Bids     []userLevel `json:"bids"`
	Asks     []userLevel `json:"asks"`
}

// userTotal is the "total" object of an aggregate.
type userTotal struct {
	TradeValue       int64 `json:"tradeValue"`
	TradeVolume      int64 `json:"tradeVolume"`
	TradeVolumeAtBid int64 `json:"tradeVolumeAtBid"`
	TradeVolumeAtAsk int64 `json:"tradeVolumeAtAsk"`
	Transaction      int64 `json:"transaction"`
	TotalBidMatch    int64 `json:"totalBidMatch"`
	TotalAskMatch    int64 `json:"totalAskMatch"`
	Time             int64 `json:"time"`
}

// userTick is the "lastTrade" or "lastTrial" object of an aggregate.
type userTick struct {
	Bid    float64 `json:"bid"`
	Ask    float64 `json:"ask"`
	Price  float64 `json:"price"`
	Size   int64   `json:"size"`
	Time   int64   `json:"time"`
	Serial int64   `json:"serial"`
}

// userHalt is the "tradingHalt" object of an aggregate.
type userHalt struct {
	IsHalted bool  `json:"isHalted"`
	Time     int64 `json:"time"`
}

// userAggregate is an aggregates payload.
type userAggregate struct {
	ID       string `json:"-"`
	Channel  string `json:"-"`
	Snapshot bool   `json:"-"`

	Date           string      `json:"date"`
	Type           string      `json:"type"`
	Exchange       string      `json:"exchange"`
	Market         string      `json:"market"`
	Symbol         string      `json:"symbol"`
	Name           string      `json:"name"`
	ReferencePrice float64     `json:"referencePrice"`
	PreviousClose  float64     `json:"previousClose"`
	OpenPrice      float64     `json:"openPrice"`
	OpenTime       int64       `json:"openTime"`
	HighPrice      float64     `json:"highPrice"`
	HighTime       int64       `json:"highTime"`
	LowPrice       float64     `json:"lowPrice"`
	LowTime        int64       `json:"lowTime"`
	ClosePrice     float64     `json:"closePrice"`
	CloseTime      int64       `json:"closeTime"`
	AvgPrice       float64     `json:"avgPrice"`
	Change         float64     `json:"change"`
	ChangePercent  float64     `json:"changePercent"`
	Amplitude      float64     `json:"amplitude"`
	LastPrice      float64     `json:"lastPrice"`
	LastSize       int64       `json:"lastSize"`
	Bids           []userLevel `json:"bids"`
	Asks           []userLevel `json:"asks"`
	Total          userTotal   `json:"total"`
	LastTrade      userTick    `json:"lastTrade"`
	LastTrial      userTick    `json:"lastTrial"`
	userFlags
	Serial      int64    `json:"serial"`
	LastUpdated int64    `json:"lastUpdated"`
	TradingHalt userHalt `json:"tradingHalt"`
}

// userEnvelope is the outer object of every frame; Data is decoded once
// Channel says into what.
type userEnvelope struct {
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
	ID      string          `json:"id"`
	Channel string          `json:"channel"`
}

// userOutlets are the consumer's channels. send gives up once stop is
// closed, so that a reader never outlives a consumer that has quit.
type userOutlets struct {
	trades chan userTrade
	books  chan userBook
	aggs   chan userAggregate
	stop   chan struct{}
}

func send[T any](ch chan<- T, v T, stop <-chan struct{}) {
	select {
	case ch <- v:
	case <-stop:
	}
}

// decodeFunc decodes one message and sends what it holds to out. It
// reports whether it was a data frame.
type decodeFunc func(msg []byte, out *userOutlets) (bool, error)

// decodeJSON is the encoding/json rival: the envelope with Data left raw,
// then Data into the struct of its channel.
func decodeJSON(msg []byte, out *userOutlets) (bool, error) {
	var env userEnvelope
	if err := json.Unmarshal(msg, &env); err != nil {
		return false, err
	}
	if env.Event != "data" && env.Event != "snapshot" {
		return false, nil
	}
	snap := env.Event == "snapshot"
	switch env.Channel {
	case "trades":
		var v userTrade
		if err := json.Unmarshal(env.Data, &v); err != nil {
			return true, err
		}
		v.ID, v.Channel, v.Snapshot = env.ID, env.Channel, snap
		send(out.trades, v, out.stop)
	case "books":
		var v userBook
		if err := json.Unmarshal(env.Data, &v); err != nil {
			return true, err
		}
		v.ID, v.Channel, v.Snapshot = env.ID, env.Channel, snap
		send(out.books, v, out.stop)
	case "aggregates":
		var v userAggregate
		if err := json.Unmarshal(env.Data, &v); err != nil {
			return true, err
		}
		v.ID, v.Channel, v.Snapshot = env.ID, env.Channel, snap
		send(out.aggs, v, out.stop)
	default:
		return true, fmt.Errorf("channel %q", env.Channel)
	}
	return true, nil
}

// The gjson paths of each payload, in the order the decoders below read
// their results.
var (
	flagPaths   = []string{"isLimitDownPrice", "isLimitUpPrice", "isLimitDownBid", "isLimitUpBid", "isLimitDownAsk", "isLimitUpAsk", "isLimitDownHalt", "isLimitUpHalt", "isTrial", "isDelayedOpen", "isDelayedClose", "isContinuous", "isOpen", "isClose"}
	tradePaths  = append([]string{"symbol", "type", "exchange", "market", "time", "serial", "bid", "ask", "price", "size", "volume"}, flagPaths...)
	bookPaths   = []string{"symbol", "type", "exchange", "market", "time", "serial", "isTrial", "bids", "asks"}
	aggPaths    = append([]string{"date", "type", "exchange", "market", "symbol", "name", "referencePrice", "previousClose", "openPrice", "openTime", "highPrice", "highTime", "lowPrice", "lowTime", "closePrice", "closeTime", "avgPrice", "change", "changePercent", "amplitude", "lastPrice", "lastSize", "bids", "asks", "total", "lastTrade", "lastTrial", "serial", "lastUpdated", "tradingHalt"}, flagPaths...)
	totalPaths  = []string{"tradeValue", "tradeVolume", "tradeVolumeAtBid", "tradeVolumeAtAsk", "transaction", "totalBidMatch", "totalAskMatch", "time"}
	tickPaths   = []string{"bid", "ask", "price", "size", "time", "serial"}
	envelopeIdx = []string{"event", "channel", "id", "data"}
)

func gjsonFlags(r []gjson.Result) userFlags {
	return userFlags{
		IsLimitDownPrice: r[0].Bool(), IsLimitUpPrice: r[1].Bool(), IsLimitDownBid: r[2].Bool(), IsLimitUpBid: r[3].Bool(),
		IsLimitDownAsk: r[4].Bool(), IsLimitUpAsk: r[5].Bool(), IsLimitDownHalt: r[6].Bool(), IsLimitUpHalt: r[7].Bool(),
		IsTrial: r[8].Bool(), IsDelayedOpen: r[9].Bool(), IsDelayedClose: r[10].Bool(), IsContinuous: r[11].Bool(),
		IsOpen: r[12].Bool(), IsClose: r[13].Bool(),
	}
}

func gjsonLevels(r gjson.Result) []userLevel {
	items := r.Array()
	out := make([]userLevel, 0, len(items))
	for _, it := range items {
		out = append(out, userLevel{Price: it.Get("price").Float(), Size: it.Get("size").Int()})
	}
	return out
}

func gjsonTick(r gjson.Result) userTick {
	v := gjson.GetMany(r.Raw, tickPaths...)
	return userTick{Bid: v[0].Float(), Ask: v[1].Float(), Price: v[2].Float(), Size: v[3].Int(), Time: v[4].Int(), Serial: v[5].Int()}
}

// decodeGJSON is the gjson rival: the envelope's members with
// GetManyBytes, then the payload's members with GetMany on "data". gjson
// checks no more of a frame than its lookups walk through.
func decodeGJSON(msg []byte, out *userOutlets) (bool, error) {
	env := gjson.GetManyBytes(msg, envelopeIdx...)
	event, channel, id, data := env[0].Str, env[1].Str, env[2].Str, env[3]
	if event != "data" && event != "snapshot" {
		return false, nil
	}
	if !data.IsObject() {
		return true, errors.New("data is not an object")
	}
	snap := event == "snapshot"
	switch channel {
	case "trades":
		r := gjson.GetMany(data.Raw, tradePaths...)
		send(out.trades, userTrade{
			ID: id, Channel: channel, Snapshot: snap,
			Symbol: r[0].Str, Type: r[1].Str, Exchange: r[2].Str, Market: r[3].Str,
			Time: r[4].Int(), Serial: r[5].Int(), Bid: r[6].Float(), Ask: r[7].Float(), Price: r[8].Float(),
			Size: r[9].Int(), Volume: r[10].Int(), userFlags: gjsonFlags(r[11:]),
		}, out.stop)
	case "books":
		r := gjson.GetMany(data.Raw, bookPaths...)
		send(out.books, userBook{
			ID: id, Channel: channel, Snapshot: snap,
			Symbol: r[0].Str, Type: r[1].Str, Exchange: r[2].Str, Market: r[3].Str,
			Time: r[4].Int(), Serial: r[5].Int(), IsTrial: r[6].Bool(), Bids: gjsonLevels(r[7]), Asks: gjsonLevels(r[8]),
		}, out.stop)
	case "aggregates":
		r := gjson.GetMany(data.Raw, aggPaths...)
		t := gjson.GetMany(r[24].Raw, totalPaths...)
		send(out.aggs, userAggregate{
			ID: id, Channel: channel, Snapshot: snap,
			Date: r[0].Str, Type: r[1].Str, Exchange: r[2].Str, Market: r[3].Str, Symbol: r[4].Str, Name: r[5].Str,
			ReferencePrice: r[6].Float(), PreviousClose: r[7].Float(), OpenPrice: r[8].Float(), OpenTime: r[9].Int(),
			HighPrice: r[10].Float(), HighTime: r[11].Int(), LowPrice: r[12].Float(), LowTime: r[13].Int(),
			ClosePrice: r[14].Float(), CloseTime: r[15].Int(), AvgPrice: r[16].Float(), Change: r[17].Float(),
			ChangePercent: r[18].Float(), Amplitude: r[19].Float(), LastPrice: r[20].Float(), LastSize: r[21].Int(),
			Bids: gjsonLevels(r[22]), Asks: gjsonLevels(r[23]),
			Total: userTotal{
				TradeValue: t[0].Int(), TradeVolume: t[1].Int(), TradeVolumeAtBid: t[2].Int(), TradeVolumeAtAsk: t[3].Int(),
				Transaction: t[4].Int(), TotalBidMatch: t[5].Int(), TotalAskMatch: t[6].Int(), Time: t[7].Int(),
			},
			LastTrade: gjsonTick(r[25]), LastTrial: gjsonTick(r[26]),
			Serial: r[27].Int(), LastUpdated: r[28].Int(),
			TradingHalt: userHalt{IsHalted: r[29].Get("isHalted").Bool(), Time: r[29].Get("time").Int()},
			userFlags:   gjsonFlags(r[30:]),
		}, out.stop)
	default:
		return true, fmt.Errorf("channel %q", channel)
	}
	return true, nil
}

// handClient runs a hand-written client: one reader goroutine that reads
// each message with ReadMessage and decodes it with decode, buffered
// channels as deep as the SDK's, and one consumer goroutine (this one) that
// selects on them, reads a field of every value, and counts to n.
func handClient(ctx context.Context, base string, w *workload, n, buffer int, decode decodeFunc) (run clientRun, err error) {
	ws, err := dialSubscribed(ctx, base, w)
	if err != nil {
		return clientRun{}, err
	}
	out := &userOutlets{
		trades: make(chan userTrade, buffer),
		books:  make(chan userBook, buffer),
		aggs:   make(chan userAggregate, buffer),
		stop:   make(chan struct{}),
	}
	var (
		wg        sync.WaitGroup
		readErr   error
		malformed int
	)
	readerDone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(readerDone)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				readErr = err
				return
			}
			if _, err := decode(msg, out); err != nil {
				malformed++
			}
		}
	}()
	defer func() {
		close(out.stop)
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = ws.Close()
		wg.Wait()
		if malformed > 0 {
			run.problems = append(run.problems, fmt.Sprintf("%d frames did not decode", malformed))
		}
	}()

	var (
		first time.Time
		sum   int64 // touches every value, as a consumer would
		count int
	)
	for count < n {
		select {
		case v := <-out.trades:
			sum += v.Serial
		case v := <-out.books:
			sum += v.Bids[0].Size
		case v := <-out.aggs:
			sum += v.Serial
		case <-readerDone:
			return run, fmt.Errorf("after %d messages: %w", count, readErr)
		case <-ctx.Done():
			return run, fmt.Errorf("after %d messages: %w", count, ctx.Err())
		}
		if count == 0 {
			first = time.Now()
		}
		count++
	}
	run.elapsed = time.Since(first)
	run.messages = count
	checksum.Add(sum)
	return run, nil
}
