package natsbus

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/nats-io/nats.go"
)

// Anyone on the bus can publish on a feed subject. What is not a frame of
// the subject's key is reported as a decode error, counted, and skipped;
// the values after it still arrive.
func TestGarbageOnAFeedSubjectIsReportedAndSkipped(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	startGateway(t, connect(t, ns.ClientURL()), srv, nil)
	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, c, marketdata.ChannelTrades, "2330")
	col := collect(c)

	subject := Key{Product: Stock, Channel: marketdata.ChannelTrades, Symbol: "2330"}.Subject(DefaultPrefix)
	objectPrice := bytes.Replace(trade("2330", 1), []byte(`"price":501`), []byte(`"price":{"value":501}`), 1)
	if bytes.Equal(objectPrice, trade("2330", 1)) {
		t.Fatal("the trade payload has no price to spoil")
	}
	books := marketdatatest.BooksJSON("2330", []marketdatatest.Level{{Price: 500, Size: 1}}, nil, time.UnixMicro(1685338200000000))
	garbage := []struct {
		name     string
		msg      *nats.Msg
		wrongKey bool
	}{
		{"not JSON", &nats.Msg{Data: []byte("not json at all")}, false},
		{"price as an object", &nats.Msg{Data: marketdatatest.DataFrame("trades", "x", objectPrice)}, false},
		{"another symbol's trade", &nats.Msg{Data: marketdatatest.DataFrame("trades", "x", trade("2317", 2))}, true},
		{"another channel's frame", &nats.Msg{Data: marketdatatest.DataFrame("books", "x", books)}, true},
		{"a gap marker that is not JSON", &nats.Msg{Data: []byte("{gap"), Header: nats.Header{headerMarker: {markerGapStart}}}, false},
	}
	pub := connect(t, ns.ClientURL())
	for _, g := range garbage {
		g.msg.Subject = subject
		if err := pub.PublishMsg(g.msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	// The garbage is in the stream ahead of the valid values.
	waitStreamMsgs(t, pub, uint64(len(garbage)))
	publishTradesOnce(t, srv, "2330", 1, 3)
	waitFor(t, "the valid values after the garbage", func() bool { return col.tradeCount() == 3 })

	all := col.snapshot()
	var errs []*marketdata.DecodeError
	firstTrade := -1
	for i, m := range all {
		switch v := m.(type) {
		case marketdata.ErrorEvent:
			var de *marketdata.DecodeError
			if !errors.As(v.Err, &de) {
				t.Errorf("error event %v does not hold a *DecodeError", v)
				continue
			}
			if firstTrade >= 0 {
				t.Errorf("a decode error at %d follows the first valid value at %d", i, firstTrade)
			}
			errs = append(errs, de)
		case marketdata.Trade:
			if firstTrade < 0 {
				firstTrade = i
			}
		case marketdata.Gap:
			t.Errorf("the spoilt marker became a gap: %v", v)
		}
	}
	if len(errs) != len(garbage) {
		t.Fatalf("%d decode errors, want %d (one per garbage frame)", len(errs), len(garbage))
	}
	for i, g := range garbage {
		if !bytes.HasPrefix(g.msg.Data, errs[i].Frame) || len(errs[i].Frame) == 0 {
			t.Errorf("%s: decode error %d holds frame %q", g.name, i, errs[i].Frame)
		}
		if got := errors.Is(errs[i], marketdata.ErrWrongKey); got != g.wrongKey {
			t.Errorf("%s: errors.Is(ErrWrongKey) = %v, want %v (%v)", g.name, got, g.wrongKey, errs[i])
		}
	}
	if m := c.Stats().Malformed; m != uint64(len(garbage)) {
		t.Errorf("Stats().Malformed = %d, want %d", m, len(garbage))
	}
	if err := checkRun(col.serials()["2330"], 1, 3); err != nil {
		t.Error(err)
	}
}
