package marketdatatest_test

import (
	"testing"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/gorilla/websocket"
)

// BenchmarkPublish measures delivered frames per second to one reading
// client: go test -run '^$' -bench Publish -benchmem ./marketdatatest/
func BenchmarkPublish(b *testing.B) {
	srv := marketdatatest.NewServer()
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial(srv.StockURL(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"auth","data":{"apikey":"k"}}`))
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`))
	for range 2 {
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	payload := marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 1005, Bid: 1000, Ask: 1005, Size: 2, Volume: 5000, Serial: 1})
	done := make(chan error, 1)
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, _, err := ws.ReadMessage(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		srv.Publish("trades", "2330", payload)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
