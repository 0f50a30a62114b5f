package rest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecoders feeds arbitrary bodies to every REST payload decoder: each
// either decodes or returns an error matching ErrMalformedResponse, and
// never panics.
func FuzzDecoders(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`{}`, `{"data":[{}]}`, `{"data":[{"serial":"x"}]}`, `{"data":[null]}`, `{"symbol":"a","data":[{"time":1}]}`, `[`, `{"a":1}{`, "{\"data\":[{\"\xff\":1}]}"} {
		f.Add([]byte(s))
	}
	c, err := NewClient(Option{APIKey: "k"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := checkObject(body); err != nil {
			return // the client stops there
		}
		ok := func(err error) {
			if err != nil && !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("error %v does not match ErrMalformedResponse", err)
			}
		}
		_, err := c.decodeAggregate("/x", body)
		ok(err)
		tr, err := c.decodeTrades("/x", body)
		ok(err)
		if err == nil {
			for i := range tr.Data {
				_ = tr.Data[i].Has("volume")
			}
		}
		_, err = c.decodeCandles("/x", body)
		ok(err)
		ok(decodeJSON("/x", body, new(StockTicker)))
		ok(decodeJSON("/x", body, new(Volumes)))
		ok(decodeJSON("/x", body, new(FutOptProducts)))
		ok(decodeJSON("/x", body, new(FutOptDaily)))
		ok(decodeJSON("/x", body, new(Snapshot)))
		ok(decodeJSON("/x", body, new(Indicator)))
		_ = errorMessage(body)
	})
}
