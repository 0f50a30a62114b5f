package record

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func newClock(t time.Time) *fakeClock { c := &fakeClock{}; c.Set(t); return c }

func readFile(t *testing.T, p string) ([]Line, error) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, data)
}

func kindsOf(lines []Line) []Kind {
	var k []Kind
	for _, l := range lines {
		k = append(k, l.Kind)
	}
	return k
}

func TestRotateHourly(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			at := func(h, m int) time.Time { return time.Date(2026, 5, 29, h, m, 0, 0, time.UTC) }
			clk := newClock(at(9, 10))
			// A file left by an earlier run in the same hour is not overwritten.
			if err := os.WriteFile(filepath.Join(dir, "trades-2026-05-29T09"+c.ext), []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := Create(filepath.Join(dir, "trades"+c.ext), Options{
				Rotate: RotateHourly, Location: time.UTC, Clock: clk.Now, FlushInterval: 10 * time.Millisecond, Product: "stock",
			})
			if err != nil {
				t.Fatal(err)
			}
			w.Open(1, at(9, 10), "wss://h/x")
			w.Frame(In, 1, at(9, 20), tradeFrame)
			w.Frame(In, 1, at(10, 0).Add(-time.Nanosecond), tradeFrame)
			w.Frame(In, 1, at(10, 0), tradeFrame) // starts the 10:00 file
			w.Closed(1, at(10, 30), 1006, "")
			w.Open(2, at(10, 31), "wss://h/x")
			waitFor(t, "the 10:00 file", func() bool { return w.Stats().Files == 2 })

			// No frame for a while: the clock alone ends the 10:00 file.
			clk.Set(at(11, 0).Add(time.Second))
			p10 := filepath.Join(dir, "trades-2026-05-29T10"+c.ext)
			waitFor(t, "the 10:00 file to be finished", func() bool {
				lines, err := readFile(t, p10)
				return err == nil && len(lines) > 0
			})
			w.Frame(In, 2, at(11, 5), tradeFrame)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if st := w.Stats(); st.Files != 3 || st.Written != 4 {
				t.Fatalf("stats %+v", st)
			}

			names, _ := filepath.Glob(filepath.Join(dir, "*"))
			for i := range names {
				names[i] = filepath.Base(names[i])
			}
			want := []string{"trades-2026-05-29T09" + c.ext, "trades-2026-05-29T09.1" + c.ext, "trades-2026-05-29T10" + c.ext, "trades-2026-05-29T11" + c.ext}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("files %v, want %v", names, want)
			}
			expect := map[string][]Kind{
				"trades-2026-05-29T09.1": {KindHeader, KindOpen, KindFrame, KindFrame, KindEnd},
				"trades-2026-05-29T10":   {KindHeader, KindOpen, KindFrame, KindClose, KindOpen, KindEnd},
				"trades-2026-05-29T11":   {KindHeader, KindOpen, KindFrame, KindEnd},
			}
			for stem, kinds := range expect {
				lines, err := readFile(t, filepath.Join(dir, stem+c.ext))
				if err != nil {
					t.Fatalf("%s: %v", stem, err)
				}
				if !slices.Equal(kindsOf(lines), kinds) {
					t.Fatalf("%s: %v, want %v", stem, kindsOf(lines), kinds)
				}
				if lines[0].Header.Product != "stock" {
					t.Fatalf("%s: header %+v", stem, lines[0].Header)
				}
				// The repeated open line keeps the connection's own time.
				if stem == "trades-2026-05-29T10" && (lines[1].Conn != 1 || !lines[1].Time.Equal(at(9, 10))) {
					t.Fatalf("repeated open %+v", lines[1])
				}
				if stem == "trades-2026-05-29T11" && lines[1].Conn != 2 {
					t.Fatalf("open %+v", lines[1])
				}
			}
		})
	}
}

