package marketdata

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

func tradeFrame(symbol string, serial int64) []byte {
	return marketdatatest.DataFrame("trades", "id1", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: symbol, Price: 568, Size: 1, Serial: serial, Time: time.UnixMicro(1685338200000000)}))
}

func TestFeedDecodesFramesOntoTheTypedChannels(t *testing.T) {
	f, err := NewFeed(FeedOption{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 0)
	if err := f.Deliver(tradeFrame("2330", 7), FrameInfo{Conn: 3, Received: at, Channel: ChannelTrades, Symbol: "2330"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Deliver(marketdatatest.HeartbeatFrame(at, false), FrameInfo{}); err != nil {
		t.Fatal(err)
	}
	tr := <-f.Trades()
	if tr.Symbol != "2330" || tr.Serial != 7 || tr.Conn != 3 || !tr.Received.Equal(at) {
		t.Errorf("trade %+v", tr)
	}
	if _, ok := (<-f.Events()).(Heartbeat); !ok {
		t.Error("heartbeat frame did not become a Heartbeat event")
	}
	f.End(nil)
	if _, ok := <-f.Trades(); ok {
		t.Error("Trades not closed by End")
	}
	if err := f.Deliver(tradeFrame("2330", 8), FrameInfo{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Deliver after End: %v, want ErrClosed", err)
	}
	f.Emit(Connected{}) // after End: nothing, and no panic
}

func TestFeedRefusesGarbageAndFramesOfAnotherKey(t *testing.T) {
	f, err := NewFeed(FeedOption{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.End(nil)
	bad := [][]byte{
		[]byte("not json"),
		[]byte(`{"event":"data","channel":"trades","id":"x","data":{"symbol":"2330","price":{"a":1}}}`),
		tradeFrame("2317", 1), // wrong symbol for the key
	}
	for _, b := range bad {
		err := f.Deliver(b, FrameInfo{Channel: ChannelTrades, Symbol: "2330"})
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%q: %v, want a *DecodeError", b, err)
		}
		ev := <-f.Events()
		if ee, ok := ev.(ErrorEvent); !ok || !errors.As(ee.Err, &de) {
			t.Errorf("%q: event %v, want an ErrorEvent with a *DecodeError", b, ev)
		}
	}
	if err := f.Deliver(tradeFrame("2317", 1), FrameInfo{Channel: ChannelTrades, Symbol: "2330"}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong symbol: %v, want ErrWrongKey", err)
	}
	<-f.Events()
	if got := f.Stats().Malformed; got != 4 {
		t.Errorf("Malformed %d, want 4", got)
	}
	if err := f.Deliver(tradeFrame("2330", 2), FrameInfo{Channel: ChannelTrades, Symbol: "2330"}); err != nil {
		t.Fatalf("a good frame after garbage: %v", err)
	}
	if tr := <-f.Trades(); tr.Serial != 2 {
		t.Errorf("serial %d", tr.Serial)
	}
}

func TestFeedOrderedKeepsEventsInPlaceAndCountsDrops(t *testing.T) {
	f, err := NewFeed(FeedOption{Ordered: true, BufferSize: 4, DropPolicy: DropNewest})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Deliver(tradeFrame("2330", 1), FrameInfo{})
	f.Send(Gap{Source: "gw", Start: true})
	_ = f.Deliver(tradeFrame("2330", 2), FrameInfo{})
	for i := int64(3); i <= 10; i++ { // two fit, six are dropped
		_ = f.Deliver(tradeFrame("2330", i), FrameInfo{})
	}
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, describeMessage(<-f.Messages()))
	}
	want := []string{"trade 2330 1", "marketdata.Gap", "trade 2330 2", "trade 2330 3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if st := f.Stats().Messages; st.Dropped != 7 {
		t.Errorf("dropped %d, want 7 (stats %+v)", st.Dropped, st)
	}
	f.End(errors.New("source gone"))
	var ended []Message
	for m := range f.All() {
		ended = append(ended, m)
	}
	if len(ended) != 1 {
		t.Fatalf("after End: %v, want the drop report", ended)
	}
	if d, ok := ended[0].(Dropped); !ok || d.Count != 7 {
		t.Errorf("after End: %v, want one Dropped of 7", ended[0])
	}
	if _, err := f.Next(context.Background()); !errors.Is(err, ErrClosed) || f.Err() == nil {
		t.Errorf("Next after End: %v (Err %v)", err, f.Err())
	}
}

func TestFeedEndReleasesABlockedDeliver(t *testing.T) {
	f, err := NewFeed(FeedOption{BufferSize: 1, DropPolicy: Block, BlockTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Deliver(tradeFrame("2330", 1), FrameInfo{})
	returned := make(chan error)
	go func() { returned <- f.Deliver(tradeFrame("2330", 2), FrameInfo{}) }()
	f.End(nil) // must not wait for a reader, whether Deliver is waiting yet or not
	err = <-returned
	st := f.Stats().Trades
	switch {
	case err == nil && st.Dropped != 1:
		t.Errorf("the value the blocked Deliver held is not counted as dropped: %+v", st)
	case err != nil && !errors.Is(err, ErrClosed):
		t.Errorf("Deliver returned %v", err)
	}
}

func TestFeedRejectsBadOptions(t *testing.T) {
	if _, err := NewFeed(FeedOption{BufferSize: -1}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("BufferSize -1: %v", err)
	}
}
