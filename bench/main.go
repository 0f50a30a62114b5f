// Command bench measures the SDK end to end against a local endpoint on
// 127.0.0.1 and compares it with what a Go user would write instead
// (gorilla/websocket with encoding/json or gjson), with a bare gorilla read
// loop that decodes nothing, with the bound for a decoding client, and with
// the official Node SDK, all receiving the same frames. It also runs the SDK
// with a recording on (sdk-record: the frame tap feeding record.Writer, zstd,
// to a temporary file) next to the SDK without one.
//
//	go run ./bench                   # a readable report (about 100 s on 2 cores)
//	go run ./bench -json             # one JSON object on stdout, progress on stderr
//	go run ./bench -json -svg bench/chart.svg > bench/results.json
//	go run ./bench -from bench/results.json                          # its table again
//	go run ./bench -from bench/results.json -svg bench/chart.svg     # its chart again
//
// It runs these parts in one process:
//
//   - throughput: the endpoint streams the same -n pre-built frames (50%
//     trades, 30% books, 20% aggregates over -symbols symbols) to each
//     client in turn: gorilla-raw, sdk, sdk-pool, sdk-record, gorilla-json,
//     gorilla-gjson and node-sdk. sdk-pool is the SDK's Pool over two
//     connections, each subscribed to half of the subscriptions; for it the
//     endpoint sends each frame only on the connection subscribed to its
//     symbol, so that it receives the same -n frames in all. Each client
//     measures from its first message to its last, and
//     the process's CPU (getrusage) is read around each run, the endpoint
//     writer's own thread CPU taken out. The diagnostics raw-decode and
//     raw-decode-chan (bench/diag.go) run only when -clients names them.
//   - bound: the SDK's decoder times the same frames with no socket; with
//     gorilla-raw's time per message it gives the fastest a decoding client
//     can be here.
//   - latency: the endpoint sends at -latency-rate, writing its clock into
//     the serial of every trades frame; the consumer subtracts it from its
//     own clock at receipt. The clients run in this order: sdk, sdk-record,
//     sdk-pool, sdk again and gorilla-raw; the spread of the two sdk runs'
//     p99 is the noise that sdk-record's and sdk-pool's p99 shifts are
//     judged against.
//   - memory: the SDK with -memory-subs subscriptions receives
//     -memory-messages messages; HeapInuse after runtime.GC is read at the
//     first message, after a warm-up, and at the end.
//
// See BENCHMARKS.md for a run and what it shows.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/go-fugle/marketdata"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	n           int
	symbols     int
	clients     string
	buffer      int
	latRate     float64
	latDuration time.Duration
	latWarmup   time.Duration
	memMessages int
	memSubs     int
	jsonOut     bool
	svg         string
	from        string
	node        string
	moduleDir   string
	cpuprofile  string
}

func parseFlags() options {
	var o options
	flag.IntVar(&o.n, "n", 1_000_000, "messages per client in the throughput runs")
	flag.IntVar(&o.symbols, "symbols", 50, "symbols in the throughput and latency runs (each on trades, books and aggregates)")
	flag.StringVar(&o.clients, "clients", "gorilla-raw,sdk,sdk-handler,sdk-pool,sdk-record,gorilla-json,gorilla-gjson,node-sdk", "throughput clients to run, comma-separated; empty skips throughput")
	flag.IntVar(&o.buffer, "buffer", marketdata.DefaultBufferSize, "the SDK's BufferSize (capacity of each typed channel)")
	flag.Float64Var(&o.latRate, "latency-rate", 10_000, "messages per second in the latency runs")
	flag.DurationVar(&o.latDuration, "latency-duration", 10*time.Second, "measured length of each latency run; 0 skips latency")
	flag.DurationVar(&o.latWarmup, "latency-warmup", time.Second, "unmeasured start of each latency run")
	flag.IntVar(&o.memMessages, "memory-messages", 10_000_000, "messages in the memory run; 0 skips it")
	flag.IntVar(&o.memSubs, "memory-subs", 2000, "subscriptions in the memory run (symbols spread over trades, books and aggregates)")
	flag.BoolVar(&o.jsonOut, "json", false, "print one JSON object with every figure instead of the table")
	flag.StringVar(&o.svg, "svg", "", "also write a chart of the results to this file")
	flag.StringVar(&o.from, "from", "", "run nothing: report the results file written by an earlier -json run (as a table, -json or -svg)")
	flag.StringVar(&o.node, "node", "node", "the node binary")
	flag.StringVar(&o.moduleDir, "node-modules", "", "folder whose node_modules holds @fugle/marketdata (default: interop/node of this repository)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole program to this file")
	flag.Parse()
	return o
}

