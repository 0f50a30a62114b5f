package record

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "rec"+c.ext)
			w, err := Create(p, Options{Endpoint: "wss://api.fugle.tw/marketdata/v1.0/stock/streaming", Product: "stock", SDK: "v1.2.3"})
			if err != nil {
				t.Fatal(err)
			}
			w.Open(1, t0, "wss://api.fugle.tw/marketdata/v1.0/stock/streaming")
			w.Frame(Out, 1, t0.Add(1), []byte(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`))
			for i := range 100 {
				w.Frame(In, 1, t0.Add(time.Duration(i+2)), tradeFrame)
			}
			w.Closed(1, t0.Add(time.Second), 1006, "gone")
			w.Open(2, t0.Add(2*time.Second), "wss://api.fugle.tw/marketdata/v1.0/stock/streaming")
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			st := w.Stats()
			if st.Written != 101 || st.Lost != 0 || st.Files != 1 {
				t.Fatalf("stats %+v", st)
			}
			fi, _ := os.Stat(p)
			if st.Bytes != uint64(fi.Size()) {
				t.Fatalf("Bytes %d, file %d", st.Bytes, fi.Size())
			}

			r, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Compression() != c.comp {
				t.Fatalf("compression %v", r.Compression())
			}
			h := r.Header()
			if h.Version != 1 || h.Product != "stock" || h.SDK != "v1.2.3" || !strings.HasSuffix(h.Endpoint, "/stock/streaming") {
				t.Fatalf("header %+v", h)
			}
			var kinds []Kind
			n := 0
			for l, err := range r.Lines() {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if l.Number != n {
					t.Fatalf("line number %d, want %d", l.Number, n)
				}
				kinds = append(kinds, l.Kind)
				switch {
				case l.Kind == KindFrame && l.Dir == In:
					if !bytes.Equal(l.Raw, tradeFrame) || l.Conn != 1 || !l.Time.Equal(t0.Add(time.Duration(n-2))) {
						t.Fatalf("line %d: %+v", n, l)
					}
				case l.Kind == KindClose:
					if l.Code != 1006 || l.Reason != "gone" || l.Conn != 1 {
						t.Fatalf("close %+v", l)
					}
				case l.Kind == KindOpen:
					if l.URL != "wss://api.fugle.tw/marketdata/v1.0/stock/streaming" {
						t.Fatalf("open %+v", l)
					}
				}
			}
			want := []Kind{KindHeader, KindOpen, KindFrame}
			for range 100 {
				want = append(want, KindFrame)
			}
			want = append(want, KindClose, KindOpen, KindEnd)
			if fmt.Sprint(kinds) != fmt.Sprint(want) {
				t.Fatalf("kinds\n%v\nwant\n%v", kinds, want)
			}
		})
	}
}

func TestNextAfterEnd(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, None, Options{})
	w.Frame(In, 1, t0, tradeFrame)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 3 {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("got %v, want io.EOF", err)
		}
	}
}

// Frames come back byte for byte, whatever they hold; frames that can be
// embedded are, verbatim, so the file stays greppable.
func TestBytesPreserved(t *testing.T) {
	cases := []struct {
		frame    string
		embedded bool
	}{
		{`{"event":"data","data":{"name":"台積電","x":"\u53f0\n\"\\\/"}}`, true},
		{`{ "event" :"data",	"data" : { } }`, true},
		{`{"event":"data","data":{"price":5.680e2,"n":-0,"big":123456789012345678901234567890}}`, true},
		{`{"a":"\ud83d\ude00 😀"}`, true},
		{`null`, true},
		{`[1,2,3]`, true},
		{` {"event":"data"}`, false},
		{`{"event":"data"} `, false},
		{"{\"event\":\"data\",\n\"x\":1}", false},
		{"{\"event\":\"data\",\r\n\"x\":1}", false},
		{"{\"event\":\"\xff\xfe\"}", false},
		{`{"event":"data"`, false},
		{`not json at all`, false},
		{``, false},
		{"\x00\x01binary", false},
	}
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, c.comp, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range cases {
				w.Frame(In, 7, t0, []byte(k.frame))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			lines, err := readAll(t, buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			got := frames(lines)
			if len(got) != len(cases) {
				t.Fatalf("%d frames, want %d", len(got), len(cases))
			}
			text := decompress(t, buf.Bytes())
			for i, k := range cases {
				if !bytes.Equal(got[i], []byte(k.frame)) {
					t.Errorf("frame %d: got %q, want %q", i, got[i], k.frame)
				}
				if emb := bytes.Contains(text, []byte(`"raw":`+k.frame+`}`)); emb != k.embedded {
					t.Errorf("frame %d %q: embedded %v, want %v", i, k.frame, emb, k.embedded)
				}
			}
			if n := bytes.Count(text, []byte("\n")); n != len(cases)+2 {
				t.Errorf("%d lines, want %d", n, len(cases)+2)
			}
		})
	}
}

func TestCredentialsNeverWritten(t *testing.T) {
	const secret = "S3CR3T"
	authFrames := []string{
		`{"event":"auth","data":{"apikey":"S3CR3T"}}`,
		`{"event":"auth","data":{"token":"S3CR3T"}}`,
		`{"event":"auth","data":{"sdkToken":"S3CR3T"}}`,
		`{ "data" : {"apikey":"S3CR3T"}, "event" : "auth" }`,
		`{"event":"AUTH","data":{"apikey":"S3CR3T"}}`,
		`{"Event":"auth","data":{"apikey":"S3CR3T"}}`,
		`{"event":"\u0061uth","data":{"apikey":"S3CR3T"}}`,
		`{"event":"auth","event":"ping","data":{"apikey":"S3CR3T"}}`,
		"{\"event\":\"auth\",\n\"data\":{\"apikey\":\"S3CR3T\"}}",
	}
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, c.comp, Options{Endpoint: "wss://user:S3CR3T@api.fugle.tw/marketdata/v1.0/stock/streaming?apikey=S3CR3T&token=S3CR3T#S3CR3T"})
			if err != nil {
				t.Fatal(err)
			}
			w.Open(1, t0, "wss://S3CR3T@api.fugle.tw/x?sdkToken=S3CR3T")
			w.Open(2, t0, "::S3CR3T::%zz")
			for _, f := range authFrames {
				w.Frame(Out, 1, t0, []byte(f))
				w.Frame(In, 1, t0, []byte(f))
			}
			w.Frame(Out, 1, t0, []byte(`{"event":"auth","data":{"apikey":"S3CR3T"`)) // cut: not JSON
			w.Frame(In, 1, t0, []byte(`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`))
			w.Frame(Out, 1, t0, []byte(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			text := decompress(t, buf.Bytes())
			if bytes.Contains(text, []byte(secret)) {
				t.Fatalf("secret in the recording:\n%s", text)
			}
			if st := w.Stats(); st.Redacted != uint64(2*len(authFrames)+1) || st.Written != 2 {
				t.Fatalf("stats %+v", st)
			}
			if !bytes.Contains(text, []byte(`"authenticated"`)) || !bytes.Contains(text, []byte(`"subscribe"`)) {
				t.Fatalf("ordinary frames missing:\n%s", text)
			}
			lines, err := readAll(t, buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(lines[0].Header.Endpoint, "wss://api.fugle.tw/marketdata/v1.0/stock/streaming?") {
				t.Fatalf("endpoint %q", lines[0].Header.Endpoint)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"wss://api.fugle.tw/x":          "wss://api.fugle.tw/x",
		"wss://u:p@api.fugle.tw/x?a=1":  "wss://api.fugle.tw/x?a=REDACTED",
		"ws://127.0.0.1:8080/m#frag":    "ws://127.0.0.1:8080/m",
		"wss://h/x?token=abc&token=def": "wss://h/x?token=REDACTED",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A writer stuck in Write must not hold up Frame: the caller completes
// every call, what fits in the queue is written after the release, and one
// lost line counts exactly the rest.
func TestStalledWriterNeverBlocks(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			const queue, extra = 64, 1000
			sw := newStallWriter()
			w, err := NewWriter(sw, c.comp, Options{QueueSize: queue, FlushInterval: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			w.Frame(In, 1, t0, tradeFrame)
			<-sw.entered // the first flush is stuck in Write: nothing drains the queue now

			done := make(chan int)
			go func() {
				n := 0
				for range queue + extra {
					w.Frame(In, 1, t0, tradeFrame)
					n++
				}
				done <- n
			}()
			var n int
			select {
			case n = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("Frame blocked behind a stalled writer")
			}
			if n != queue+extra {
				t.Fatalf("%d calls completed", n)
			}
			if st := w.Stats(); st.Lost != extra {
				t.Fatalf("lost %d while stalled, want %d", st.Lost, extra)
			}
			close(sw.release)
			waitFor(t, "the queue to drain", func() bool { return w.Stats().Written == 1+queue })
			w.Frame(In, 1, t0, []byte(`{"event":"heartbeat","data":{"time":1}}`))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			lines, err := readAll(t, sw.buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			var lost uint64
			nLost, framesBefore := 0, 0
			for i, l := range lines {
				switch l.Kind {
				case KindLost:
					lost += l.Count
					nLost++
					if framesBefore != 1+queue {
						t.Fatalf("lost line after %d frames, want %d", framesBefore, 1+queue)
					}
					if next := lines[i+1]; next.Kind != KindFrame || !bytes.Contains(next.Raw, []byte("heartbeat")) {
						t.Fatalf("lost line not right before the next frame: %+v", next)
					}
				case KindFrame:
					framesBefore++
				}
			}
			if lost != extra || nLost != 1 || framesBefore != queue+2 {
				t.Fatalf("lost %d in %d lines, %d frames; want %d in 1, %d", lost, nLost, framesBefore, extra, queue+2)
			}
		})
	}
}

// A frame reaches the destination within the flush interval, without
// Close, and a copy of the file taken then reads up to it.
func TestFlushWithoutClose(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			var buf syncBuffer
			w, err := NewWriter(&buf, c.comp, Options{FlushInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for i := range 50 {
				w.Frame(In, 1, t0, fmt.Appendf(nil, `{"event":"data","n":%d}`, i))
			}
			last := []byte(`{"event":"data","n":49}`)
			waitFor(t, "the frame to be flushed", func() bool { return bytes.Contains(decompress(t, buf.Bytes()), last) })

			lines, err := readAll(t, buf.Bytes())
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("got %v, want ErrTruncated", err)
			}
			if got := frames(lines); len(got) != 50 || !bytes.Equal(got[49], last) {
				t.Fatalf("read %d frames before the cut", len(got))
			}
			var le *LineError
			if !errors.As(err, &le) || le.Line != 52 {
				t.Fatalf("error %v, want line 52", err)
			}
		})
	}
}

// A recording cut anywhere reads every complete line before the cut, then
// ErrTruncated naming the line and offset.
func TestTruncated(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			var buf syncBuffer
			w, err := NewWriter(&buf, c.comp, Options{FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			w.Open(1, t0, "wss://h/x")
			for i := range 300 {
				w.Frame(In, 1, t0.Add(time.Duration(i)), fmt.Appendf(nil, `{"event":"data","n":%d,"pad":"%s"}`, i, strings.Repeat("x", i%50)))
			}
			w.Closed(1, t0, 1000, "")
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			full := buf.Bytes()
			all, err := readAll(t, full)
			if err != nil {
				t.Fatal(err)
			}
			plain := decompress(t, full)

			step := max(1, len(full)/400)
			for cut := 0; cut < len(full); cut++ {
				if cut > 64 && cut < len(full)-64 && cut%step != 0 {
					continue
				}
				lines, err := readAll(t, full[:cut])
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("cut %d/%d: got %v, want ErrTruncated", cut, len(full), err)
				}
				var le *LineError
				if !errors.As(err, &le) {
					t.Fatalf("cut %d: %T", cut, err)
				}
				if le.Line != len(lines)+1 {
					t.Fatalf("cut %d: error at line %d after %d lines", cut, le.Line, len(lines))
				}
				var off int64
				for i, l := range lines {
					if l.Kind != all[i].Kind || !bytes.Equal(l.Raw, all[i].Raw) {
						t.Fatalf("cut %d: line %d differs", cut, i+1)
					}
					off += int64(bytes.IndexByte(plain[off:], '\n') + 1)
				}
				if le.Offset != off {
					t.Fatalf("cut %d: offset %d, want %d", cut, le.Offset, off)
				}
				if c.comp == None && len(lines) != bytes.Count(full[:cut], []byte("\n")) {
					t.Fatalf("cut %d: %d lines, want every complete one", cut, len(lines))
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("line %d (byte offset %d)", le.Line, le.Offset)) {
					t.Fatalf("error does not say where: %v", err)
				}
			}
		})
	}
}

func TestCorruptIsTyped(t *testing.T) {
	good := func(c Compression) []byte {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, c, Options{})
		for range 200 {
			w.Frame(In, 1, t0, tradeFrame)
		}
		_ = w.Close()
		return buf.Bytes()
	}
	for _, c := range compressions[1:] {
		data := good(c.comp)
		for i := 4; i < len(data); i += 7 {
			bad := bytes.Clone(data)
			bad[i] ^= 0x55
			_, err := readAll(t, bad)
			var le *LineError
			if err != nil && !errors.As(err, &le) {
				t.Fatalf("%s byte %d: untyped error %T %v", c.name, i, err, err)
			}
		}
	}
	for _, k := range []struct {
		text string
		line int
		want error
	}{
		{"", 1, ErrTruncated},
		{"\n", 1, ErrSyntax},
		{`{"kind":"frame","t":1,"dir":"in","raw":{}}` + "\n", 1, ErrNoHeader},
		{`{"kind":"header","t":1,"v":2}` + "\n", 1, ErrVersion},
		{`{"kind":"header","t":1,"v":1}` + "\n[1]\n", 2, ErrSyntax},
		{`{"kind":"header","t":1,"v":1}` + "\n" + `{"kind":"frame","t":1}` + "\n", 2, ErrSyntax},
		{`{"kind":"header","t":1,"v":1}` + "\n" + `{"kind":"frame","t":1,"dir":"up","raw":1}` + "\n", 2, ErrSyntax},
		{`{"kind":"header","t":1,"v":1}` + "\n" + `{"kind":"frame","dir":"in","raw":1}` + "\n", 2, ErrSyntax},
		{`{"kind":"header","t":1,"v":1}` + "\n" + `{"kind":"frame","t":1,"dir":"in","raw":1,"b64":"AA=="}` + "\n", 2, ErrSyntax},
		{`{"kind":"header","t":1,"v":1}` + "\n" + `{"kind":"future","t":1}` + "\n", 3, ErrTruncated},
		{`{"kind":"header","t":1,"v":1}` + "\n" + `{"kind":"end","t":1}` + "\n" + strings.Repeat("x", 2000) + "\n", 3, ErrLineTooLong},
	} {
		_, err := readAll(t, []byte(k.text), MaxLineSize(1000))
		var le *LineError
		if !errors.Is(err, k.want) || !errors.As(err, &le) || le.Line != k.line {
			t.Errorf("%q: got %v, want %v at line %d", k.text, err, k.want, k.line)
		}
	}
}

// Unknown kinds and members pass; files concatenated read as one.
func TestForwardCompatibleAndConcatenated(t *testing.T) {
	text := `{"kind":"header","t":1,"v":1,"new":true}` + "\n" +
		`{"kind":"future","t":2,"x":[1]}` + "\n" +
		`{"kind":"end","t":3}` + "\n"
	lines, err := readAll(t, []byte(text+text))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 6 || lines[1].Kind != KindUnknown || lines[3].Kind != KindHeader {
		t.Fatalf("%+v", lines)
	}
	for _, c := range compressions[1:] {
		var a, b bytes.Buffer
		for _, buf := range []*bytes.Buffer{&a, &b} {
			w, _ := NewWriter(buf, c.comp, Options{})
			w.Frame(In, 1, t0, tradeFrame)
			_ = w.Close()
		}
		lines, err := readAll(t, append(a.Bytes(), b.Bytes()...))
		if err != nil || len(frames(lines)) != 2 {
			t.Fatalf("%s concatenated: %d frames, %v", c.name, len(frames(lines)), err)
		}
	}
}

// A destination that fails after some bytes: the error comes back from
// Err and Close, the rest counts as lost, nothing panics or blocks.
func TestFullDisk(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			const n = 5000
			fw := &fullWriter{limit: 10000}
			w, err := NewWriter(fw, c.comp, Options{FlushInterval: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				w.Frame(In, 1, t0, fmt.Appendf(nil, `{"event":"data","n":%d,"r":%d}`, i, i*7919%10007))
			}
			waitFor(t, "the error", func() bool { return w.Err() != nil })
			if err := w.Close(); !errors.Is(err, errDiskFull) {
				t.Fatalf("Close: %v", err)
			}
			w.Frame(In, 1, t0, tradeFrame) // after Close: counted, no panic
			st := w.Stats()
			if st.Lost == 0 || st.Written+st.Lost != n+1 || st.Bytes != 10000 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(filepath.Join(dir, "x.json"), Options{}); !errors.Is(err, ErrSuffix) {
		t.Fatalf("got %v", err)
	}
	if _, err := Create(filepath.Join(dir, "missing", "x.ndjson"), Options{}); err == nil {
		t.Fatal("no error for a missing directory")
	}
	if _, err := NewWriter(io.Discard, None, Options{Rotate: RotateDaily}); err == nil {
		t.Fatal("rotation without Create")
	}
	if _, err := Open(filepath.Join(dir, "none.ndjson")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// Taps from several goroutines racing Close: every frame is either
// written or counted lost, and the file is complete.
func TestConcurrentTapsAndClose(t *testing.T) {
	var buf syncBuffer
	w, err := NewWriter(&buf, Zstd, Options{QueueSize: 128})
	if err != nil {
		t.Fatal(err)
	}
	const g, n = 4, 2000
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range n {
				w.Frame(Direction(1+i%2), uint64(i), t0, tradeFrame)
				if j == n/2 && i == 0 {
					go w.Close()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Written+st.Lost != g*n {
		t.Fatalf("stats %+v", st)
	}
	lines, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var lost uint64
	for _, l := range lines {
		lost += l.Count
	}
	if got := uint64(len(frames(lines))); got != st.Written || lost > st.Lost {
		t.Fatalf("%d frames and %d lost in the file, stats %+v", got, lost, st)
	}
}