func TestRotateDaily(t *testing.T) {
	tst := time.FixedZone("TST", 8*3600)
	dir := t.TempDir()
	day := func(d, h int) time.Time { return time.Date(2026, 5, d, h, 0, 0, 0, tst) }
	clk := newClock(day(29, 8))
	w, err := Create(filepath.Join(dir, "all.ndjson"), Options{Rotate: RotateDaily, Location: tst, Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	w.Frame(In, 1, day(29, 23), tradeFrame)
	w.Frame(In, 1, day(30, 0), tradeFrame)
	w.Frame(In, 1, day(30, 0).Add(-time.Minute), tradeFrame) // a little late: stays in the open file
	w.Frame(In, 1, day(31, 9), tradeFrame)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{"all-2026-05-29.ndjson": 1, "all-2026-05-30.ndjson": 2, "all-2026-05-31.ndjson": 1} {
		lines, err := readFile(t, filepath.Join(dir, name))
		if err != nil || len(frames(lines)) != n {
			t.Fatalf("%s: %d frames, %v", name, len(frames(lines)), err)
		}
	}
}

// Periods always move forward, through a DST change too, and hold their
// instant.
func TestPeriodForward(t *testing.T) {
	locs := []*time.Location{time.UTC, time.FixedZone("IST", 5*3600+1800)}
	if l, err := time.LoadLocation("Europe/Berlin"); err == nil {
		locs = append(locs, l)
	}
	for _, loc := range locs {
		for _, r := range []Rotation{RotateHourly, RotateDaily} {
			at := time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC)
			var prev time.Time
			for range 6 * 60 {
				start, end := period(at, r, loc)
				if at.Before(start) || !at.Before(end) || start.Before(prev) {
					t.Fatalf("%v %v: %v not in [%v, %v), or before %v", loc, r, at, start, end, prev)
				}
				if r == RotateHourly && start.In(loc).Minute() != 0 {
					t.Fatalf("%v: hour starts at %v", loc, start.In(loc))
				}
				prev = start
				at = at.Add(time.Minute)
			}
		}
	}
}

func TestRotatedName(t *testing.T) {
	at := time.Date(2026, 5, 29, 9, 0, 0, 0, time.UTC)
	for _, k := range []struct {
		in   string
		r    Rotation
		want string
	}{
		{"d/x.ndjson.zst", RotateHourly, "d/x-2026-05-29T09.ndjson.zst"},
		{"d/x.ndjson.gz", RotateDaily, "d/x-2026-05-29.ndjson.gz"},
		{"x.ndjson", RotateNone, "x.ndjson"},
	} {
		if got := RotatedName(k.in, k.r, at); got != k.want {
			t.Errorf("RotatedName(%q) = %q, want %q", k.in, got, k.want)
		}
	}
	if _, _, ok := splitSuffix(".ndjson"); ok {
		t.Error("a bare suffix is not a name")
	}
}

// When the next file cannot be created, frames count as lost, the error
// is kept, and recording resumes once it can.
func TestRotateCreateFails(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return time.Date(2026, 5, 29, h, 0, 0, 0, time.UTC) }
	w, err := Create(filepath.Join(sub, "x.ndjson"), Options{Rotate: RotateHourly, Location: time.UTC, Clock: newClock(at(9)).Now, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.Frame(In, 1, at(9), tradeFrame)
	waitFor(t, "the frame", func() bool { return w.Stats().Written == 1 })
	// The directory vanishes (works as root too): the 10:00 file cannot be created.
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	w.Frame(In, 1, at(10), tradeFrame)
	waitFor(t, "the error", func() bool { return w.Err() != nil })
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// Retries are spaced by FlushInterval: frames in between are lost.
	sent := uint64(2)
	waitFor(t, "recording to resume", func() bool {
		w.Frame(In, 1, at(11), tradeFrame)
		sent++
		return w.Stats().Written >= 2
	})
	err = w.Close()
	st := w.Stats()
	if !errors.Is(err, fs.ErrNotExist) || st.Lost < 1 || st.Written < 2 || st.Written+st.Lost != sent {
		t.Fatalf("err %v, stats %+v", err, st)
	}
	if lines, err := readFile(t, filepath.Join(sub, "x-2026-05-29T11.ndjson")); err != nil || len(frames(lines)) < 1 {
		t.Fatalf("11:00 file: %d frames, %v", len(frames(lines)), err)
	}
}
