package record

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader: arbitrary bytes never panic the reader, and every error is
// a *LineError.
func FuzzReader(f *testing.F) {
	for _, c := range compressions {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, c.comp, Options{Product: "stock"})
		w.Open(1, t0, "wss://h/x")
		w.Frame(In, 1, t0, tradeFrame)
		w.Frame(Out, 1, t0, []byte("not json"))
		w.Closed(1, t0, 1000, "")
		_ = w.Close()
		data := buf.Bytes()
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(data[:len(data)-1])
	}
	f.Add([]byte(`{"kind":"header","t":1,"v":1}` + "\n" + `{"kind":"frame","t":1,"dir":"in","b64":"!!"}` + "\n"))
	f.Add([]byte(`{"kind":"header","t":1,"v":1}` + "\n" + `{"kind":"frame","t":1,"dir":"in","raw":null}` + "\n"))
	f.Add([]byte{0x1f})
	f.Add([]byte{0x28, 0xb5, 0x2f})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), MaxLineSize(1<<16))
		if err != nil {
			checkTyped(t, err)
			return
		}
		defer r.Close()
		for range 100000 {
			l, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				checkTyped(t, err)
				if _, again := r.Next(); again != err {
					t.Fatalf("error not final: %v then %v", err, again)
				}
				return
			}
			if l.Kind == KindFrame && l.Raw == nil {
				t.Fatal("frame without bytes")
			}
		}
	})
}

func checkTyped(t *testing.T, err error) {
	t.Helper()
	var le *LineError
	if !errors.As(err, &le) || le.Line < 1 || le.Offset < 0 {
		t.Fatalf("untyped error %T: %v", err, err)
	}
}
