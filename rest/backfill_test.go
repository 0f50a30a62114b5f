package rest_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/rest"
)

// healSession runs the backfill scenario: symbols subscribed to trades,
// serials 1-10 live, every connection dropped, 11-30 published while the
// client is away, 31-40 after it restores. It returns what the consumer got.
func healSession(t *testing.T, symbols []string, hold bool, edit func(*marketdatatest.Server, *rest.Option)) (map[string][]marketdata.Trade, []marketdata.Backfilled, *marketdatatest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("k"))
	t.Cleanup(srv.Close)
	ro := rest.Option{APIKey: "k", BaseURL: srv.RESTURL()}
	if edit != nil {
		edit(srv, &ro)
	}
	rc, err := rest.NewClient(ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.CloseIdleConnections)
	c, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		Endpoint: srv.StockURL(), APIKey: "k", Ordered: true, Backfill: rc.Backfill(), BackfillHold: hold,
		DropPolicy: marketdata.Block, BlockTimeout: -1,
		ReconnectInitialInterval: 10 * time.Millisecond, ReconnectMaxInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: symbols}); err != nil {
		t.Fatal(err)
	}
	volume := map[string]int64{}
	publish := func(from, to int64) {
		for i := from; i <= to; i++ {
			for _, s := range symbols {
				volume[s] += 2
				srv.Publish("trades", s, marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: s, Price: 100, Size: 2, Volume: volume[s], Serial: i}))
			}
		}
	}
	got := map[string][]marketdata.Trade{}
	var reports []marketdata.Backfilled
	count := 0
	read := func(until func() bool) {
		for !until() {
			m, err := c.Next(ctx)
			if err != nil {
				t.Fatalf("after %d trades: %v", count, err)
			}
			switch v := m.(type) {
			case marketdata.Trade:
				got[v.Symbol] = append(got[v.Symbol], v)
				count++
			case marketdata.Backfilled:
				reports = append(reports, v)
			}
		}
	}
	publish(1, 10)
	read(func() bool { return count == 10*len(symbols) })
	first := srv.Conns()[0]
	srv.DropAll()
	<-first.Done()
	publish(11, 30) // nobody is connected: only REST has these
	for _, s := range symbols {
		if err := srv.WaitForSubscribers(ctx, "trades", s, 1); err != nil {
			t.Fatal(err)
		}
	}
	publish(31, 40)
	read(func() bool { return count == 40*len(symbols) && len(reports) == len(symbols) })
	return got, reports, srv
}

func TestBackfillHealsAReconnect(t *testing.T) {
	symbols := []string{"2330", "2317", "2454"}
	for _, hold := range []bool{false, true} {
		t.Run(fmt.Sprint("hold=", hold), func(t *testing.T) {
			got, reports, _ := healSession(t, symbols, hold, nil)
			for _, s := range symbols {
				seen := map[int64]int{}
				for i, v := range got[s] {
					seen[v.Serial]++
					if v.Backfill != (v.Serial >= 11 && v.Serial <= 30) {
						t.Fatalf("%s serial %d backfill=%v", s, v.Serial, v.Backfill)
					}
					if hold && i > 0 && v.Serial <= got[s][i-1].Serial {
						t.Fatalf("%s: held live values out of order: %d after %d", s, v.Serial, got[s][i-1].Serial)
					}
				}
				for i := int64(1); i <= 40; i++ {
					if seen[i] != 1 {
						t.Fatalf("%s: serial %d delivered %d times", s, i, seen[i])
					}
				}
			}
			order := make([]string, 0, len(reports))
			for _, r := range reports {
				if !r.Complete || r.Count != 20 || r.Err != nil {
					t.Fatalf("report %v", r)
				}
				order = append(order, r.Subscription.Symbol)
			}
			if fmt.Sprint(order) != fmt.Sprint(symbols) {
				t.Fatalf("healed in order %v, subscribed %v", order, symbols)
			}
		})
	}
}

// Ten keys to heal within a budget of 30 requests a minute, against a
// server that answers 429 past 30: the budget is never exceeded.
func TestBackfillStaysWithinTheRateBudget(t *testing.T) {
	symbols := make([]string, 10)
	for i := range symbols {
		symbols[i] = fmt.Sprint(2300 + i)
	}
	got, reports, srv := healSession(t, symbols, false, func(srv *marketdatatest.Server, o *rest.Option) {
		srv.SetRESTRateLimit(30)
		o.RatePerMinute = 30
	})
	reqs := srv.RESTRequests()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].Time.Before(reqs[j].Time) })
	for i, r := range reqs {
		if r.Status == 429 {
			t.Fatalf("request %d answered 429", i)
		}
		if i >= 30 && r.Time.Sub(reqs[i-30].Time) < time.Minute {
			t.Fatalf("31 requests within %v", r.Time.Sub(reqs[i-30].Time))
		}
	}
	for _, r := range reports {
		if !r.Complete {
			t.Fatalf("report %v", r)
		}
	}
	for _, s := range symbols {
		if len(got[s]) != 40 {
			t.Fatalf("%s: %d trades", s, len(got[s]))
		}
	}
}
