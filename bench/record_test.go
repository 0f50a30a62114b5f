package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLatencyShift(t *testing.T) {
	rows := []latencyRow{
		{Client: "sdk", Samples: 10, P99us: 100},
		{Client: "sdk-record", Samples: 10, P99us: 112.5},
		{Client: "sdk", Samples: 10, P99us: 120, Repeat: true},
		{Client: "gorilla-raw", Samples: 10, P99us: 50},
	}
	delta, noise, ok := latencyShift(rows)
	if !ok || delta != 2.5 || noise != 20 {
		t.Fatalf("delta %v, noise %v, ok %v; want 2.5, 20, true", delta, noise, ok)
	}
	// A failed or empty run does not count.
	failed := append([]latencyRow(nil), rows...)
	failed[2].Error = "boom"
	if _, _, ok := latencyShift(failed); ok {
		t.Fatal("judged with one sdk run")
	}
	if _, _, ok := latencyShift(rows[:1]); ok {
		t.Fatal("judged without sdk-record")
	}
	empty := append([]latencyRow(nil), rows...)
	empty[1].Samples = 0
	if _, _, ok := latencyShift(empty); ok {
		t.Fatal("judged an sdk-record run without samples")
	}
	// Below the sdk's runs: a negative shift.
	rows[1].P99us = 90
	if delta, _, _ := latencyShift(rows); delta != -20 {
		t.Fatalf("delta %v, want -20", delta)
	}
}

func TestRecordTargets(t *testing.T) {
	rec := func(lost uint64) []throughputRow {
		return []throughputRow{{Client: "sdk"}, {Client: "sdk-record", Record: &recordResult{Written: 100, Lost: lost}}}
	}
	if tg := recordThroughputTarget(0.95, rec(0)); !tg.Met || tg.Note != "" || tg.Reason != "" {
		t.Fatalf("%+v", tg)
	}
	if tg := recordThroughputTarget(0.85, rec(0)); tg.Met {
		t.Fatalf("%+v", tg)
	}
	if tg := recordThroughputTarget(0.95, rec(7)); tg.Met || !strings.Contains(tg.Note, "lost 7") {
		t.Fatalf("a recording that lost frames met the target: %+v", tg)
	}
	if tg := recordThroughputTarget(0, nil); tg.Met || tg.Reason == "" {
		t.Fatalf("%+v", tg)
	}

	f := func(v float64) *float64 { return &v }
	if tg := recordLatencyTarget(f(-3), f(5)); !tg.Met || tg.Value != -3 || tg.Goal != "|Δ| < 5.0" {
		t.Fatalf("%+v", tg)
	}
	if tg := recordLatencyTarget(f(6), f(5)); tg.Met {
		t.Fatalf("%+v", tg)
	}
	if tg := recordLatencyTarget(f(0), f(0)); tg.Met {
		t.Fatalf("no noise, yet met: %+v", tg)
	}
	if tg := recordLatencyTarget(nil, nil); tg.Met || tg.Reason == "" {
		t.Fatalf("%+v", tg)
	}
}

func TestBytesPerMessage(t *testing.T) {
	if got := bytesPerMessage(1234, 100); got != 12.3 {
		t.Fatalf("%v", got)
	}
	if got := bytesPerMessage(1234, 0); got != 0 {
		t.Fatalf("%v", got)
	}
}

func TestRatiosSDKRecord(t *testing.T) {
	r := computeRatios([]throughputRow{{Client: "sdk", MsgsPerSec: 8e5}, {Client: "sdk-record", MsgsPerSec: 7.6e5}}, nil)
	if r.SDKRecordToSDK != 0.95 {
		t.Fatalf("sdk_record_to_sdk %v", r.SDKRecordToSDK)
	}
	r = computeRatios([]throughputRow{{Client: "sdk", MsgsPerSec: 8e5}, {Client: "sdk-record", Error: "x", MsgsPerSec: 7.6e5}}, nil)
	if r.SDKRecordToSDK != 0 {
		t.Fatalf("sdk_record_to_sdk %v from a failed run", r.SDKRecordToSDK)
	}
}

// sdk-record through the endpoint, paced so that the recorder keeps up:
// every frame is recorded, none lost, and the temporary file is removed.
func TestRecordClient(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	ep, err := newEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer ep.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	work := newWorkload(symbolList(10), false, 19)
	const n = 3000
	sink := &latencySink{}
	run, sr, err := stream(ep, &job{work: work, n: n, rate: 20_000}, func() (clientRun, error) {
		return recordClient(ctx, ep.base, work, n, 1024, sdkHooks{sink: sink})
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.messages != n || sr.frames != n || len(run.problems) > 0 {
		t.Fatalf("%d messages, endpoint sent %d, problems %v", run.messages, sr.frames, run.problems)
	}
	rec := run.record
	// Every data frame, the authenticated frame, and per channel the
	// subscribe frame and its ack.
	if rec == nil || rec.Lost != 0 || rec.Written < n || rec.Written > n+1+2*uint64(len(work.subs)) {
		t.Fatalf("record %+v", rec)
	}
	if rec.Compression != "zstd" || rec.FileBytes <= 0 || rec.BytesPerMessage != bytesPerMessage(rec.FileBytes, n) {
		t.Fatalf("record %+v", rec)
	}
	if len(run.latency) == 0 {
		t.Fatal("no latency samples")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// A results file with the recording rows reads back and prints them.
func TestRecordResultsRoundTrip(t *testing.T) {
	delta, noise := 3.5, 12.0
	r := &results{
		Throughput: []throughputRow{
			{Client: "sdk", Messages: 1000, MsgsPerSec: 8e5},
			{Client: "sdk-record", Messages: 1000, MsgsPerSec: 7.6e5, Record: &recordResult{Compression: "zstd", Written: 1007, FileBytes: 60_000, BytesPerMessage: 60}},
		},
		Ratios: ratios{SDKRecordToSDK: 0.95, SDKRecordP99DeltaUs: &delta, SDKP99NoiseUs: &noise},
		Latency: []latencyRow{
			{Client: "sdk", Samples: 10, P99us: 100},
			{Client: "sdk-record", Samples: 10, P99us: 109.5, Record: &recordResult{Compression: "zstd", Written: 110}},
			{Client: "sdk", Samples: 10, P99us: 112, Repeat: true},
		},
		Targets: []target{recordLatencyTarget(&delta, &noise)},
		Valid:   true,
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := readResults(path)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	printTable(&out, back)
	for _, want := range []string{"sdk-record / sdk msg/s: 0.95", "recorded (zstd) 1007 frames, lost 0", "sdk (repeat)", "noise (their spread) 12.0 µs", "|Δ| < 12.0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the table:\n%s", want, out.String())
		}
	}
	svg := chartSVG(back)
	if !strings.Contains(svg, "sdk-record") || strings.Count(svg, ">sdk<") != 2 { // the bar's label and the legend's
		t.Errorf("chart: sdk-record missing or the repeat drawn")
	}
}
