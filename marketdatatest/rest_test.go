package marketdatatest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/tidwall/gjson"
)

const restKey = "rest-key-5a7"

func restCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// get sends GET base/v1.0/path with the header and returns the status,
// headers and body.
func get(t *testing.T, srv *marketdatatest.Server, path string, header ...string) (int, http.Header, gjson.Result) {
	t.Helper()
	req, err := http.NewRequestWithContext(restCtx(t), "GET", srv.RESTURL()+"/v1.0"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(header) == 0 {
		header = []string{"X-API-KEY", restKey}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if !gjson.ValidBytes(b) {
		t.Fatalf("GET %s: not JSON: %s", path, b)
	}
	return resp.StatusCode, resp.Header, gjson.ParseBytes(b)
}

func trade(symbol string, serial int64, price float64, size int64, t time.Time) []byte {
	return marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: symbol, Price: price, Size: size, Bid: price - 1, Ask: price, Volume: serial * 10, Serial: serial, Time: t})
}

func serials(r gjson.Result) []int64 {
	var out []int64
	for _, row := range r.Get("data").Array() {
		out = append(out, row.Get("serial").Int())
	}
	return out
}

// What the stream missed is what REST returns: trades published while no
// client is connected, while the server is silent, and to a subscriber, in
// one day of trades, newest first.
func TestRESTTradesFromWhatWasPublished(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAPIKey(restKey))
	t0 := time.Date(2026, 1, 30, 9, 0, 0, 0, time.UTC)
	if n := srv.Publish("trades", "2330", trade("2330", 1, 100, 1, t0)); n != 0 {
		t.Fatalf("published to %d", n)
	}
	c := dial(t, srv.StockURL())
	c.auth(restKey)
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`)
	ack := c.expect("subscribed")
	if n := srv.Publish("trades", "2330", trade("2330", 2, 101, 2, t0.Add(time.Second))); n != 1 {
		t.Fatalf("published to %d", n)
	}
	c.expect("data")
	srv.SetSilent(true)
	srv.Publish("trades", "2330", trade("2330", 3, 102, 3, t0.Add(2*time.Second)))
	srv.SetSilent(false)
	srv.PublishRaw("trades", "2330", marketdatatest.DataFrame("trades", ack.Get("data.id").Str, trade("2330", 4, 103, 4, t0.Add(3*time.Second))))
	// A trial match and an after-hours row without bid, ask and volume.
	srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 99, Size: 1, Serial: 5, Time: t0, IsTrial: true}))
	srv.Publish("trades", "2330", []byte(`{"symbol":"2330","type":"EQUITY","exchange":"TWSE","market":"TSE","price":103,"size":9,"time":1769754600000000,"serial":99999999}`))

	status, _, body := get(t, srv, "/stock/intraday/trades/2330")
	if status != 200 {
		t.Fatalf("HTTP %d %s", status, body.Raw)
	}
	if got := fmt.Sprint(serials(body)); got != "[99999999 4 3 2 1]" {
		t.Fatalf("serials %s: %s", got, body.Raw)
	}
	if body.Get("date").Str != "2026-01-30" || body.Get("symbol").Str != "2330" || body.Get("market").Str != "TSE" {
		t.Errorf("head: %s", body.Raw)
	}
	first, second := body.Get("data.0"), body.Get("data.1")
	if first.Get("volume").Exists() || first.Get("bid").Exists() || !second.Get("volume").Exists() || second.Get("bid").Num != 102 {
		t.Errorf("optional fields: %s", body.Raw)
	}
	_, _, trial := get(t, srv, "/stock/intraday/trades/2330?isTrial=true")
	if got := fmt.Sprint(serials(trial)); got != "[5]" {
		t.Errorf("trial trades %s", got)
	}
	_, _, page := get(t, srv, "/stock/intraday/trades/2330?offset=1&limit=2")
	if got := fmt.Sprint(serials(page)); got != "[4 3]" {
		t.Errorf("offset 1 limit 2: %s", got)
	}
	_, _, asc := get(t, srv, "/stock/intraday/trades/2330?sort=asc&limit=2")
	if got := fmt.Sprint(serials(asc)); got != "[1 2]" {
		t.Errorf("asc: %s", got)
	}
	srv.SetRESTPageLimit(3)
	_, _, capped := get(t, srv, "/stock/intraday/trades/2330?limit=50")
	if n := len(serials(capped)); n != 3 {
		t.Errorf("page limit 3: %d rows", n)
	}
	if status, _, _ := get(t, srv, "/stock/intraday/trades/9999"); status != 404 {
		t.Errorf("unknown symbol: HTTP %d", status)
	}
	if status, _, _ := get(t, srv, "/futopt/intraday/trades/2330"); status != 404 {
		t.Errorf("a stock symbol on futopt: HTTP %d", status)
	}
}

func TestRESTQuoteCandlesVolumesTicker(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAPIKey(restKey))
	t0 := time.Date(2026, 1, 30, 9, 0, 0, 0, time.UTC)
	for i := range 12 {
		srv.Publish("trades", "2317", trade("2317", int64(i+1), 200+float64(i%3), int64(i+1), t0.Add(time.Duration(i)*30*time.Second)))
	}
	// No aggregate yet: the quote is summed up from the trades.
	_, _, q := get(t, srv, "/stock/intraday/quote/2317")
	if q.Get("lastTrade.serial").Int() != 12 || q.Get("total.tradeVolume").Int() != 78 || q.Get("highPrice").Num != 202 || q.Get("openPrice").Num != 200 {
		t.Errorf("quote from trades: %s", q.Raw)
	}
	// Bars summed up from the trades: two trades a minute.
	_, _, cs := get(t, srv, "/stock/intraday/candles/2317")
	if n := len(cs.Get("data").Array()); n != 6 || cs.Get("timeframe").Exists() || cs.Get("data.0.date").Str != "2026-01-30T17:00:00.000+08:00" || cs.Get("data.0.volume").Int() != 3 {
		t.Errorf("candles from trades: %s", cs.Raw)
	}
	_, _, c5 := get(t, srv, "/stock/intraday/candles/2317?timeframe=5&sort=desc")
	if n := len(c5.Get("data").Array()); n != 2 || c5.Get("timeframe").Str != "5" || c5.Get("data.1.volume").Int() != 55 {
		t.Errorf("5-minute candles: %s", c5.Raw)
	}
	_, _, vs := get(t, srv, "/stock/intraday/volumes/2317")
	if vs.Get("data.0.price").Num != 202 || vs.Get("data.#").Int() != 3 || vs.Get("data.0.volumeAtAsk").Int() != vs.Get("data.0.volume").Int() {
		t.Errorf("volumes: %s", vs.Raw)
	}
	// Published candles and aggregates win over the sums.
	srv.Publish("candles", "2317", []byte(`{"symbol":"2317","type":"EQUITY","exchange":"TWSE","market":"TSE","date":"2026-01-30T09:00:00.000+08:00","open":1,"high":2,"low":1,"close":2,"volume":5,"average":1.5}`))
	srv.Publish("candles", "2317", []byte(`{"symbol":"2317","type":"EQUITY","exchange":"TWSE","market":"TSE","date":"2026-01-30T09:00:00.000+08:00","open":1,"high":3,"low":1,"close":3,"volume":7,"average":2}`))
	srv.Publish("aggregates", "2317", []byte(`{"date":"2026-01-30","type":"EQUITY","exchange":"TWSE","market":"TSE","symbol":"2317","name":"鴻海","referencePrice":200,"previousClose":199,"openPrice":200,"highPrice":203,"lowPrice":199,"closePrice":201,"change":1,"changePercent":0.5,"total":{"tradeValue":1000,"tradeVolume":78},"lastUpdated":1769734800000000,"isOpen":true}`))
	_, _, cs = get(t, srv, "/stock/intraday/candles/2317")
	if cs.Get("data.#").Int() != 1 || cs.Get("data.0.volume").Int() != 7 {
		t.Errorf("published candles: %s", cs.Raw)
	}
	_, _, q = get(t, srv, "/stock/intraday/quote/2317")
	if q.Get("name").Str != "鴻海" || !q.Get("isOpen").Bool() {
		t.Errorf("published quote: %s", q.Raw)
	}
	_, _, tk := get(t, srv, "/stock/intraday/ticker/2317")
	if tk.Get("referencePrice").Num != 200 || tk.Get("limitUpPrice").Num != 220 || tk.Get("limitDownPrice").Num != 180 || tk.Get("name").Str != "鴻海" {
		t.Errorf("ticker: %s", tk.Raw)
	}
	_, _, list := get(t, srv, "/stock/intraday/tickers?type=EQUITY")
	if list.Get("data.0.symbol").Str != "2317" {
		t.Errorf("tickers: %s", list.Raw)
	}
	if status, _, _ := get(t, srv, "/stock/intraday/tickers"); status != 400 {
		t.Errorf("tickers without type: HTTP %d", status)
	}
	_, _, st := get(t, srv, "/stock/historical/stats/2317")
	if st.Get("closePrice").Num != 201 || st.Get("week52High").Num != 203 {
		t.Errorf("stats: %s", st.Raw)
	}
	_, _, hc := get(t, srv, "/stock/historical/candles/2317?fields=open,close")
	if hc.Get("data.0.close").Num != 201 || hc.Get("data.0.high").Exists() {
		t.Errorf("historical candles: %s", hc.Raw)
	}
	_, _, mv := get(t, srv, "/stock/snapshot/movers/TSE?direction=up&change=percent")
	if mv.Get("data.0.symbol").Str != "2317" || mv.Get("change").Str != "percent" {
		t.Errorf("movers: %s", mv.Raw)
	}
	_, _, ac := get(t, srv, "/stock/snapshot/actives/TSE?trade=volume")
	if ac.Get("data.0.tradeVolume").Int() != 78 {
		t.Errorf("actives: %s", ac.Raw)
	}
}

func TestRESTFutOpt(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAPIKey(restKey))
	srv.Publish("trades", "TXFC4/TXFD4", []byte(`{"symbol":"TXFC4/TXFD4","type":"FUTURE","exchange":"TAIFEX","trades":[{"price":50,"size":2}],"total":{"tradeVolume":2},"time":1702359886936000,"serial":7}`))
	srv.Publish("trades", "TXFA4", []byte(`{"symbol":"TXFA4","type":"FUTURE_AH","exchange":"TAIFEX","trades":[{"price":17000,"size":1}],"time":1702359886936000,"serial":9}`))
	for _, path := range []string{"/futopt/intraday/trades/TXFC4%2FTXFD4", "/futopt/intraday/trades/TXFC4/TXFD4"} {
		_, _, tr := get(t, srv, path)
		if tr.Get("data.0.price").Num != 50 || tr.Get("data.0.serial").Int() != 7 || tr.Get("symbol").Str != "TXFC4/TXFD4" {
			t.Errorf("%s: %s", path, tr.Raw)
		}
	}
	if status, _, _ := get(t, srv, "/futopt/intraday/trades/TXFA4"); status != 404 {
		t.Errorf("after-hours only, regular asked: HTTP %d", status)
	}
	_, _, ah := get(t, srv, "/futopt/intraday/trades/TXFA4?session=AfterHours")
	if ah.Get("type").Str != "FUTURE_AH" || ah.Get("data.0.serial").Int() != 9 {
		t.Errorf("after hours: %s", ah.Raw)
	}
	_, _, list := get(t, srv, "/futopt/intraday/tickers?type=FUTURE&product=TXF")
	if list.Get("data.0.symbol").Str != "TXFC4/TXFD4" {
		t.Errorf("tickers: %s", list.Raw)
	}
	_, _, lower := get(t, srv, "/futopt/intraday/tickers?type=FUTURE&session=afterhours")
	if lower.Get("data.#").Int() != 0 {
		t.Errorf("lower-case list session: %s", lower.Raw)
	}
	_, _, pr := get(t, srv, "/futopt/intraday/products?type=FUTURE")
	if pr.Get("data.0.symbol").Str != "TXF" || pr.Get("data.0.endSession").Str != "0" {
		t.Errorf("products: %s", pr.Raw)
	}
	_, _, q := get(t, srv, "/futopt/intraday/quote/TXFC4%2FTXFD4")
	if q.Get("lastTrade.serial").Str != "00000007" || q.Get("serial").Int() != 7 || q.Get("market").Exists() {
		t.Errorf("futopt quote: %s", q.Raw)
	}
	_, _, vs := get(t, srv, "/futopt/intraday/volumes/TXFC4%2FTXFD4")
	if vs.Get("data.0.volume").Int() != 2 || vs.Get("data.0.volumeAtBid").Exists() {
		t.Errorf("volumes: %s", vs.Raw)
	}
}

func TestRESTCredentialsAndKnobs(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAPIKey(restKey), marketdatatest.WithToken("tok"), marketdatatest.WithSDKToken("sdk"))
	srv.Publish("trades", "2330", trade("2330", 1, 100, 1, time.Now()))
	for _, h := range [][]string{
		{"X-API-KEY", "wrong"}, {"Authorization", "tok"}, {"X-Nothing", "x"},
		{"X-API-KEY", restKey, "X-SDK-TOKEN", "sdk"},
	} {
		status, _, body := get(t, srv, "/stock/intraday/quote/2330", h...)
		if status != 401 || body.Raw != `{"message":"Unauthorized","statusCode":401}` {
			t.Errorf("%v: HTTP %d %s", h, status, body.Raw)
		}
	}
	for _, h := range [][]string{{"Authorization", "Bearer tok"}, {"X-SDK-TOKEN", "sdk"}} {
		if status, _, _ := get(t, srv, "/stock/intraday/quote/2330", h...); status != 200 {
			t.Errorf("%v: HTTP %d", h, status)
		}
	}
	for _, r := range srv.RESTRequests() {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" || r.Header.Get("X-Sdk-Token") != "" {
			t.Errorf("a credential kept in the record: %v", r.Header)
		}
	}

	srv.ForbidREST("stock/snapshot", true)
	if status, _, body := get(t, srv, "/stock/snapshot/quotes/TSE"); status != 403 || body.Get("statusCode").Int() != 403 {
		t.Errorf("forbidden: HTTP %d %s", status, body.Raw)
	}
	srv.ForbidREST("stock/snapshot", false)
	srv.HandleREST("/stock/technical/sma/2330", 200, []byte(`{"symbol":"2330","period":5,"data":[]}`))
	if status, _, body := get(t, srv, "/stock/technical/sma/2330?period=5"); status != 200 || body.Get("period").Int() != 5 {
		t.Errorf("canned: HTTP %d %s", status, body.Raw)
	}
	if status, _, body := get(t, srv, "/stock/technical/rsi/2330"); status != 404 || !strings.HasPrefix(body.Get("message").Str, "Cannot GET") {
		t.Errorf("no data: HTTP %d %s", status, body.Raw)
	}

	srv.SetRESTRateLimit(2)
	for i := range 3 {
		status, h, body := get(t, srv, "/stock/intraday/quote/2330")
		if h.Get("X-RateLimit-Limit") != "2" || h.Get("Retry-After") == "" || h.Get("X-RateLimit-Reset") == "" {
			t.Errorf("rate headers %v", h)
		}
		if i < 2 && status != 200 {
			t.Errorf("request %d: HTTP %d", i, status)
		}
		if i == 2 && (status != 429 || body.Raw != `{"statusCode":429,"message":"Rate limit exceeded"}`) {
			t.Errorf("over the limit: HTTP %d %s", status, body.Raw)
		}
	}
	srv.SetRESTRateLimit(0)

	srv.FailREST(marketdatatest.RESTFailure{Status: 502, Body: []byte("<html>bad gateway</html>"), Header: http.Header{"Content-Type": {"text/html"}}, Times: 1, PathPrefix: "/stock/intraday/trades"})
	if status, _, _ := get(t, srv, "/stock/intraday/quote/2330"); status != 200 {
		t.Errorf("a failure for another path: HTTP %d", status)
	}
	req, _ := http.NewRequestWithContext(restCtx(t), "GET", srv.RESTURL()+"/v1.0/stock/intraday/trades/2330", nil)
	req.Header.Set("X-API-KEY", restKey)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || string(b) != "<html>bad gateway</html>" || resp.Header.Get("Content-Type") != "text/html" {
		t.Errorf("injected: HTTP %d %s", resp.StatusCode, b)
	}
}

// A request held by injected latency ends when the server closes, and
// Close still returns with every goroutine gone.
func TestRESTLatencyAndClose(t *testing.T) {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey(restKey))
	srv.SetRESTLatency(time.Hour)
	done := make(chan error, 1)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	go func() {
		req, _ := http.NewRequest("GET", srv.RESTURL()+"/v1.0/stock/intraday/quote/2330", nil)
		req.Header.Set("X-API-KEY", restKey)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	if err := srv.WaitForRESTRequests(restCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close waited for the latency")
	}
	<-done
}

func TestRESTHistoryCapAndFeed(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAPIKey(restKey), marketdatatest.WithRESTHistory(8))
	for i := range 20 {
		srv.Publish("trades", "2330", trade("2330", int64(i+1), 100, 1, time.Now()))
	}
	_, _, body := get(t, srv, "/stock/intraday/trades/2330?limit=100")
	got := serials(body)
	if len(got) == 0 || len(got) > 8 || got[0] != 20 {
		t.Errorf("kept %v", got)
	}

	feed := newServer(t, marketdatatest.WithAPIKey(restKey), marketdatatest.WithSimulatedFeed(200))
	c := dial(t, feed.StockURL())
	c.auth(restKey)
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"2454"}}`)
	c.expect("subscribed")
	var streamed []int64
	for len(streamed) < 5 {
		if m := c.read(); m.Get("event").Str == "data" && !m.Get("data.isTrial").Bool() {
			streamed = append(streamed, m.Get("data.serial").Int())
		}
	}
	_, _, rb := get(t, feed, "/stock/intraday/trades/2454?limit=1000")
	have := map[int64]bool{}
	for _, s := range serials(rb) {
		have[s] = true
	}
	for _, s := range streamed {
		if !have[s] {
			t.Errorf("streamed serial %d missing from REST (%d rows)", s, len(have))
		}
	}
}
