package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func runJSON(t *testing.T, args ...string) (map[string]any, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("%v: exit %d; stderr: %s", args, code, stderr.String())
	}
	var v map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("%v: not JSON: %v\n%s", args, err, stdout.String())
	}
	return v, stderr.String()
}

func TestInProcessMock(t *testing.T) {
	t.Setenv("FUGLE_API_KEY", "")
	q, stderr := runJSON(t, "quote", "2330")
	if q["symbol"] != "2330" || q["lastPrice"] == nil {
		t.Errorf("quote %v", q)
	}
	if !strings.Contains(stderr, "in-process mock") {
		t.Errorf("stderr does not say it is the mock: %q", stderr)
	}
	for _, args := range [][]string{{"ticker", "2330"}, {"trades", "2330", "-limit", "3"}, {"candles", "2330", "-timeframe", "5"}, {"tickers"}, {"volumes", "2317"}} {
		v, _ := runJSON(t, args...)
		if args[0] != "ticker" && v["data"] == nil {
			t.Errorf("%v: %v", args, v)
		}
		if args[0] == "trades" {
			rows := v["data"].([]any)
			if len(rows) != 3 {
				t.Fatalf("trades -limit 3: %d rows", len(rows))
			}
			if row := rows[0].(map[string]any); row["conn"] != nil || row["total"] != nil || row["volume"] == nil {
				t.Errorf("a trade row shows what was not sent, or hides what was: %v", row)
			}
		}
	}
	all, _ := runJSON(t, "-all", "-limit", "100", "trades", "2454")
	if n := len(all["data"].([]any)); n != 240 {
		t.Errorf("all trades: %d", n)
	}
	fq, _ := runJSON(t, "-futopt", "quote", "TXFC4/TXFD4")
	if fq["symbol"] != "TXFC4/TXFD4" {
		t.Errorf("futopt spread quote %v", fq)
	}
}

func TestBaseURL(t *testing.T) {
	t.Setenv("FUGLE_API_KEY", "k1")
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("k1"))
	defer srv.Close()
	srv.Publish("trades", "2603", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2603", Price: 200, Size: 1, Serial: 5, Time: time.Now()}))
	v, stderr := runJSON(t, "-base", srv.RESTURL(), "trades", "2603")
	if stderr != "" || v["symbol"] != "2603" {
		t.Errorf("%v %q", v, stderr)
	}
	var stdout, errb bytes.Buffer
	if code := run([]string{"-base", srv.RESTURL(), "quote", "9999"}, &stdout, &errb); code != 1 || !strings.Contains(errb.String(), "no such symbol") {
		t.Errorf("unknown symbol: exit %d %q", code, errb.String())
	}
	t.Setenv("FUGLE_API_KEY", "wrong-k")
	errb.Reset()
	if code := run([]string{"-base", srv.RESTURL(), "quote", "2603"}, &stdout, &errb); code != 1 || !strings.Contains(errb.String(), "rejected the credential") || strings.Contains(errb.String(), "wrong-k") {
		t.Errorf("wrong key: exit %d %q", code, errb.String())
	}
	for _, args := range [][]string{{}, {"dance"}, {"quote"}, {"tickers", "2330"}} {
		errb.Reset()
		if code := run(args, &stdout, &errb); code != 2 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
