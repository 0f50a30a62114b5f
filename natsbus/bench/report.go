package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// results is everything one run measured; -json prints it as one object.
type results struct {
	Machine    machine         `json:"machine"`
	Config     config          `json:"config"`
	Throughput []throughputRow `json:"throughput"`
	Latency    []latencyRow    `json:"latency"`
	// BusAddedP99Us is each bus path's p99 less the mean of the direct
	// runs' p99, and DirectP99NoiseUs the spread of those direct p99s.
	BusAddedP99Us    map[string]float64 `json:"bus_added_p99_us,omitempty"`
	DirectP99NoiseUs *float64           `json:"direct_p99_noise_us,omitempty"`
	Memory           *memoryResult      `json:"memory,omitempty"`
	Targets          []target           `json:"targets"`
	// Valid is false when a run failed, lost or dropped a value.
	Valid        bool     `json:"valid"`
	Problems     []string `json:"problems"`
	TotalSeconds float64  `json:"total_seconds"`
}

type machine struct {
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	GoVersion   string `json:"go_version"`
	LoadAtStart string `json:"loadavg_start"`
	LoadAtEnd   string `json:"loadavg_end"`
}

type config struct {
	Frames            int     `json:"frames"`
	Symbols           int     `json:"symbols"`
	Subscriptions     int     `json:"subscriptions"`
	ThroughputRate    float64 `json:"throughput_rate"`
	Mix               string  `json:"mix"`
	AvgFrameBytes     int     `json:"avg_frame_bytes"`
	DropPolicy        string  `json:"drop_policy"`
	BufferSize        int     `json:"buffer_size"`
	Rate              float64 `json:"latency_rate"`
	LatencySeconds    float64 `json:"latency_seconds"`
	LatencyWarmup     float64 `json:"latency_warmup_seconds"`
	MemoryFrames      int     `json:"memory_frames"`
	DuplicatesSeconds float64 `json:"duplicates_window_seconds"`
	Command           string  `json:"command"`
}

type throughputRow struct {
	Path string `json:"path"`
	// Rate is the endpoint's pace in frames per second; 0: as fast as the
	// path takes them.
	Rate      float64 `json:"rate"`
	Sent      int     `json:"sent"`
	Received  int     `json:"received"`
	Lost      int     `json:"lost"`    // sent - received
	Dropped   uint64  `json:"dropped"` // the consumer's Stats drop counters
	Malformed uint64  `json:"malformed"`
	// Reordered counts values older than the value before of the same key.
	Reordered  int     `json:"reordered"`
	Seconds    float64 `json:"seconds"` // the consumer's first value to its last
	MsgsPerSec float64 `json:"msgs_per_sec"`
	MBPerSec   float64 `json:"mb_per_sec"`
	// CPUPerMillion is the whole process's CPU seconds per million frames
	// over the run: endpoint, gateway, NATS server and consumer.
	CPUPerMillion float64 `json:"process_cpu_s_per_million"`
	// LagP50Ms, LagP99Ms and LagMaxMs are, for a paced run, how long after
	// the endpoint wrote them the consumer got its trades.
	LagP50Ms float64          `json:"lag_p50_ms,omitempty"`
	LagP99Ms float64          `json:"lag_p99_ms,omitempty"`
	LagMaxMs float64          `json:"lag_max_ms,omitempty"`
	Gateway  *gatewayCounters `json:"gateway,omitempty"`
	Events   []string         `json:"events,omitempty"`
	Error    string           `json:"error,omitempty"`
}

type latencyRow struct {
	Path      string           `json:"path"`
	Sent      int              `json:"sent"`
	Received  int              `json:"received"`
	Lost      int              `json:"lost"`
	Dropped   uint64           `json:"dropped"`
	Reordered int              `json:"reordered"`
	Samples   int              `json:"samples"`
	P50       float64          `json:"p50_us"`
	P90       float64          `json:"p90_us"`
	P99       float64          `json:"p99_us"`
	P999      float64          `json:"p999_us"`
	Max       float64          `json:"max_us"`
	Mean      float64          `json:"mean_us"`
	Gateway   *gatewayCounters `json:"gateway,omitempty"`
	Events    []string         `json:"events,omitempty"`
	Error     string           `json:"error,omitempty"`
}

type target struct {
	Name   string  `json:"name"`
	Want   string  `json:"want"`
	Got    float64 `json:"got"`
	Met    bool    `json:"met"`
	Reason string  `json:"reason,omitempty"`
}

