// Command bench measures natsbus end to end on loopback: a gateway holding
// one Fugle connection to a local endpoint and republishing every frame on
// an embedded JetStream, and a natsbus.Client consuming them, next to the
// SDK's WebSocket client reading the same frames from the same endpoint.
//
//	cd natsbus && go run ./bench          # a readable report (about 4.5 minutes on 2 vCPUs)
//	cd natsbus && go run ./bench -json    # one JSON object on stdout, progress on stderr
//
// Everything runs in this one process: the endpoint, the NATS server
// (natsbus.RunServer on a temporary directory, a fresh one per run), the
// gateway and the consumer, each NATS user with its own connection. It runs:
//
//   - throughput: the endpoint streams the same -n pre-built frames (50%
//     trades, 30% books, 20% aggregates over -symbols symbols, payloads from
//     marketdatatest's builders) as fast as the socket takes them to the
//     direct client, then through the bus with file storage, then with
//     memory storage, and then again through the bus at -throughput-rate
//     (the target, 50,000 frames/s), stamping trades to show the
//     consumer's lag. Into the bus, "as fast as it takes them" is as fast as
//     JetStream stores them: the gateway's outbox holds its Fugle reader
//     back while NATS stores more slowly than frames come, and TCP then
//     holds the endpoint back. Consumers use DropPolicy Block without a time
//     limit, so a slow consumer holds the path back instead of losing
//     values; a run counts
//     what the endpoint sent, what the consumer received, the drop counters
//     and the values that came out of order, and measures from the
//     consumer's first value to its last.
//   - latency: the endpoint sends at -rate, writing its nanosecond clock
//     into every trade's serial; the consumer subtracts it from its own
//     clock on receipt. Direct, bus (file), bus (memory), then direct again:
//     the spread of the two direct p99s is the noise the bus's added p99 is
//     read against.
//   - memory: -memory-frames frames into the gateway and JetStream (file
//     storage, the default one-minute duplicate window) as fast as they are
//     stored; a natsbus.Client holds the keys but reads nothing, so its
//     consumer stalls and the run measures the gateway and the server taking
//     the frames in. The process's HeapInuse after runtime.GC and its RSS are
//     read before the gateway starts, at the first stored frame and at every
//     tenth of the frames, each time with the endpoint paused and the
//     gateway drained; then (-memory-settle) the window is cut to a second,
//     which makes the server drop the ids it held, and the heap is read once
//     more: the difference is what the window's ids cost.
//
// Every frame differs from the others in its timestamp digits, rewritten by
// the endpoint as it streams, because the gateway names a frame by a hash of
// its data and JetStream drops a repeat inside the duplicate window.
//
// See BENCHMARKS.md ("NATS gateway") for a run and what it shows.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/natsbus"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	n           int
	symbols     int
	tputRate    float64
	rate        float64
	latDuration time.Duration
	latWarmup   time.Duration
	memFrames   int
	memSettle   bool
	jsonOut     bool
	cpuprofile  string
	memprofile  string
	from        string
	paths       []string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", 500_000, "frames per throughput run")
	fs.IntVar(&o.symbols, "symbols", 100, "symbols, each subscribed on trades, books and aggregates")
	fs.Float64Var(&o.tputRate, "throughput-rate", targetBusRate, "frames per second of the paced throughput runs of the bus (the target); 0 skips them")
	fs.Float64Var(&o.rate, "rate", 10_000, "frames per second in the latency runs")
	fs.DurationVar(&o.latDuration, "latency-duration", 5*time.Second, "measured length of each latency run; 0 skips latency")
	fs.DurationVar(&o.latWarmup, "latency-warmup", time.Second, "unmeasured start of each latency run")
	fs.IntVar(&o.memFrames, "memory-frames", 10_000_000, "frames in the memory run; 0 skips it")
	fs.BoolVar(&o.memSettle, "memory-settle", true, "after the memory run, cut the duplicate window to 1 s and read the heap again once its ids are dropped")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object instead of the report")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole program to this file")
	fs.StringVar(&o.memprofile, "memprofile", "", "write an allocation profile of the whole program to this file at the end")
	fs.StringVar(&o.from, "from", "", "run nothing: print the report of a results file written by an earlier -json run")
	paths := fs.String("paths", pathDirect+","+pathBusFile+","+pathBusMemory, "the paths of the throughput and latency runs, comma-separated")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, p := range strings.Split(*paths, ",") {
		switch p = strings.TrimSpace(p); p {
		case "":
		case pathDirect, pathBusFile, pathBusMemory:
			o.paths = append(o.paths, p)
		default:
			return o, fmt.Errorf("-paths: unknown path %q", p)
		}
	}
	if o.n < 1 || o.symbols < 1 || o.rate <= 0 || o.tputRate < 0 || o.memFrames < 0 || o.latDuration < 0 || o.latWarmup < 0 {
		return o, errors.New("-n and -symbols must be at least 1, -rate positive, -throughput-rate, -memory-frames and the durations not negative")
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.from != "" {
		b, err := os.ReadFile(o.from)
		if err != nil {
			return err
		}
		var r results
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", o.from, err)
		}
		r.judge() // by this version's targets
		if o.jsonOut {
			return writeJSON(stdout, &r)
		}
		writeReport(stdout, &r)
		return nil
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if o.memprofile != "" {
		defer func() {
			if f, err := os.Create(o.memprofile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }

	began := time.Now()
	w, err := newWorkload(o.symbols)
	if err != nil {
		return err
	}
	ep, err := newEndpoint()
	if err != nil {
		return err
	}
	defer ep.close()

	r := &results{Machine: machineInfo(), Valid: true}
	r.Config = config{
		Frames: o.n, Symbols: o.symbols, Subscriptions: w.subscriptionCount(), ThroughputRate: o.tputRate,
		Mix:           fmt.Sprintf("%d%% trades, %d%% books, %d%% aggregates", mixTrades, mixBooks, mixAggregates),
		AvgFrameBytes: w.pool.avgFrameBytes(), Rate: o.rate,
		LatencySeconds: o.latDuration.Seconds(), LatencyWarmup: o.latWarmup.Seconds(),
		MemoryFrames: o.memFrames, DuplicatesSeconds: natsbus.DefaultDuplicates.Seconds(),
		DropPolicy: "block (BlockTimeout < 0: no limit)", BufferSize: marketdata.DefaultBufferSize,
		Command: "go run ./bench " + strings.Join(args, " "),
	}
	if uptime, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.Machine.LoadAtStart = strings.TrimSpace(string(uptime))
	}

	for _, p := range o.paths {
		progress("throughput: %s, %d frames as fast as it takes them", p, o.n)
		r.addThroughput(throughputRun(ctx, ep, w, p, o.n, 0))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for _, p := range o.paths {
		if p == pathDirect || o.tputRate == 0 {
			continue
		}
		progress("throughput: %s, %d frames at %.0f/s", p, o.n, o.tputRate)
		r.addThroughput(throughputRun(ctx, ep, w, p, o.n, o.tputRate))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if o.latDuration > 0 {
		n := int(o.rate * (o.latDuration + o.latWarmup).Seconds())
		// The direct client runs first and again last: the spread of its two
		// p99s is the noise the bus's added p99 is read against.
		order := o.paths
		if slices.Contains(order, pathDirect) {
			order = append(slices.Clone(order), pathDirect)
		}
		for i, p := range order {
			progress("latency: %s, %d frames at %.0f/s", p, n, o.rate)
			row := latencyRun(ctx, ep, w, p, n, o.rate, o.latWarmup)
			if i > 0 && i == len(order)-1 && p == pathDirect {
				row.Path += " (repeat)"
			}
			r.addLatency(row)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if o.memFrames > 0 {
		progress("memory: %d frames through the bus (file storage)", o.memFrames)
		m, err := memoryRun(ctx, ep, w, o.memFrames, o.memSettle, progress)
		if err != nil {
			r.fail("memory: %v", err)
		}
		r.Memory = m
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	r.finish(time.Since(began))
	if uptime, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.Machine.LoadAtEnd = strings.TrimSpace(string(uptime))
	}
	if o.jsonOut {
		return writeJSON(stdout, r)
	}
	writeReport(stdout, r)
	return nil
}

// The paths a run measures.
const (
	pathDirect    = "direct"
	pathBusFile   = "bus-file"
	pathBusMemory = "bus-memory"
)

// runTimeout bounds one run: generous, so that only a hang trips it.
func runTimeout(n int) time.Duration {
	return time.Minute + time.Duration(n)*100*time.Microsecond
}

// stream opens the path's consumer (and for the bus, its NATS server and
// gateway), runs consume on it with the endpoint streaming j, and tears
// everything down.
func stream(ctx context.Context, ep *endpoint, w *workload, path string, j *job, h hooks) (c consumed, sr streamResult, g *gatewayCounters, err error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout(j.n))
	defer cancel()
	ep.start(j)
	defer ep.start(nil)
	if path == pathDirect {
		client, err := marketdata.NewWebSocketClient(directOptions(ep.url))
		if err != nil {
			return c, sr, nil, err
		}
		c, sr, err = consume(ctx, client, w, j, h)
		return c, sr, nil, err
	}
	b, err := startBus(ctx, ep, w, busOptions{memory: path == pathBusMemory})
	if err != nil {
		return c, sr, nil, err
	}
	defer b.close()
	client, err := b.client()
	if err != nil {
		return c, sr, nil, err
	}
	c, sr, err = consume(ctx, client, w, j, h)
	counters := b.counters()
	return c, sr, &counters, err
}

// throughputRun sends n frames through path: at rate per second, or with
// rate 0 as fast as the path takes them.
func throughputRun(ctx context.Context, ep *endpoint, w *workload, path string, n int, rate float64) throughputRow {
	runtime.GC()
	h := hooks{}
	if rate > 0 {
		// A paced run stamps every trade: how far the consumer lags.
		h.sink = &latencySink{samples: make([]time.Duration, 0, n)}
	}
	c, sr, g, err := stream(ctx, ep, w, path, newJob(w, n, rate), h)
	row := throughputRow{Path: path, Rate: rate, Sent: sr.frames, Received: c.received, Lost: sr.frames - c.received,
		Dropped: dropped(c.stats), Malformed: c.stats.Malformed, Reordered: c.reordered, Gateway: g, Events: c.events}
	if err == nil {
		err = sr.err
	}
	if err != nil {
		row.Error = err.Error()
	}
	if el := c.last.Sub(c.first); c.received > 1 && el > 0 {
		row.Seconds = round3(el.Seconds())
		row.MsgsPerSec = round1(float64(c.received-1) / el.Seconds())
		row.MBPerSec = round1(float64(sr.bytes) * float64(c.received-1) / float64(max(sr.frames, 1)) / el.Seconds() / 1e6)
		if c.cpuOK {
			row.CPUPerMillion = round2(c.cpu.Seconds() * 1e6 / float64(c.received))
		}
	}
	if h.sink != nil {
		var lag latencyRow
		lag.fill(h.sink.samples)
		row.LagP50Ms, row.LagP99Ms, row.LagMaxMs = round2(lag.P50/1e3), round2(lag.P99/1e3), round2(lag.Max/1e3)
	}
	return row
}

func latencyRun(ctx context.Context, ep *endpoint, w *workload, path string, n int, rate float64, warmup time.Duration) latencyRow {
	runtime.GC()
	sink := &latencySink{warmup: warmup, samples: make([]time.Duration, 0, n)}
	c, sr, g, err := stream(ctx, ep, w, path, newJob(w, n, rate), hooks{sink: sink})
	row := latencyRow{Path: path, Sent: sr.frames, Received: c.received, Lost: sr.frames - c.received,
		Dropped: dropped(c.stats), Reordered: c.reordered, Gateway: g, Events: c.events}
	if err == nil {
		err = sr.err
	}
	if err != nil {
		row.Error = err.Error()
	}
	row.fill(sink.samples)
	return row
}
