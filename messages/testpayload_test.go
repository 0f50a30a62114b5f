package messages

import (
	"strings"
	"testing"
)

// Probe is a payload known only to the tests, decoded by code generated
// from its declaration like the real payloads (go generate runs the
// generator with -tests for it): it keeps the generator honest on a type
// that no hand-written code knows.
//
//fugle:decode channel=probes
type Probe struct {
	Meta

	Symbol string    `json:"symbol" fugle:"required"`
	Price  float64   `json:"price"`
	Serial int64     `json:"serial" fugle:"serial"`
	Time   Timestamp `json:"time"`
	Volume int64     `json:"volume"`

	// Has reports whether the frame carried the named field with a value.
	has uint8
}

func decodeProbe(raw string) (*Probe, error) {
	d := NewDecoder()
	var p Probe
	f, err := d.Frame([]byte(raw))
	if err != nil {
		return &p, err
	}
	return &p, d.Probe(&f, &p)
}

func TestProbe(t *testing.T) {
	p, err := decodeProbe(`{"event":"snapshot","channel":"probes","id":"p","data":{"symbol":"2330","price":568.5,"serial":"42","time":1685338200000000,"volume":54538,"other":[1]}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := Probe{Meta: Meta{ID: "p", Channel: "probes", Snapshot: true}, Symbol: "2330", Price: 568.5, Serial: 42, Time: 1685338200000000, Volume: 54538}
	if d := diff(&want, withoutProbeHas(p)); d != "" {
		t.Error(d)
	}
	for _, name := range []string{"symbol", "price", "serial", "time", "volume"} {
		if !p.Has(name) {
			t.Errorf("Has(%q) = false", name)
		}
	}
	if p.Has("other") || p.Kind() != KindSnapshot {
		t.Errorf("Has(other) = %v, Kind = %v", p.Has("other"), p.Kind())
	}
	if p, err = decodeProbe(`{"event":"data","channel":"probes","data":{"symbol":"2330","price":null}}`); err != nil || p.Has("price") || p.Has("volume") {
		t.Errorf("null price: %v, Has(price) = %v, Has(volume) = %v", err, p.Has("price"), p.Has("volume"))
	}
	for raw, want := range map[string]string{
		`{"event":"data","channel":"probes","data":{"price":1}}`:                      `field "symbol" is missing`,
		`{"event":"data","channel":"probes","data":{"symbol":"2330","price":"x"}}`:    `field "price": want number, got string`,
		`{"event":"data","channel":"probes","data":{"symbol":"2330","time":1e309}}`:   `field "time": want epoch microseconds, got number out of range`,
		`{"event":"data","channel":"probes","data":{"symbol":"2330","serial":[]}}`:    `field "serial": want integer or numeric string, got array`,
		`{"event":"data","channel":"probes","data":{"symbol":"2330","volume":"1"}}`:   `field "volume": want integer, got string`,
		`{"event":"data","channel":"probes","data":{"symbol":"2330","price":1,}}`:     `malformed frame`,
		`{"event":"data","channel":"probes","data":{"symbol":"2330","serial":"1e3"}}`: ``,
	} {
		_, err := decodeProbe(raw)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", raw, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", raw, err, want)
		}
	}
}

func withoutProbeHas(p *Probe) *Probe {
	c := *p
	c.has = 0
	return &c
}