// fill sets the percentiles from samples.
func (r *latencyRow) fill(samples []time.Duration) {
	r.Samples = len(samples)
	if len(samples) == 0 {
		return
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	us := func(d time.Duration) float64 { return round1(float64(d) / 1e3) }
	at := func(q float64) float64 { return us(s[min(int(math.Ceil(q*float64(len(s))))-1, len(s)-1)]) }
	r.P50, r.P90, r.P99, r.P999 = at(0.50), at(0.90), at(0.99), at(0.999)
	r.Max = us(s[len(s)-1])
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	r.Mean = us(sum / time.Duration(len(s)))
}

func (r *results) fail(format string, a ...any) {
	r.Valid = false
	r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
}

// check marks the run not valid when a row failed, lost or dropped values.
func (r *results) check(what, path string, lost int, dropped, malformed uint64, g *gatewayCounters, events []string, errText string) {
	if errText != "" {
		r.fail("%s %s: %s", what, path, errText)
	}
	if lost != 0 {
		r.fail("%s %s: %d frames lost (sent - received)", what, path, lost)
	}
	if dropped != 0 || malformed != 0 {
		r.fail("%s %s: the consumer dropped %d and could not decode %d values", what, path, dropped, malformed)
	}
	// Duplicates are not a failure: a publish whose ack came late is sent
	// again, and JetStream keeps one copy, as it should.
	if g != nil && (g.Lost != 0 || g.Unroutable != 0) {
		r.fail("%s %s: the gateway lost %d and had %d unroutable frames", what, path, g.Lost, g.Unroutable)
	}
	for _, e := range events {
		r.fail("%s %s: event %s", what, path, e)
	}
}

func (r *results) addThroughput(row throughputRow) {
	r.Throughput = append(r.Throughput, row)
	r.check("throughput", row.Path, row.Lost, row.Dropped, row.Malformed, row.Gateway, row.Events, row.Error)
}

func (r *results) addLatency(row latencyRow) {
	r.Latency = append(r.Latency, row)
	r.check("latency", row.Path, row.Lost, row.Dropped, 0, row.Gateway, row.Events, row.Error)
}

// The targets.
const (
	targetBusRate    = 50_000 // msg/s through the bus, nothing lost
	targetAddedP99   = 1000   // µs the bus adds at p99, at -rate
	targetHeapLeftMB = 64     // heap the memory run leaves beyond its first frame, ids dropped, MiB
)

func (r *results) finish(total time.Duration) {
	r.TotalSeconds = round1(total.Seconds())
	r.judge()
}

// judge sets the targets from the rows; -from judges a saved run again.
func (r *results) judge() {
	r.Targets = nil
	for _, row := range r.Throughput {
		if row.Path == pathDirect || row.Rate < targetBusRate {
			continue
		}
		// Sustained: the consumer took every frame at the pace it was sent.
		// A consumer that falls behind finishes late and shows a lower rate;
		// half a percent covers the timing of the first and last frames.
		t := target{Name: fmt.Sprintf("%s at %s/s: msg/s, nothing lost", row.Path, commas(int(row.Rate))), Want: fmt.Sprintf(">= %d", targetBusRate), Got: row.MsgsPerSec}
		t.Met = row.MsgsPerSec >= 0.995*targetBusRate && row.Lost == 0 && row.Dropped == 0 && row.Error == ""
		t.Reason = fmt.Sprintf("lost %d, dropped %d, lag p99 %.0f ms", row.Lost, row.Dropped, row.LagP99Ms)
		r.Targets = append(r.Targets, t)
	}
	var direct []float64
	for _, row := range r.Latency {
		if strings.HasPrefix(row.Path, pathDirect) && row.Samples > 0 {
			direct = append(direct, row.P99)
		}
	}
	if len(direct) > 0 {
		mean := 0.0
		for _, v := range direct {
			mean += v
		}
		mean /= float64(len(direct))
		noise := round1(slices.Max(direct) - slices.Min(direct))
		r.DirectP99NoiseUs = &noise
		r.BusAddedP99Us = map[string]float64{}
		for _, row := range r.Latency {
			if strings.HasPrefix(row.Path, pathDirect) || row.Samples == 0 {
				continue
			}
			added := round1(row.P99 - mean)
			r.BusAddedP99Us[row.Path] = added
			r.Targets = append(r.Targets, target{
				Name: row.Path + " p99 - direct p99 (µs)", Want: fmt.Sprintf("< %d", targetAddedP99), Got: added,
				Met: added < targetAddedP99 && row.Lost == 0, Reason: fmt.Sprintf("direct p99 %.1f µs (mean of %d runs, spread %.1f)", mean, len(direct), noise),
			})
		}
	}
	if m := r.Memory; m != nil {
		// A leak check of the bench's own, not one of the brief's targets:
		// once the window's ids are dropped, what the run left on the heap
		// beyond the first frame's reading would grow with every frame.
		var at *memSample
		for i := range m.Samples {
			if m.Samples[i].Frames > 0 {
				at = &m.Samples[i]
				break
			}
		}
		if at != nil && m.AfterWindow != nil {
			left := round2((float64(m.AfterWindow.HeapInuse) - float64(at.HeapInuse)) / (1 << 20))
			r.Targets = append(r.Targets, target{
				Name: "heap left by the memory run, ids dropped (MiB)", Want: fmt.Sprintf("< %d", targetHeapLeftMB), Got: left,
				Met:    left < targetHeapLeftMB,
				Reason: fmt.Sprintf("leak check: HeapInuse once the ids were dropped less %s, over %s frames", at.Label, commas(m.Stored)),
			})
		}
		if m.Lost != 0 {
			r.fail("memory: %d frames sent and not stored", m.Lost)
		}
		if g := m.Gateway; g != nil && g.Lost != 0 {
			r.fail("memory: the gateway lost %d frames", g.Lost)
		}
	}
}

func machineInfo() machine {
	return machine{
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), CPUModel: cpuModel(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
	}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func writeJSON(w io.Writer, r *results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeReport(out io.Writer, r *results) {
	m := r.Machine
	fmt.Fprintf(out, "Machine: %s/%s, %d CPUs (%s), GOMAXPROCS %d, %s; loadavg at start %s\n", m.OS, m.Arch, m.CPUs, m.CPUModel, m.GOMAXPROCS, m.GoVersion, m.LoadAtStart)
	c := r.Config
	fmt.Fprintf(out, "Command: %s\n", strings.TrimSpace(c.Command))
	fmt.Fprintf(out, "Frames: %s; %d symbols × 3 channels = %d subscriptions; %d B average frame; consumers %s, BufferSize %d\n",
		c.Mix, c.Symbols, c.Subscriptions, c.AvgFrameBytes, c.DropPolicy, c.BufferSize)

	if len(r.Throughput) > 0 {
		fmt.Fprintf(out, "\nThroughput: %s frames per run, the consumer's first value to its last\n", commas(c.Frames))
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "path\tsent at\tmsg/s\tMB/s\tseconds\tsent\treceived\tlost\tdropped\treordered\tlag p99 ms\tprocess CPU s / M\t")
		for _, row := range r.Throughput {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.3f\t%s\t%s\t%d\t%d\t%d\t%s\t%.2f\t\n", row.Path, pace(row), commas(int(row.MsgsPerSec)), row.MBPerSec, row.Seconds,
				commas(row.Sent), commas(row.Received), row.Lost, row.Dropped, row.Reordered, lagText(row), row.CPUPerMillion)
		}
		tw.Flush()
		for _, row := range r.Throughput {
			if g := row.Gateway; g != nil {
				fmt.Fprintf(out, "gateway (%s, %s): %s frames in, %s stored, %d duplicates, %d publish retries, %d lost, %d reconnects\n",
					row.Path, pace(row), commas(int(g.FramesIn)), commas(int(g.Published)), g.Duplicates, g.PublishErrors, g.Lost, g.Reconnects)
			}
		}
		fmt.Fprintln(out, "sent at: max is as fast as the path takes them (into the bus: as fast as JetStream stores them, the gateway holding its Fugle reader back)")
		fmt.Fprintln(out, "lag: endpoint write to consumer receive of the trades of a paced run; process CPU: the whole process (endpoint, gateway, NATS server, consumer), per million frames")
	}

	if len(r.Latency) > 0 {
		fmt.Fprintf(out, "\nLatency: %s frames/s for %gs after %gs warm-up; trades, endpoint write to consumer receive (µs)\n", commas(int(c.Rate)), c.LatencySeconds, c.LatencyWarmup)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "path\tsamples\tp50\tp90\tp99\tp99.9\tmax\tmean\tlost\treordered\t")
		for _, row := range r.Latency {
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t\n", row.Path, commas(row.Samples), row.P50, row.P90, row.P99, row.P999, row.Max, row.Mean, row.Lost, row.Reordered)
		}
		tw.Flush()
		for _, row := range r.Latency {
			if g := row.Gateway; g != nil && g.Acks > 0 {
				pct := func(n uint64) float64 { return 100 * float64(n) / float64(g.Acks) }
				fmt.Fprintf(out, "gateway (%s): read to JetStream's ack within 250 µs for %.0f%% of frames, 500 µs %.0f%%, 1 ms %.0f%%\n",
					row.Path, pct(g.AckedIn250us), pct(g.AckedIn500us), pct(g.AckedIn1ms))
			}
		}
		if r.DirectP99NoiseUs != nil {
			for _, p := range []string{pathBusFile, pathBusMemory} {
				if v, ok := r.BusAddedP99Us[p]; ok {
					fmt.Fprintf(out, "p99 added by %s: %+.1f µs against the mean of the direct runs' p99 (their spread: %.1f µs)\n", p, v, *r.DirectP99NoiseUs)
				}
			}
		}
	}

	if mr := r.Memory; mr != nil {
		fmt.Fprintf(out, "\nMemory: %s frames into the gateway and JetStream (file storage, duplicate window %gs), stored at %s msg/s; the process's HeapInuse after runtime.GC, and VmRSS\n",
			commas(mr.Frames), mr.DuplicatesSeconds, commas(int(mr.MsgsPerSec)))
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tseconds\tHeapInuse\tRSS\t")
		samples := mr.Samples
		if mr.AfterWindow != nil {
			samples = append(slices.Clone(samples), *mr.AfterWindow)
		}
		for _, s := range samples {
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t\n", s.Label, s.Seconds, mib(s.HeapInuse), mib(s.RSS))
		}
		tw.Flush()
		fmt.Fprintf(out, "sent %s, stored %s, lost %d; stream %s msgs, %s; store directory %s\n",
			commas(mr.Sent), commas(mr.Stored), mr.Lost, commas(int(mr.StreamMsgs)), mib(mr.StreamBytes), mib(uint64(mr.StoreBytes)))
		if g := mr.Gateway; g != nil {
			fmt.Fprintf(out, "gateway: %s frames in, %s stored, %d duplicates, %d publish retries, %d lost, %d reconnects\n",
				commas(int(g.FramesIn)), commas(int(g.Published)), g.Duplicates, g.PublishErrors, g.Lost, g.Reconnects)
		}
		fmt.Fprintf(out, "message ids in the duplicate window at the end: %s (at most %s in the run)", commas(mr.IDsInWindow), commas(mr.PeakIDsInWindow))
		if mr.AfterWindow != nil {
			fmt.Fprintf(out, "; heap freed when they were dropped: %s, %.0f B per id held at the end", mib(uint64(max(mr.WindowHeap, 0))), mr.WindowBytesPerID)
			if mr.PeakIDsInWindow > mr.IDsInWindow {
				// The server's map of ids keeps the room it grew to.
				fmt.Fprintf(out, ", %.0f B per id at the most", float64(mr.WindowHeap)/float64(mr.PeakIDsInWindow))
			}
		}
		fmt.Fprintln(out)
	}

	if len(r.Targets) > 0 {
		fmt.Fprintln(out, "\nTargets:")
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, t := range r.Targets {
			met := "not met"
			if t.Met {
				met = "met"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.2f\t%s\t%s\n", t.Name, t.Want, t.Got, met, t.Reason)
		}
		tw.Flush()
	}
	if r.Valid {
		fmt.Fprintln(out, "Run: valid (nothing failed, lost or dropped)")
	} else {
		fmt.Fprintln(out, "Run: NOT VALID:")
		for _, p := range r.Problems {
			fmt.Fprintf(out, "  - %s\n", p)
		}
	}
	fmt.Fprintf(out, "Total time: %.0f s; loadavg at the end %s\n", r.TotalSeconds, m.LoadAtEnd)
}

// pace says how fast a throughput row's frames were sent.
func pace(row throughputRow) string {
	if row.Rate == 0 {
		return "max"
	}
	return commas(int(row.Rate)) + "/s"
}

func lagText(row throughputRow) string {
	if row.Rate == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", row.LagP99Ms)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func commas(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
