package rest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

func publishTrades(srv *marketdatatest.Server, symbol string, from, to int64, start time.Time) {
	for s := from; s <= to; s++ {
		srv.Publish("trades", symbol, marketdatatest.TradeJSON(marketdatatest.Trade{
			Symbol: symbol, Price: 1000 + float64(s%5), Size: s, Bid: 999, Ask: 1001, Volume: s * (s + 1) / 2,
			Serial: s * 100, Time: start.Add(time.Duration(s) * time.Second),
		}))
	}
}

// A consumer holding trades up to serial 1000 pages through a 20-trade gap
// 7 rows at a time while 3 new trades arrive before every page: every trade
// of the gap comes exactly once.
func TestAllTradesGapWhileTrading(t *testing.T) {
	for _, tc := range []struct {
		name               string
		pageSize, srvLimit int
	}{
		{"page size 7", 7, 0},
		{"server caps pages at 7", 50, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMock(t)
			start := time.Date(2026, 1, 30, 9, 0, 0, 0, time.Local)
			publishTrades(srv, "2317", 1, 30, start) // serials 100..3000
			srv.SetRESTPageLimit(tc.srvLimit)
			var mu sync.Mutex
			next := int64(31)
			srv.OnRESTRequest(func(r marketdatatest.RESTRequest) {
				if !strings.Contains(r.Path, "/trades/") {
					return
				}
				mu.Lock()
				from := next
				next += 3
				mu.Unlock()
				publishTrades(srv, "2317", from, from+2, start)
			})
			c := newClient(t, srv.RESTURL(), Option{})
			count := map[int64]int{}
			for tr, err := range c.Stock.Intraday.AllTrades(testContext(t), "2317", AllTradesParams{PageSize: tc.pageSize, After: 1000}) {
				if err != nil {
					t.Fatal(err)
				}
				if tr.Symbol != "2317" || !tr.Has("volume") {
					t.Fatalf("row %+v", tr)
				}
				count[tr.Serial]++
			}
			for s := int64(11); s <= 30; s++ {
				if count[s*100] != 1 {
					t.Errorf("serial %d of the gap came %d times", s*100, count[s*100])
				}
			}
			for s, n := range count {
				if n != 1 || s <= 1000 {
					t.Errorf("serial %d came %d times", s, n)
				}
			}
			pages := 0
			for _, r := range srv.RESTRequests() {
				if strings.Contains(r.Path, "/trades/") {
					pages++
					if got := r.Query.Get("limit"); got != fmt.Sprint(tc.pageSize) || r.Query.Get("sort") != "desc" {
						t.Errorf("query %v", r.Query)
					}
				}
			}
			if pages < 4 {
				t.Errorf("%d pages for a 20-trade gap at 7 a page", pages)
			}
		})
	}
}

func TestAllTradesWholeDayAndStop(t *testing.T) {
	srv := newMock(t)
	publishTrades(srv, "2317", 1, 23, time.Now())
	c := newClient(t, srv.RESTURL(), Option{})
	ctx := testContext(t)
	var serials []int64
	for tr, err := range c.Stock.Intraday.AllTrades(ctx, "2317", AllTradesParams{PageSize: 5}) {
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, tr.Serial)
	}
	if len(serials) != 23 || serials[0] != 2300 || serials[22] != 100 {
		t.Fatalf("got %v", serials)
	}
	n := 0
	for range c.Stock.Intraday.AllTrades(ctx, "2317", AllTradesParams{PageSize: 5}) {
		if n++; n == 3 {
			break
		}
	}
	for _, err := range c.Stock.Intraday.AllTrades(ctx, "9999", AllTradesParams{}) {
		if err == nil {
			t.Fatal("want an error for an unknown symbol")
		}
	}
}

// Spread symbols keep their slash inside one escaped path segment; the mock
// takes the raw slash too.
func TestSpreadSymbolPath(t *testing.T) {
	srv := newMock(t)
	const spread = "TXFC4/TXFD4"
	srv.Publish("trades", spread, []byte(`{"symbol":"TXFC4/TXFD4","type":"FUTURE","exchange":"TAIFEX","trades":[{"price":50,"size":2,"bid":49,"ask":50}],"total":{"tradeVolume":2},"time":1702359886936000,"serial":7}`))
	c := newClient(t, srv.RESTURL(), Option{})
	ctx := testContext(t)
	tr, err := c.FutOpt.Intraday.Trades(ctx, spread, TradesParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Data) != 1 || tr.Data[0].Price != 50 || tr.Data[0].Serial != 7 || tr.Symbol != spread || tr.Data[0].Symbol != spread {
		t.Fatalf("got %+v", tr)
	}
	q, err := c.FutOpt.Intraday.Quote(ctx, spread, FutOptParams{})
	if err != nil || q.Symbol != spread {
		t.Fatalf("quote: %v %+v", err, q)
	}
	reqs := srv.RESTRequests()
	if uri := reqs[0].RequestURI; uri != "/marketdata/v1.0/futopt/intraday/trades/TXFC4%2FTXFD4" {
		t.Errorf("request URI %s", uri)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.RESTURL()+"/v1.0/futopt/intraday/trades/TXFC4/TXFD4", nil)
	req.Header.Set("X-API-KEY", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != 200 {
		t.Errorf("raw slash: HTTP %d", resp.StatusCode)
	}
}

func TestPathEscape(t *testing.T) {
	for in, want := range map[string]string{
		"TXFC4/TXFD4": "TXFC4%2FTXFD4",
		"TXF1!":       "TXF1!",
		"BRFJ6/F7":    "BRFJ6%2FF7",
		"a b?#&=+%":   "a%20b%3F%23%26%3D%2B%25",
		"-_.~*'()":    "-_.~*'()",
		"台積":          "%E5%8F%B0%E7%A9%8D",
	} {
		if got := PathEscape(in); got != want {
			t.Errorf("PathEscape(%q) = %q, want %q", in, got, want)
		}
	}
	c, _ := NewClient(Option{APIKey: "k"})
	if _, err := c.Stock.Intraday.Quote(testContext(t), " ", IntradayParams{}); err == nil {
		t.Error("want an error for an empty symbol")
	}
}

// A server that ignores offset would page for ever: the walk stops.
func TestAllTradesStalls(t *testing.T) {
	srv := serveBody(t, 200, `{"symbol":"2330","data":[{"price":1,"size":1,"time":1,"serial":5},{"price":1,"size":1,"time":2,"serial":6}]}`, nil)
	c := newClient(t, srv.URL, Option{})
	n := 0
	var last error
	for _, err := range c.Stock.Intraday.AllTrades(testContext(t), "2330", AllTradesParams{PageSize: 2}) {
		n++
		last = err
	}
	if n != 3 || !errors.Is(last, ErrPagingStalled) {
		t.Fatalf("%d yields, last %v", n, last)
	}
}