func run() error {
	o := parseFlags()
	if o.from != "" {
		r, err := readResults(o.from)
		if err != nil {
			return err
		}
		return report(r, o)
	}
	if o.n < 2 || o.symbols < 1 || o.buffer < 1 || o.latRate <= 0 || o.memSubs < 3 {
		return errors.New("-n must be at least 2, -symbols and -buffer at least 1, -latency-rate positive, -memory-subs at least 3")
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	began := time.Now()
	ep, err := newEndpoint()
	if err != nil {
		return err
	}
	defer ep.close()

	r := &results{Machine: machineInfo(o.node), Valid: true}
	r.Config = config{
		Messages:          o.n,
		Symbols:           o.symbols,
		Subscriptions:     3 * o.symbols,
		Mix:               fmt.Sprintf("%d%% trades, %d%% books, %d%% aggregates", mixTrades, mixBooks, mixAggregates),
		SDKBufferSize:     o.buffer,
		SDKDropPolicy:     "block (BlockTimeout 1m)",
		LatencyRate:       o.latRate,
		LatencySeconds:    o.latDuration.Seconds(),
		LatencyWarmup:     o.latWarmup.Seconds(),
		MemoryMessages:    o.memMessages,
		MemorySubs:        o.memSubs,
		NodeSDK:           "@fugle/marketdata 1.6.0 (interop/node/package-lock.json)",
		ReproduceCommand:  "go run ./bench " + strings.Join(os.Args[1:], " "),
		ThroughputClients: o.clients,
	}
	r.Config.ReproduceCommand = strings.TrimSpace(r.Config.ReproduceCommand)
	fail := func(format string, args ...any) {
		r.Valid = false
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}

	symbols := symbolList(o.symbols)
	work := newWorkload(symbols, false, 9)
	r.Config.AvgFrameBytes = avgFrame(work.pool)
	if o.clients != "" {
		throughput(ctx, ep, o, work, r, fail)
	}
	if o.latDuration > 0 {
		latency(ctx, ep, o, symbols, r, fail)
	}
	if o.memMessages > 0 {
		r.Memory = memory(ctx, ep, o, fail)
	}
	judge(r, o)
	r.Config.TotalRuntimeSecs = round1(time.Since(began).Seconds())

	return report(r, o)
}

// report writes the chart when asked, then the results as JSON or as the
// table.
func report(r *results, o options) error {
	if o.svg != "" {
		if err := os.WriteFile(o.svg, []byte(chartSVG(r)), 0o644); err != nil {
			return err
		}
		logf("chart written to %s", o.svg)
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printTable(os.Stdout, r)
	return nil
}

// readResults loads a results file written by -json.
func readResults(path string) (*results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// logf reports progress on stderr, keeping stdout for the result.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func avgFrame(p *pool) int {
	total := 0
	for _, fr := range p.frames {
		total += fr.payload
	}
	return total / len(p.frames)
}

// stream runs one client against the endpoint while it streams j, and
// checks that the endpoint sent every frame. It reads the process's CPU
// before the client starts and after both sides have finished, so that the
// window holds the whole run of the client and of the endpoint's writer;
// the writer's own CPU, read on its thread, is then the part that is not
// the client's.
func stream(ep *endpoint, j *job, client func() (clientRun, error)) (clientRun, streamResult, error) {
	j.done = make(chan streamResult, j.parts())
	ep.start(j)
	defer ep.start(nil)
	runtime.GC() // every client starts from a collected heap
	before, beforeOK := processCPU()
	run, err := client()
	if err != nil {
		return run, streamResult{}, err
	}
	sr, err := collect(j.done, j.parts(), 10*time.Second)
	if err != nil {
		return run, sr, err
	}
	if sr.frames != j.n {
		return run, sr, fmt.Errorf("endpoint sent %d of %d frames", sr.frames, j.n)
	}
	after, afterOK := processCPU()
	if beforeOK && afterOK {
		run.processCPU, run.processOK = after.sub(before).total(), true
	}
	if sr.cpuOK {
		run.endpointCPU, run.endpointOK = sr.cpu.total(), true
		if !run.external && beforeOK && afterOK {
			run.cpu, run.cpuOK = clientCPU(after.sub(before), sr.cpu), true
		}
	}
	return run, sr, nil
}

// collect sums the parts streamResults of a job's connections (one unless
// the job is routed over several), waiting at most wait for all of them:
// frames, bytes and the writers' CPU add up, the CPU counting only when
// every writer's could be read.
func collect(done <-chan streamResult, parts int, wait time.Duration) (streamResult, error) {
	timeout := time.After(wait)
	total := streamResult{cpuOK: true}
	for k := 0; k < parts; k++ {
		select {
		case sr := <-done:
			if sr.err != nil {
				return sr, fmt.Errorf("endpoint: %w", sr.err)
			}
			total.frames += sr.frames
			total.bytes += sr.bytes
			total.cpu = total.cpu.add(sr.cpu)
			total.cpuOK = total.cpuOK && sr.cpuOK
		case <-timeout:
			return streamResult{}, errors.New("endpoint did not finish its stream")
		}
	}
	return total, nil
}

// decodePasses is how many times the bound's decode loop runs over n
// frames; the best pass counts.
const decodePasses = 3

func throughput(ctx context.Context, ep *endpoint, o options, work *workload, r *results, fail func(string, ...any)) {
	for _, name := range strings.Split(o.clients, ",") {
		name = strings.TrimSpace(name)
		ctx, cancel := context.WithTimeout(ctx, runTimeout(o.n))
		defer cancel()
		var client func() (clientRun, error)
		j := &job{work: work, n: o.n}
		switch name {
		case "gorilla-raw":
			client = func() (clientRun, error) { return rawClient(ctx, ep.base, work, o.n, nil) }
		case "sdk":
			client = func() (clientRun, error) { return sdkClient(ctx, ep.base, work, o.n, o.buffer, sdkHooks{}) }
		case "sdk-handler":
			client = func() (clientRun, error) { return handlerClient(ctx, ep.base, work, o.n, o.buffer) }
		case "sdk-pool":
			j.route, j.conns = true, poolConnections
			client = func() (clientRun, error) { return poolClient(ctx, ep.base, work, o.n, o.buffer, sdkHooks{}) }
		case "sdk-record":
			client = func() (clientRun, error) { return recordClient(ctx, ep.base, work, o.n, o.buffer, sdkHooks{}) }
		case "gorilla-json":
			client = func() (clientRun, error) { return handClient(ctx, ep.base, work, o.n, o.buffer, decodeJSON) }
		case "gorilla-gjson":
			client = func() (clientRun, error) { return handClient(ctx, ep.base, work, o.n, o.buffer, decodeGJSON) }
		case "raw-decode", "raw-decode-chan":
			handOff := name == "raw-decode-chan"
			client = func() (clientRun, error) { return decoderClient(ctx, ep.base, work, o.n, o.buffer, handOff) }
		case "node-sdk":
			client = func() (clientRun, error) { return nodeClient(ctx, o.node, o.moduleDir, ep.base, work, o.n) }
		default:
			fail("unknown client %q in -clients", name)
			continue
		}
		logf("throughput: %s receiving %s messages...", name, group(float64(o.n)))
		row := throughputRow{Client: name}
		run, sr, err := stream(ep, j, client)
		switch {
		case errors.Is(err, errSkipped):
			row.Skipped = err.Error()
			logf("throughput: %s: %s", name, row.Skipped)
		case err != nil:
			row.Error = err.Error()
			fail("%s: %v", name, err)
		default:
			secs := run.elapsed.Seconds()
			row.Messages = run.messages
			row.Seconds = float64(int64(secs*1000+0.5)) / 1000
			row.MsgsPerSec = float64(int64(float64(run.messages-1)/secs + 0.5))
			row.MBPerSec = round1(float64(sr.bytes) / secs / 1e6)
			cpu := ""
			if run.cpuOK {
				v := perMillion(run.cpu, run.messages)
				row.CPUPerMillion = &v
				cpu = fmt.Sprintf(", %.2f CPU s per million", v)
			}
			if run.endpointOK {
				v := perMillion(run.endpointCPU, run.messages)
				row.EndpointCPUPerMillion = &v
			}
			if run.processOK {
				v := perMillion(run.processCPU, run.messages)
				row.ProcessCPUPerMillion = &v
			}
			logf("throughput: %s: %s msg/s (%.3f s%s)", name, group(row.MsgsPerSec), secs, cpu)
		}
		if run.stats != nil {
			st := run.stats
			d := st.Trades.Dropped + st.Books.Dropped + st.Aggregates.Dropped
			row.Dropped, row.Malformed = &d, &st.Malformed
		}
		if rec := run.record; rec != nil {
			row.Record = rec
			logf("throughput: %s: recorder wrote %d frames, lost %d; %s in %s (%.1f B per message), Close took %.3f s",
				name, rec.Written, rec.Lost, mib(uint64(rec.FileBytes)), rec.Compression, rec.BytesPerMessage, rec.CloseSeconds)
		}
		for _, p := range run.problems {
			fail("%s: %s", name, p)
		}
		r.Throughput = append(r.Throughput, row)
	}
	var raw float64
	for _, t := range r.Throughput {
		if t.Client == "gorilla-raw" && t.Error == "" && t.Skipped == "" {
			raw = t.MsgsPerSec
		}
	}
	if raw > 0 {
		logf("bound: the SDK's decoder over %s of the run's frames, best of %d...", group(float64(o.n)), decodePasses)
		ns, err := decodeNanos(work.pool, o.n, decodePasses)
		if err != nil {
			fail("bound: %v", err)
		} else {
			r.Bound = newBound(raw, ns, o.n, decodePasses)
			logf("bound: %.1f ns read + %.1f ns decode = %.1f ns per message (%s msg/s)",
				r.Bound.RawNsPerMsg, r.Bound.DecodeNsPerFrame, r.Bound.NsPerMsg, group(r.Bound.MsgsPerSec))
		}
	}
	r.Ratios = computeRatios(r.Throughput, r.Bound)
}

func latency(ctx context.Context, ep *endpoint, o options, symbols []string, r *results, fail func(string, ...any)) {
	work := newWorkload(symbols, false, 19) // serials wide enough for a nanosecond clock
	total := o.latDuration + o.latWarmup
	n := int(o.latRate * total.Seconds())
	expect := int(o.latRate*o.latDuration.Seconds()) * mixTrades / 100
	// sdk-record and sdk-pool sit between two sdk runs: the spread of their
	// p99s is the run's noise, against which the others' shifts are judged.
	runs := []struct {
		name   string
		repeat bool
	}{{"sdk", false}, {"sdk-record", false}, {"sdk-pool", false}, {"sdk", true}, {"gorilla-raw", false}}
	for _, lr := range runs {
		name := lr.name
		label := name
		if lr.repeat {
			label += " (repeat)"
		}
		logf("latency: %s at %s msg/s for %v...", label, group(o.latRate), total)
		sink := &latencySink{warmup: o.latWarmup, samples: make([]time.Duration, 0, expect*6/5)}
		ctx, cancel := context.WithTimeout(ctx, runTimeout(n))
		defer cancel()
		j := &job{work: work, n: n, rate: o.latRate}
		if name == "sdk-pool" {
			j.route, j.conns = true, poolConnections
		}
		client := func() (clientRun, error) {
			switch name {
			case "sdk":
				return sdkClient(ctx, ep.base, work, n, o.buffer, sdkHooks{sink: sink})
			case "sdk-record":
				return recordClient(ctx, ep.base, work, n, o.buffer, sdkHooks{sink: sink})
			case "sdk-pool":
				return poolClient(ctx, ep.base, work, n, o.buffer, sdkHooks{sink: sink})
			}
			return rawClient(ctx, ep.base, work, n, sink)
		}
		run, _, err := stream(ep, j, client)
		row := percentiles(name, o.latRate, run.messages, run.latency)
		row.Repeat, row.Record = lr.repeat, run.record
		if err != nil {
			row.Error = err.Error()
			fail("latency %s: %v", label, err)
		}
		for _, p := range run.problems {
			fail("latency %s: %s", label, p)
		}
		if err == nil {
			logf("latency: %s: p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs (%d samples)", label, row.P50us, row.P99us, row.P999us, row.MaxUs, row.Samples)
		}
		if rec := run.record; rec != nil {
			logf("latency: %s: recorder wrote %d frames, lost %d; %.1f B per message", label, rec.Written, rec.Lost, rec.BytesPerMessage)
		}
		r.Latency = append(r.Latency, row)
	}
	if delta, noise, ok := latencyShift(r.Latency); ok {
		r.Ratios.SDKRecordP99DeltaUs, r.Ratios.SDKP99NoiseUs = &delta, &noise
		logf("latency: sdk-record p99 %+.1f µs against the sdk's runs, whose p99s spread %.1f µs", delta, noise)
	}
	if delta, noise, ok := p99Shift(r.Latency, "sdk-pool"); ok {
		r.Ratios.SDKPoolP99DeltaUs, r.Ratios.SDKP99NoiseUs = &delta, &noise
		logf("latency: sdk-pool p99 %+.1f µs against the sdk's runs, whose p99s spread %.1f µs", delta, noise)
	}
}

func memory(ctx context.Context, ep *endpoint, o options, fail func(string, ...any)) *memoryResult {
	work := newWorkload(symbolList(o.memSubs), true, 9)
	n := o.memMessages
	warm := min(100_000, n/10)
	mem := &memoryResult{Subscriptions: work.subscriptionCount(), Messages: n, WarmAt: warm, BufferSize: o.buffer}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	mem.Baseline = heap()
	var gcStart uint32
	hooks := sdkHooks{
		at: []int{1, warm, n},
		call: func(count int) {
			switch count {
			case 1:
				mem.Start = heap()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				gcStart = ms.NumGC
			case warm:
				mem.Warm = heap()
			case n:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mem.NumGC = ms.NumGC - gcStart
				mem.End = heap()
			}
		},
	}
	if warm <= 1 {
		hooks.at = []int{1, n}
	}
	ctx, cancel := context.WithTimeout(ctx, runTimeout(n))
	defer cancel()
	logf("memory: sdk with %d subscriptions receiving %s messages...", mem.Subscriptions, group(float64(n)))
	run, _, err := stream(ep, &job{work: work, n: n}, func() (clientRun, error) {
		return sdkClient(ctx, ep.base, work, n, o.buffer, hooks)
	})
	if err != nil {
		mem.Error = err.Error()
		fail("memory: %v", err)
		return mem
	}
	for _, p := range run.problems {
		fail("memory: %s", p)
	}
	if warm <= 1 {
		mem.Warm = mem.Start
	}
	mem.Growth = int64(mem.End) - int64(mem.Warm)
	mem.GrowthStart = int64(mem.End) - int64(mem.Start)
	mem.Seconds = round2(run.elapsed.Seconds())
	mem.MsgsPerSec = float64(int64(float64(n-1)/run.elapsed.Seconds() + 0.5))
	if st := run.stats; st != nil {
		mem.Dropped = st.Trades.Dropped + st.Books.Dropped + st.Aggregates.Dropped
	}
	logf("memory: HeapInuse %s at the first message, %s after %s, %s after %s (%s)",
		mib(mem.Start), mib(mem.Warm), group(float64(warm)), mib(mem.End), group(float64(n)), signedKiB(mem.Growth))
	return mem
}

// hasClient reports whether the comma-separated list clients names name.
func hasClient(clients, name string) bool {
	return strings.Contains(","+strings.ReplaceAll(clients, " ", "")+",", ","+name+",")
}

// Growth below this is noise from runtime bookkeeping, not a leak: a leak
// of even 1 byte per message would show 10 MB over the default run.
const growthTolerance = 256 << 10

// judge compares the figures with the project's targets.
func judge(r *results, o options) {
	add := func(t target) { r.Targets = append(r.Targets, t) }
	ratio := func(name, goal string, v, want float64, needs string) {
		t := target{Name: name, Goal: goal, Value: v, Met: v >= want}
		if v == 0 {
			t.Met, t.Reason = false, needs+" did not run"
		}
		add(t)
	}
	if o.clients != "" {
		ratio("sdk / node-sdk msg/s", ">= 4", r.Ratios.SDKToNode, 4, "sdk or node-sdk")
		ratio("sdk / gorilla-json msg/s", ">= 5", r.Ratios.SDKToGorillaJSON, 5, "sdk or gorilla-json")
		ratio("sdk / bound msg/s", ">= 0.80", r.Ratios.SDKToBound, 0.8, "sdk or gorilla-raw")
		if hasClient(o.clients, "sdk-handler") {
			ratio("sdk-handler / node-sdk msg/s", ">= 4", r.Ratios.SDKHandlerToNode, 4, "sdk-handler or node-sdk")
			ratio("sdk-handler / bound msg/s", ">= 0.80", r.Ratios.SDKHandlerToBound, 0.8, "sdk-handler or gorilla-raw")
		}
		if hasClient(o.clients, "sdk-record") {
			add(recordThroughputTarget(r.Ratios.SDKRecordToSDK, r.Throughput))
		}
		if hasClient(o.clients, "sdk-pool") {
			add(poolThroughputTarget(r.Ratios.SDKPoolToSDK))
		}
	}
	for _, l := range r.Latency {
		if l.Client == "sdk" && !l.Repeat {
			t := target{Name: "sdk p99 latency (µs)", Goal: "< 200", Value: l.P99us, Met: l.Error == "" && l.Samples > 0 && l.P99us < 200}
			if l.Error != "" || l.Samples == 0 {
				t.Reason = "the latency run failed"
			}
			add(t)
		}
	}
	if o.latDuration > 0 {
		add(recordLatencyTarget(r.Ratios.SDKRecordP99DeltaUs, r.Ratios.SDKP99NoiseUs))
		add(poolLatencyTarget(r.Ratios.SDKPoolP99DeltaUs, r.Ratios.SDKP99NoiseUs))
	}
	if m := r.Memory; m != nil {
		t := target{Name: "heap growth, warm to end (KiB)", Goal: "< 256", Value: round1(float64(m.Growth) / 1024), Met: m.Error == "" && m.Growth < growthTolerance}
		if m.Error != "" {
			t.Reason = "the memory run failed"
		}
		add(t)
	}
}
