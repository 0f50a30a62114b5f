package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that a run leaves nothing behind: every endpoint
// connection, NATS server, gateway and client is closed before run returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestTinyRun runs the whole program with tiny flags and checks that every
// part measured something and lost nothing, and that the report shows every
// row.
func TestTinyRun(t *testing.T) {
	var out, progress bytes.Buffer
	args := []string{"-json", "-n", "2000", "-symbols", "5", "-rate", "2000",
		"-latency-duration", "300ms", "-latency-warmup", "100ms", "-memory-frames", "5000", "-memory-settle=false"}
	if err := run(args, &out, &progress); err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var r results
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("the -json output is not one JSON object: %v\n%s", err, out.String())
	}
	if !r.Valid {
		t.Errorf("run not valid: %v", r.Problems)
	}
	if len(r.Throughput) != 5 {
		t.Fatalf("%d throughput rows, want direct, bus-file and bus-memory as fast as they go, and the bus paths at the target rate", len(r.Throughput))
	}
	for _, row := range r.Throughput {
		if row.Sent != 2000 || row.Received != 2000 || row.MsgsPerSec <= 0 {
			t.Errorf("throughput %s: sent %d, received %d, %.0f msg/s", row.Path, row.Sent, row.Received, row.MsgsPerSec)
		}
		if row.Path != pathDirect && (row.Gateway == nil || row.Gateway.FramesIn != 2000) {
			t.Errorf("throughput %s: gateway counters %+v, want 2000 frames in", row.Path, row.Gateway)
		}
		if row.Rate > 0 && row.LagP99Ms <= 0 {
			t.Errorf("throughput %s at %.0f/s: no lag measured", row.Path, row.Rate)
		}
	}
	if len(r.Latency) != 4 {
		t.Fatalf("%d latency rows, want 4", len(r.Latency))
	}
	for _, row := range r.Latency {
		if row.Samples == 0 || row.P99 <= 0 || row.Lost != 0 {
			t.Errorf("latency %s: %d samples, p99 %.1f µs, lost %d", row.Path, row.Samples, row.P99, row.Lost)
		}
	}
	if _, ok := r.BusAddedP99Us[pathBusFile]; !ok {
		t.Errorf("no added p99 for %s: %v", pathBusFile, r.BusAddedP99Us)
	}
	m := r.Memory
	// So few frames are all stored by the first reading, after which the
	// endpoint pauses and the gateway drains.
	if m == nil || m.Stored != 5000 || m.Lost != 0 || len(m.Samples) < 3 || m.Samples[len(m.Samples)-1].Frames != 5000 || m.StreamMsgs != 5000 {
		t.Fatalf("memory run: %+v", m)
	}
	for _, s := range m.Samples {
		if s.HeapInuse == 0 || s.RSS == 0 {
			t.Errorf("memory sample %q: HeapInuse %d, RSS %d", s.Label, s.HeapInuse, s.RSS)
		}
	}
	if r.Machine.CPUs == 0 || r.Machine.GoVersion == "" {
		t.Errorf("machine: %+v", r.Machine)
	}

	// -from prints the report of a saved run.
	saved := t.TempDir() + "/results.json"
	if err := os.WriteFile(saved, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	if err := run([]string{"-from", saved}, &report, &progress); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Machine:", "Throughput:", "direct", "bus-file", "bus-memory", "50,000/s", "Latency:",
		"direct (repeat)", "p99 added by bus-file", "Memory:", "at the first stored frame", "Targets:", "Run: valid"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("the report has no %q:\n%s", want, report.String())
		}
	}
}

func TestFlags(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{"-n", "0"}, {"-rate", "-1"}, {"-paths", "nope"}} {
		if _, err := parseFlags(args, &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}
