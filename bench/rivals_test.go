package main

import (
	"testing"

	"github.com/go-fugle/marketdata/messages"
)

// The rivals must deliver what the SDK delivers from the same frames, or the
// comparison would be of different work.
func TestRivalsDecodeLikeTheSDK(t *testing.T) {
	w := newWorkload(symbolList(50), false, 9)
	dec := messages.NewDecoder()
	for name, decode := range map[string]decodeFunc{"gorilla-json": decodeJSON, "gorilla-gjson": decodeGJSON} {
		out := &userOutlets{
			trades: make(chan userTrade, 1),
			books:  make(chan userBook, 1),
			aggs:   make(chan userAggregate, 1),
			stop:   make(chan struct{}),
		}
		for i, fr := range w.pool.frames[:600] {
			payload := w.pool.buf[fr.end-fr.payload : fr.end]
			f, err := dec.Frame(payload)
			if err != nil {
				t.Fatal(err)
			}
			isData, err := decode(payload, out)
			if err != nil || !isData {
				t.Fatalf("%s: frame %d: data %v, %v", name, i, isData, err)
			}
			switch f.Channel {
			case messages.ChannelTrades:
				var want messages.Trade
				if err := dec.Trade(&f, &want); err != nil {
					t.Fatal(err)
				}
				got := <-out.trades
				if got.ID != want.ID || got.Symbol != want.Symbol || got.Market != want.Market || got.Serial != want.Serial ||
					got.Price != want.Price || got.Bid != want.Bid || got.Volume != want.Volume || int64(want.Time) != got.Time || got.IsClose != want.IsClose {
					t.Fatalf("%s: frame %d: %+v, the SDK %+v", name, i, got, want)
				}
			case messages.ChannelBooks:
				var want messages.Book
				if err := dec.Book(&f, &want); err != nil {
					t.Fatal(err)
				}
				got := <-out.books
				if got.Symbol != want.Symbol || len(got.Bids) != len(want.Bids) || len(got.Asks) != len(want.Asks) ||
					got.Bids[4].Price != want.Bids[4].Price || got.Asks[0].Size != want.Asks[0].Size || int64(want.Time) != got.Time {
					t.Fatalf("%s: frame %d: %+v, the SDK %+v", name, i, got, want)
				}
			case messages.ChannelAggregates:
				var want messages.Aggregate
				if err := dec.Aggregate(&f, &want); err != nil {
					t.Fatal(err)
				}
				got := <-out.aggs
				if got.Symbol != want.Symbol || got.Name != want.Name || got.Date != want.Date || got.Serial != want.Serial ||
					got.AvgPrice != want.AvgPrice || got.Total.TradeVolume != want.Total.TradeVolume || got.Total.Time != int64(want.Total.Time) ||
					got.LastTrade.Size != want.LastTrade.Size || got.LastTrial.Serial != want.LastTrial.Serial ||
					got.Bids[2].Size != want.Bids[2].Size || got.LastUpdated != int64(want.LastUpdated) || got.IsClose != want.IsClose {
					t.Fatalf("%s: frame %d: %+v, the SDK %+v", name, i, got, want)
				}
			}
		}
	}
}

func TestRivalsRejectBadData(t *testing.T) {
	out := &userOutlets{trades: make(chan userTrade, 1), stop: make(chan struct{})}
	for name, decode := range map[string]decodeFunc{"gorilla-json": decodeJSON, "gorilla-gjson": decodeGJSON} {
		if _, err := decode([]byte(`{"event":"data","data":null,"channel":"trades"}`), out); err == nil && name == "gorilla-gjson" {
			t.Errorf("%s: null data accepted", name)
		}
		if isData, err := decode([]byte(`{"event":"heartbeat","data":{"time":1}}`), out); isData || err != nil {
			t.Errorf("%s: heartbeat: data %v, %v", name, isData, err)
		}
	}
}
