package messages

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// decodeWith decodes raw the way the client does: Frame, then the typed
// method for its kind and channel, all on one long-lived Decoder.
func decodeWith(d *Decoder, raw []byte) (Message, error) {
	f, err := d.Frame(raw)
	if err != nil {
		return nil, err
	}
	switch f.Kind {
	case KindData, KindSnapshot:
		switch f.Channel {
		case ChannelTrades:
			var v Trade
			err = d.Trade(&f, &v)
			return &v, err
		case ChannelCandles:
			var v Candle
			err = d.Candle(&f, &v)
			return &v, err
		case ChannelBooks:
			var v Book
			err = d.Book(&f, &v)
			return &v, err
		case ChannelAggregates:
			var v Aggregate
			err = d.Aggregate(&f, &v)
			return &v, err
		case ChannelIndices:
			var v Index
			err = d.Index(&f, &v)
			return &v, err
		}
	case KindError:
		var v ErrorFrame
		err = d.Error(&f, &v)
		return &v, err
	case KindHeartbeat:
		var v Heartbeat
		err = d.Heartbeat(&f, &v)
		return &v, err
	case KindPong:
		var v Pong
		err = d.Pong(&f, &v)
		return &v, err
	case KindAuthenticated:
		var v Authenticated
		err = d.Authenticated(&f, &v)
		return &v, err
	case KindSubscribed, KindUnsubscribed:
		acks, err := d.Acks(&f, nil)
		return &AckFrame{Unsubscribed: f.Kind == KindUnsubscribed, Acks: acks}, err
	}
	return &Unknown{Event: f.Event, Raw: append([]byte(nil), raw...)}, nil
}

// decodeBoth decodes raw through Decode and through a Decoder, checks that
// both agree, and returns the result.
func decodeBoth(t *testing.T, raw []byte) Message {
	t.Helper()
	m1, err := Decode(raw)
	if err != nil {
		t.Fatalf("Decode(%s): %v", raw, err)
	}
	m2, err := decodeWith(NewDecoder(), raw)
	if err != nil {
		t.Fatalf("Decoder(%s): %v", raw, err)
	}
	if d := diff(m1, m2); d != "" {
		t.Fatalf("Decode and Decoder disagree on %s:\n%s", raw, d)
	}
	return m1
}

// diff lists the paths where want and got differ, unexported fields
// included, one per line; it returns "" when they are deeply equal.
func diff(want, got any) string {
	var b strings.Builder
	diffValue(&b, "", reflect.ValueOf(want), reflect.ValueOf(got))
	return b.String()
}

func diffValue(b *strings.Builder, path string, w, g reflect.Value) {
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			fmt.Fprintf(b, "%s: want %v, got %v\n", path, w, g)
		}
		return
	}
	if w.Type() != g.Type() {
		fmt.Fprintf(b, "%s: want type %v, got type %v\n", path, w.Type(), g.Type())
		return
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				fmt.Fprintf(b, "%s: want nil=%v, got nil=%v\n", path, w.IsNil(), g.IsNil())
			}
			return
		}
		diffValue(b, path, w.Elem(), g.Elem())
	case reflect.Struct:
		for i := 0; i < w.NumField(); i++ {
			diffValue(b, path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i))
		}
	case reflect.Slice:
		if w.IsNil() != g.IsNil() {
			fmt.Fprintf(b, "%s: want nil=%v, got nil=%v\n", path, w.IsNil(), g.IsNil())
			return
		}
		if w.Len() != g.Len() {
			fmt.Fprintf(b, "%s: want len %d, got len %d\n", path, w.Len(), g.Len())
			return
		}
		for i := 0; i < w.Len(); i++ {
			diffValue(b, fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i))
		}
	case reflect.String:
		if w.String() != g.String() {
			fmt.Fprintf(b, "%s: want %q, got %q\n", path, w.String(), g.String())
		}
	case reflect.Bool:
		if w.Bool() != g.Bool() {
			fmt.Fprintf(b, "%s: want %v, got %v\n", path, w.Bool(), g.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if w.Int() != g.Int() {
			fmt.Fprintf(b, "%s: want %d, got %d\n", path, w.Int(), g.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if w.Uint() != g.Uint() {
			fmt.Fprintf(b, "%s: want %#x, got %#x\n", path, w.Uint(), g.Uint())
		}
	case reflect.Float32, reflect.Float64:
		if wf, gf := w.Float(), g.Float(); wf != gf && !(wf != wf && gf != gf) {
			fmt.Fprintf(b, "%s: want %v, got %v\n", path, wf, gf)
		}
	default:
		panic("diff: unhandled kind " + w.Kind().String())
	}
}

// withoutHas returns a copy of m with every presence mask cleared, so that
// expected values can be written without them; the masks are checked by
// checkHas instead.
func withoutHas(m Message) Message {
	switch v := m.(type) {
	case *Trade:
		c := *v
		c.has = 0
		c.Total.has = 0
		if c.Trades != nil {
			c.Trades = append([]TradeTick(nil), c.Trades...)
			for i := range c.Trades {
				c.Trades[i].has = 0
			}
		}
		return &c
	case *Candle:
		c := *v
		c.has = 0
		return &c
	case *Book:
		c := *v
		c.has = 0
		return &c
	case *Aggregate:
		c := *v
		c.has = 0
		c.Total.has = 0
		c.LastTrade.has = 0
		c.LastTrial.has = 0
		c.PriceLimits.has = 0
		return &c
	case *Index:
		c := *v
		c.has = 0
		return &c
	}
	return m
}

// assertNoAlias fails if any string or byte slice reachable from v points
// into buf.
func assertNoAlias(t *testing.T, v any, buf []byte) {
	t.Helper()
	if len(buf) == 0 {
		return
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	hi := lo + uintptr(len(buf))
	inside := func(p unsafe.Pointer) bool { return uintptr(p) >= lo && uintptr(p) < hi }
	var walk func(path string, x reflect.Value)
	walk = func(path string, x reflect.Value) {
		switch x.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !x.IsNil() {
				walk(path, x.Elem())
			}
		case reflect.Struct:
			for i := 0; i < x.NumField(); i++ {
				walk(path+"."+x.Type().Field(i).Name, x.Field(i))
			}
		case reflect.Slice:
			if x.Len() > 0 && inside(x.Index(0).Addr().UnsafePointer()) {
				t.Errorf("%s aliases the input buffer", path)
			}
			for i := 0; i < x.Len(); i++ {
				walk(fmt.Sprintf("%s[%d]", path, i), x.Index(i))
			}
		case reflect.String:
			if x.Len() > 0 && inside(unsafe.Pointer(unsafe.StringData(x.String()))) {
				t.Errorf("%s = %q aliases the input buffer", path, x.String())
			}
		}
	}
	walk("", reflect.ValueOf(v))
}

func unsafeStringData(s string) *byte { return unsafe.StringData(s) }
