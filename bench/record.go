package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/record"
)

// recordResult is what the recorder of an sdk-record run did.
type recordResult struct {
	Compression string `json:"compression"`
	// Written and Lost are the Writer's counters: frames written, and
	// frames (or markers) dropped because its queue was full. A run that
	// lost any is not valid.
	Written uint64 `json:"written"`
	Lost    uint64 `json:"lost"`
	// FileBytes is the recording's size on disk after Close;
	// BytesPerMessage is that over the messages the client received.
	FileBytes       int64   `json:"file_bytes"`
	BytesPerMessage float64 `json:"bytes_per_message"`
	// CloseSeconds is how long the Writer's Close took after the client's:
	// the backlog still queued at the last message, compressed and written.
	CloseSeconds float64 `json:"close_seconds"`
}

// recordClient is sdkClient with the client's frame tap recording every
// frame to a zstd-compressed temporary file through record.Writer, with
// the Writer's default options. The file is removed afterwards; its size,
// the Writer's counters and how long its Close took are kept in the run.
func recordClient(ctx context.Context, base string, w *workload, n, buffer int, hooks sdkHooks) (clientRun, error) {
	f, err := os.CreateTemp("", "bench-*.ndjson.zst")
	if err != nil {
		return clientRun{}, err
	}
	path := f.Name()
	_ = f.Close()
	defer os.Remove(path)
	endpoint := marketdata.Endpoint(base, "v1.0", "stock")
	rw, err := record.Create(path, record.Options{Endpoint: endpoint, Product: "stock", SDK: marketdata.Version})
	if err != nil {
		return clientRun{}, err
	}
	hooks.tap = rw.ClientTap()
	run, err := sdkClient(ctx, base, w, n, buffer, hooks) // closes the client
	began := time.Now()
	cerr := rw.Close()
	closeSecs := time.Since(began).Seconds()
	st := rw.Stats()
	res := &recordResult{Compression: "zstd", Written: st.Written, Lost: st.Lost, CloseSeconds: round3(closeSecs)}
	if fi, serr := os.Stat(path); serr == nil {
		res.FileBytes = fi.Size()
		res.BytesPerMessage = bytesPerMessage(fi.Size(), run.messages)
	}
	run.record = res
	if cerr != nil {
		run.problems = append(run.problems, fmt.Sprintf("the recorder failed: %v", cerr))
	}
	if st.Lost > 0 {
		run.problems = append(run.problems, fmt.Sprintf("the recorder lost %d frames (its queue was full: it wrote %d)", st.Lost, st.Written))
	}
	return run, err
}

// bytesPerMessage is the recording's size per message received, to one
// decimal; 0 without messages.
func bytesPerMessage(size int64, messages int) float64 {
	if messages <= 0 {
		return 0
	}
	return round1(float64(size) / float64(messages))
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// latencyShift compares the p99 of the sdk-record latency run with the
// sdk's (see p99Shift).
func latencyShift(rows []latencyRow) (delta, noise float64, ok bool) {
	return p99Shift(rows, "sdk-record")
}

// p99Shift compares the p99 of client's latency run with the sdk's. The
// sdk's latency runs bracket client's (the repeat comes after it); noise
// is the spread of their p99s (largest minus smallest) and delta is
// client's p99 minus their mean. ok is false without a row of client and
// two sdk rows that all succeeded.
func p99Shift(rows []latencyRow, client string) (delta, noise float64, ok bool) {
	var sdk []float64
	var rec float64
	haveRec := false
	for _, l := range rows {
		if l.Error != "" || l.Samples == 0 {
			continue
		}
		switch l.Client {
		case "sdk":
			sdk = append(sdk, l.P99us)
		case client:
			rec, haveRec = l.P99us, true
		}
	}
	if !haveRec || len(sdk) < 2 {
		return 0, 0, false
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, v := range sdk {
		lo, hi, sum = min(lo, v), max(hi, v), sum+v
	}
	return round1(rec - sum/float64(len(sdk))), round1(hi - lo), true
}

// recordLost is the frames the recorder lost in the row of client in rows,
// and whether there is such a row with a recording.
func recordLost(rows []throughputRow, client string) (lost, written uint64, ok bool) {
	for _, t := range rows {
		if t.Client == client && t.Record != nil {
			return t.Record.Lost, t.Record.Written, true
		}
	}
	return 0, 0, false
}

// recordThroughputTarget judges sdk_record_to_sdk: at least 0.90, with no
// frame lost by the recorder (a recording that skipped frames did less
// work than a full one, so its rate would flatter it).
func recordThroughputTarget(ratio float64, rows []throughputRow) target {
	t := target{Name: "sdk-record / sdk msg/s", Goal: ">= 0.90", Value: ratio, Met: ratio >= 0.9}
	if ratio == 0 {
		t.Met, t.Reason = false, "sdk or sdk-record did not run"
		return t
	}
	if lost, written, ok := recordLost(rows, "sdk-record"); ok && lost > 0 {
		t.Met = false
		t.Note = fmt.Sprintf("the recorder lost %d frames and wrote %d: not a full recording", lost, written)
	}
	return t
}

// recordLatencyTarget judges the p99 shift of sdk-record against the
// sdk's: |delta| below the noise, the spread of the sdk's own p99 over its
// runs (see latencyShift).
func recordLatencyTarget(delta, noise *float64) target {
	return shiftTarget("sdk-record", "sdk-record", delta, noise)
}

// poolLatencyTarget judges sdk-pool's p99 shift the same way: |delta|
// below the noise of the sdk's runs, which bracket sdk-record's and
// sdk-pool's.
func poolLatencyTarget(delta, noise *float64) target {
	return shiftTarget("sdk-pool", "sdk-record and sdk-pool", delta, noise)
}

// shiftTarget judges client's p99 shift against the noise of the sdk's two
// latency runs, run before and after between.
func shiftTarget(client, between string, delta, noise *float64) target {
	t := target{Name: client + " p99 - sdk p99 (µs)", Goal: "|Δ| < noise"}
	if delta == nil || noise == nil {
		t.Reason = "the sdk, " + client + " and repeated sdk latency runs did not all succeed"
		return t
	}
	t.Goal = fmt.Sprintf("|Δ| < %.1f", *noise)
	t.Value, t.Met = *delta, math.Abs(*delta) < *noise
	t.Note = fmt.Sprintf("noise %.1f µs: the spread of the sdk's p99 over its two runs, before and after %s", *noise, between)
	return t
}

// poolThroughputTarget judges sdk_pool_to_sdk: at least 0.90.
func poolThroughputTarget(ratio float64) target {
	t := target{Name: "sdk-pool / sdk msg/s", Goal: ">= 0.90", Value: ratio, Met: ratio >= 0.9}
	if ratio == 0 {
		t.Met, t.Reason = false, "sdk or sdk-pool did not run"
	}
	return t
}

// recordSummary is one line on what the recorder did.
func recordSummary(rec *recordResult) string {
	return fmt.Sprintf("recorded (%s) %d frames, lost %d; file %s, %.1f B per message; the recorder's Close took %.3f s",
		rec.Compression, rec.Written, rec.Lost, mib(uint64(max(rec.FileBytes, 0))), rec.BytesPerMessage, rec.CloseSeconds)
}
