package natsbus

import (
	"testing"

	"github.com/go-fugle/marketdata"
)

func TestTwoConsumersGetExactlyTheirKeysOnceInOrder(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	startGateway(t, connect(t, ns.ClientURL()), srv, nil)

	a := newClient(t, connect(t, ns.ClientURL()), ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	b := newClient(t, connect(t, ns.ClientURL()), ClientOption{FeedOption: marketdata.FeedOption{Ordered: true}})
	subscribe(t, a, marketdata.ChannelTrades, "2330", "2317")
	subscribe(t, b, marketdata.ChannelTrades, "2317", "2454")
	ca, cb := collect(a), collect(b)

	const n = 200
	for i := int64(1); i <= n; i++ {
		for _, s := range []string{"2330", "2317", "2454", "1101"} {
			srv.Publish("trades", s, trade(s, i))
		}
	}
	waitFor(t, "a's trades", func() bool { return ca.tradeCount() >= 2*n })
	waitFor(t, "b's trades", func() bool { return cb.tradeCount() >= 2*n })
	_ = a.Close()
	_ = b.Close()
	<-ca.done
	<-cb.done

	for name, col := range map[string]*collector{"a": ca, "b": cb} {
		want := map[string]bool{"2330": name == "a", "2317": true, "2454": name == "b"}
		got := col.serials()
		for s, wanted := range want {
			if !wanted {
				if len(got[s]) > 0 {
					t.Errorf("%s got %d trades of %s, which it never subscribed", name, len(got[s]), s)
				}
				continue
			}
			if err := checkRun(got[s], 1, n); err != nil {
				t.Errorf("%s %s: %v", name, s, err)
			}
		}
		if len(got["1101"]) > 0 {
			t.Errorf("%s got trades of 1101", name)
		}
	}
}
