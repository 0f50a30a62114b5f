package record_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/go-fugle/marketdata/record"
)

// Record a session to a zstd file. In a program, the client's frame tap
// calls w.Frame (or w.Tap()) and its connect and disconnect hooks call
// w.Open and w.Closed; here they are called by hand.
func ExampleCreate() {
	dir, err := os.MkdirTemp("", "record")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	w, err := record.Create(filepath.Join(dir, "session.ndjson.zst"), record.Options{
		Endpoint: "wss://api.fugle.tw/marketdata/v1.0/stock/streaming",
		Product:  "stock",
		SDK:      "v0.1.0",
	})
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2026, 5, 29, 9, 0, 0, 0, time.UTC)
	w.Open(1, at, "wss://api.fugle.tw/marketdata/v1.0/stock/streaming")
	w.Frame(record.Out, 1, at, []byte(`{"event":"auth","data":{"apikey":"KEY"}}`)) // never written
	w.Frame(record.In, 1, at, []byte(`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`))
	w.Frame(record.In, 1, at, []byte(`{"event":"data","data":{"symbol":"2330","price":568},"id":"x","channel":"trades"}`))
	w.Closed(1, at, 1000, "")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	st := w.Stats()
	fmt.Printf("written %d, redacted %d, lost %d\n", st.Written, st.Redacted, st.Lost)
	// Output: written 2, redacted 1, lost 0
}

// Read a recording back, whatever its compression.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "record")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "session.ndjson.gz")
	w, err := record.Create(path, record.Options{Product: "stock"})
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2026, 5, 29, 9, 0, 0, 0, time.UTC)
	w.Open(1, at, "wss://api.fugle.tw/marketdata/v1.0/stock/streaming")
	w.Frame(record.In, 1, at, []byte(`{"event":"heartbeat","data":{"time":1685338200000000}}`))
	w.Closed(1, at, 1006, "")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r, err := record.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	fmt.Println("product:", r.Header().Product)
	for l, err := range r.Lines() {
		if err != nil {
			log.Fatal(err) // errors.Is(err, record.ErrTruncated) for a file cut short
		}
		switch l.Kind {
		case record.KindFrame:
			fmt.Printf("conn %d %s %s\n", l.Conn, l.Dir, l.Raw)
		case record.KindClose:
			fmt.Printf("conn %d closed %d\n", l.Conn, l.Code)
		default:
			fmt.Println(l.Kind)
		}
	}
	// Output:
	// product: stock
	// header
	// open
	// conn 1 in {"event":"heartbeat","data":{"time":1685338200000000}}
	// conn 1 closed 1006
	// end
}
