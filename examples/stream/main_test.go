package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/replay"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestSimulatedFeedNDJSON(t *testing.T) {
	t.Setenv("FUGLE_API_KEY", "")
	var stdout, stderr bytes.Buffer
	code := run([]string{"-for", "700ms", "-json", "-rate", "50", "-channels", "trades,books,aggregates"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "simulated feed") {
		t.Fatalf("stderr does not say the feed is simulated: %q", stderr.String())
	}
	if lines := strings.Count(stderr.String(), "\n"); lines != 1 {
		t.Fatalf("stderr has %d lines, want only the notice: %q", lines, stderr.String())
	}
	kinds := map[string]int{}
	var last map[string]any
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		kinds[obj["type"].(string)]++
		if obj["type"] == "event" {
			last = obj // values may be printed after it: the channels are read in no set order
		}
	}
	for _, k := range []string{"trade", "book", "aggregate", "event"} {
		if kinds[k] == 0 {
			t.Errorf("no %s line in %v", k, kinds)
		}
	}
	if last["event"] != "disconnected" || last["willReconnect"] != false || last["code"] != float64(1000) {
		t.Fatalf("last event = %v, want the orderly disconnect", last)
	}
}

func TestRejectedKeyExitsNonZero(t *testing.T) {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("right-key"))
	defer srv.Close()
	t.Setenv("FUGLE_API_KEY", "wrong-key")
	var stdout, stderr bytes.Buffer
	code := run([]string{"-endpoint", srv.StockURL(), "-for", "10s"}, &stdout, &stderr)
	if code == 0 {
		t.Fatal("exit 0 with a rejected key")
	}
	msg := stderr.String()
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "rejected") || strings.Contains(msg, "wrong-key") {
		t.Fatalf("stderr = %q, want one line naming the rejection, without the key", msg)
	}
}

func TestTransientFailureAtStartIsRetried(t *testing.T) {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("key"))
	defer srv.Close()
	srv.FailAuth(1011, "Authentication service unavailable", 1) // the first retry comes within 1.5 s
	t.Setenv("FUGLE_API_KEY", "key")
	var stdout, stderr bytes.Buffer
	code := run([]string{"-endpoint", srv.StockURL(), "-for", "3s", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr.String())
	}
	msg := stderr.String()
	if strings.Count(msg, "retrying") != 1 || !strings.Contains(msg, "Authentication service unavailable") {
		t.Fatalf("stderr = %q, want one retry naming the cause", msg)
	}
	if !strings.Contains(stdout.String(), `"event":"authenticated"`) {
		t.Fatalf("never authenticated: %s", stdout.String())
	}
}

// The record, serve, replay loop of the README, in process: a recording of
// the simulated feed, replayed to the same program through a base URL.
func TestRecordThenReplay(t *testing.T) {
	t.Setenv("FUGLE_API_KEY", "")
	path := t.TempDir() + "/day.ndjson.zst"
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-for", "800ms", "-rate", "40", "-channels", "trades", "-record", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("record: exit %d; %s", code, stderr.String())
	}
	recorded := strings.Count(stdout.String(), "\ntrade ")
	rp, err := replay.NewServer(path, replay.Speed(replay.Max))
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-endpoint", rp.URL(), "-for", "1500ms", "-channels", "trades"}, &stdout, &stderr); code != 0 {
		t.Fatalf("replay: exit %d; %s", code, stderr.String())
	}
	if got := strings.Count(stdout.String(), "\ntrade "); recorded == 0 || got != recorded {
		t.Fatalf("replayed %d trades, recorded %d\n%s", got, recorded, stdout.String())
	}
	if !strings.Contains(stderr.String(), "placeholder key") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestRESTBaseFromTheStreamingEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"wss://api.fugle.tw/marketdata/v1.0/stock/streaming":   "https://api.fugle.tw/marketdata",
		"ws://127.0.0.1:8080/marketdata/v1.1/futopt/streaming": "http://127.0.0.1:8080/marketdata",
		"": "https://api.fugle.tw/marketdata",
	} {
		if got := restBase(in); got != want {
			t.Errorf("restBase(%q) = %q, want %q", in, got, want)
		}
	}
}

// -backfill: a connection the server drops comes back with the trades it
// missed, fetched over REST and printed marked as backfill.
func TestBackfillFlag(t *testing.T) {
	srv := marketdatatest.NewServer()
	defer srv.Close()
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		publish := func(from, to int64) {
			for i := from; i <= to; i++ {
				srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 10, Size: 1, Volume: i, Serial: i}))
			}
		}
		if srv.WaitForSubscribers(ctx, "trades", "2330", 1) != nil {
			return
		}
		publish(1, 5)
		first := srv.Conns()[0]
		srv.DropAllAfterQueued()
		<-first.Done()
		publish(6, 10) // missed by the stream
		if srv.WaitForSubscribers(ctx, "trades", "2330", 1) == nil {
			publish(11, 15)
		}
	}()
	t.Setenv("FUGLE_API_KEY", "")
	var stdout, stderr bytes.Buffer
	code := run([]string{"-endpoint", srv.URL(), "-backfill", "-channels", "trades", "-symbols", "2330", "-for", "4s", "-json"}, &stdout, &stderr)
	<-fed
	if code != 0 {
		t.Fatalf("exit %d; %s", code, stderr.String())
	}
	out := stdout.String()
	if n := strings.Count(out, `"backfill":true`); n != 5 || !strings.Contains(out, `"complete":true,"conn":2,"count":5,"event":"backfilled"`) {
		t.Fatalf("%d backfilled values, want 5 and a complete report:\n%s", n, out)
	}
}
