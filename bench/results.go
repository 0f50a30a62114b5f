package main

import (
	"bufio"
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

// results is everything one run of the program measured. With -json it is
// printed as one JSON object; the chart is drawn from it.
type results struct {
	Machine    machine         `json:"machine"`
	Config     config          `json:"config"`
	Throughput []throughputRow `json:"throughput"`
	Ratios     ratios          `json:"ratios"`
	// Bound is the decoding client's bound; absent when the run had no
	// gorilla-raw row (and in files written before it existed).
	Bound   *boundResult  `json:"bound,omitempty"`
	Latency []latencyRow  `json:"latency"`
	Memory  *memoryResult `json:"memory,omitempty"`
	Targets []target      `json:"targets"`
	// Valid is false when any run failed, the SDK dropped or could not
	// decode a value, or the endpoint did not send what was asked.
	Valid    bool     `json:"valid"`
	Problems []string `json:"problems"`
}

type machine struct {
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	GoVersion   string `json:"go_version"`
	NodeVersion string `json:"node_version"`
}

type config struct {
	Messages          int     `json:"messages"`
	Symbols           int     `json:"symbols"`
	Subscriptions     int     `json:"subscriptions"`
	Mix               string  `json:"mix"`
	AvgFrameBytes     int     `json:"avg_frame_bytes"`
	SDKBufferSize     int     `json:"sdk_buffer_size"`
	SDKDropPolicy     string  `json:"sdk_drop_policy"`
	LatencyRate       float64 `json:"latency_rate"`
	LatencySeconds    float64 `json:"latency_seconds"`
	LatencyWarmup     float64 `json:"latency_warmup_seconds"`
	MemoryMessages    int     `json:"memory_messages"`
	MemorySubs        int     `json:"memory_subscriptions"`
	NodeSDK           string  `json:"node_sdk"`
	ReproduceCommand  string  `json:"command"`
	TotalRuntimeSecs  float64 `json:"total_seconds"`
	ThroughputClients string  `json:"clients"`
}

type throughputRow struct {
	Client     string  `json:"client"`
	Messages   int     `json:"messages"`
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	MBPerSec   float64 `json:"mb_per_sec"`
	// Dropped and Malformed are the SDK's counters (sdk row only).
	Dropped   *uint64 `json:"dropped,omitempty"`
	Malformed *uint64 `json:"malformed,omitempty"`
	// CPUPerMillion is the client's CPU seconds per million messages: for
	// the Go clients the process's CPU over the run less the endpoint
	// writer's, for node-sdk the child process's own. Absent when it could
	// not be measured (and in older files).
	CPUPerMillion *float64 `json:"cpu_s_per_million,omitempty"`
	// EndpointCPUPerMillion is the endpoint writer's CPU seconds per million
	// messages in the same run, the share taken out of CPUPerMillion.
	EndpointCPUPerMillion *float64 `json:"endpoint_cpu_s_per_million,omitempty"`
	// ProcessCPUPerMillion is the bench process's whole CPU per million
	// messages over the run: client and endpoint for the Go clients, the
	// endpoint alone for node-sdk (a check that the writer's thread holds
	// the endpoint's share).
	ProcessCPUPerMillion *float64 `json:"process_cpu_s_per_million,omitempty"`
	// Record is what the recorder did (sdk-record row only).
	Record  *recordResult `json:"record,omitempty"`
	Skipped string        `json:"skipped,omitempty"`
	Error   string        `json:"error,omitempty"`
}

type ratios struct {
	// Each ratio is sdk msg/s over the other's; 0 when either is missing.
	SDKToGorillaRaw   float64 `json:"sdk_to_gorilla_raw"`
	SDKToNode         float64 `json:"sdk_to_node_sdk"`
	SDKToGorillaJSON  float64 `json:"sdk_to_gorilla_json"`
	SDKToGorillaGJSON float64 `json:"sdk_to_gorilla_gjson"`
	// SDKToBound is sdk msg/s over the bound's (1 / bound ns per message).
	SDKToBound float64 `json:"sdk_to_bound"`
	// SDKHandlerToBound and SDKHandlerToNode are the same ratios for
	// sdk-handler: values taken by Handlers on the reader goroutine.
	SDKHandlerToBound float64 `json:"sdk_handler_to_bound,omitempty"`
	SDKHandlerToNode  float64 `json:"sdk_handler_to_node_sdk,omitempty"`
	// SDKRecordToSDK is sdk-record msg/s over sdk's: what recording (zstd)
	// leaves of the throughput; 0 when either is missing.
	SDKRecordToSDK float64 `json:"sdk_record_to_sdk"`
	// SDKRecordP99DeltaUs is sdk-record's p99 latency minus the mean of the
	// sdk's latency runs' p99, and SDKP99NoiseUs the spread (largest minus
	// smallest) of those sdk p99s, the run's noise (see latencyShift).
	// Absent without the three latency runs (and in older files).
	SDKRecordP99DeltaUs *float64 `json:"sdk_record_p99_delta_us,omitempty"`
	SDKP99NoiseUs       *float64 `json:"sdk_p99_noise_us,omitempty"`
	// SDKPoolToSDK is sdk-pool msg/s over sdk's: the Pool over two
	// connections against one client; 0 when either is missing (and in
	// older files).
	SDKPoolToSDK float64 `json:"sdk_pool_to_sdk"`
	// SDKPoolP99DeltaUs is sdk-pool's p99 latency minus the mean of the
	// sdk's latency runs' p99, judged against SDKP99NoiseUs. Absent without
	// those runs (and in older files).
	SDKPoolP99DeltaUs *float64 `json:"sdk_pool_p99_delta_us,omitempty"`
	// CPUPerMillion is each client's CPU seconds per million messages, as
	// in its throughput row.
	CPUPerMillion map[string]float64 `json:"cpu_s_per_million,omitempty"`
}

// computeRatios derives the ratios from the throughput rows and the bound.
func computeRatios(rows []throughputRow, b *boundResult) ratios {
	rate := map[string]float64{}
	var r ratios
	for _, t := range rows {
		if t.Error == "" && t.Skipped == "" {
			rate[t.Client] = t.MsgsPerSec
		}
		if t.CPUPerMillion != nil {
			if r.CPUPerMillion == nil {
				r.CPUPerMillion = map[string]float64{}
			}
			r.CPUPerMillion[t.Client] = *t.CPUPerMillion
		}
	}
	sdk := rate["sdk"]
	over := func(v float64) float64 {
		if sdk <= 0 || v <= 0 {
			return 0
		}
		return round2(sdk / v)
	}
	r.SDKToGorillaRaw = over(rate["gorilla-raw"])
	r.SDKToNode = over(rate["node-sdk"])
	r.SDKToGorillaJSON = over(rate["gorilla-json"])
	r.SDKToGorillaGJSON = over(rate["gorilla-gjson"])
	if rec := rate["sdk-record"]; rec > 0 && sdk > 0 {
		r.SDKRecordToSDK = round2(rec / sdk)
	}
	if p := rate["sdk-pool"]; p > 0 && sdk > 0 {
		r.SDKPoolToSDK = round2(p / sdk)
	}
	if b != nil {
		r.SDKToBound = over(b.MsgsPerSec)
	}
	if h := rate["sdk-handler"]; h > 0 {
		if b != nil && b.MsgsPerSec > 0 {
			r.SDKHandlerToBound = round2(h / b.MsgsPerSec)
		}
		if node := rate["node-sdk"]; node > 0 {
			r.SDKHandlerToNode = round2(h / node)
		}
	}
	return r
}

type latencyRow struct {
	Client   string  `json:"client"`
	Rate     float64 `json:"rate"`
	Samples  int     `json:"samples"`
	P50us    float64 `json:"p50_us"`
	P90us    float64 `json:"p90_us"`
	P99us    float64 `json:"p99_us"`
	P999us   float64 `json:"p999_us"`
	MaxUs    float64 `json:"max_us"`
	MeanUs   float64 `json:"mean_us"`
	Messages int     `json:"messages"`
	// Repeat marks the second latency run of a client (the sdk's, after
	// sdk-record's), run to measure the noise.
	Repeat bool `json:"repeat,omitempty"`
	// Record is what the recorder did (sdk-record only).
	Record *recordResult `json:"record,omitempty"`
	Error  string        `json:"error,omitempty"`
}

type memoryResult struct {
	Subscriptions int     `json:"subscriptions"`
	BufferSize    int     `json:"sdk_buffer_size"`
	Messages      int     `json:"messages"`
	WarmAt        int     `json:"warm_at"`
	Baseline      uint64  `json:"heap_inuse_baseline"` // before the client exists: the endpoint and its frames
	Start         uint64  `json:"heap_inuse_start"`    // at the first message
	Warm          uint64  `json:"heap_inuse_warm"`     // after warm_at messages
	End           uint64  `json:"heap_inuse_end"`      // after all messages
	Growth        int64   `json:"growth_bytes"`        // end - warm
	GrowthStart   int64   `json:"growth_from_start_bytes"`
	Seconds       float64 `json:"seconds"`
	MsgsPerSec    float64 `json:"msgs_per_sec"`
	Dropped       uint64  `json:"dropped"`
	NumGC         uint32  `json:"num_gc"`
	Error         string  `json:"error,omitempty"`
}

type target struct {
	Name   string  `json:"name"`
	Goal   string  `json:"goal"`
	Value  float64 `json:"value"`
	Met    bool    `json:"met"`
	Reason string  `json:"reason,omitempty"` // why it could not be judged
	Note   string  `json:"note,omitempty"`   // what else the verdict rests on
}

func machineInfo(node string) machine {
	return machine{
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		CPUs:        runtime.NumCPU(),
		CPUModel:    cpuModel(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		GoVersion:   runtime.Version(),
		NodeVersion: nodeVersion(node),
	}
}

// cpuModel reads the first "model name" of /proc/cpuinfo, where there is one.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// percentiles summarises latency samples.
func percentiles(client string, rate float64, messages int, samples []time.Duration) latencyRow {
	row := latencyRow{Client: client, Rate: rate, Samples: len(samples), Messages: messages}
	if len(samples) == 0 {
		return row
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	us := func(d time.Duration) float64 { return round1(float64(d) / 1e3) }
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.5) - 1 // nearest rank
		return s[min(max(i, 0), len(s)-1)]
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	row.P50us, row.P90us, row.P99us, row.P999us = us(at(0.50)), us(at(0.90)), us(at(0.99)), us(at(0.999))
	row.MaxUs = us(s[len(s)-1])
	row.MeanUs = us(sum / time.Duration(len(s)))
	return row
}

// round1 and round2 round half away from zero, negative values too.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// group formats n with thousands separators.
func group(n float64) string {
	s := fmt.Sprintf("%.0f", n)
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

func mib(b uint64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }

func signedKiB(b int64) string { return fmt.Sprintf("%+.1f KiB", float64(b)/1024) }

// printTable writes the human-readable report.
func printTable(w io.Writer, r *results) {
	m := r.Machine
	node := m.NodeVersion
	if node == "" {
		node = "not found"
	}
	fmt.Fprintf(w, "Machine: %s/%s, %d CPUs (%s), GOMAXPROCS %d, %s, node %s\n", m.OS, m.Arch, m.CPUs, orNA(m.CPUModel), m.GOMAXPROCS, m.GoVersion, node)
	c := r.Config
	fmt.Fprintf(w, "Command: %s\n\n", c.ReproduceCommand)

	if len(r.Throughput) > 0 {
		fmt.Fprintf(w, "Throughput: %s messages per client (%s; %d symbols × 3 channels; %d B average frame), first message to last\n",
			group(float64(c.Messages)), c.Mix, c.Symbols, c.AvgFrameBytes)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "client\tmsg/s\tMB/s\tseconds\tCPU s / M msgs\tsdk / client\t")
		var sdk float64
		for _, t := range r.Throughput {
			if t.Client == "sdk" {
				sdk = t.MsgsPerSec
			}
		}
		ratio := func(v float64) string {
			if sdk > 0 && v > 0 {
				return fmt.Sprintf("%.2f", sdk/v)
			}
			return ""
		}
		for _, t := range r.Throughput {
			switch {
			case t.Skipped != "":
				fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\n", t.Client, t.Skipped)
			case t.Error != "":
				fmt.Fprintf(tw, "%s\tfailed: %s\t\t\t\t\t\n", t.Client, t.Error)
			default:
				cpu := ""
				if t.CPUPerMillion != nil {
					cpu = fmt.Sprintf("%.2f", *t.CPUPerMillion)
				}
				fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.3f\t%s\t%s\t\n", t.Client, group(t.MsgsPerSec), t.MBPerSec, t.Seconds, cpu, ratio(t.MsgsPerSec))
			}
		}
		if b := r.Bound; b != nil {
			fmt.Fprintf(tw, "bound\t%s\t\t\t\t%s\t\n", group(b.MsgsPerSec), ratio(b.MsgsPerSec))
		}
		tw.Flush()
		if b := r.Bound; b != nil {
			fmt.Fprintf(w, "bound: gorilla-raw's %.1f ns per message + the SDK decoder's %.1f ns per frame without a socket (best of %d passes over %s frames) = %.1f ns\n",
				b.RawNsPerMsg, b.DecodeNsPerFrame, b.Passes, group(float64(b.Frames)), b.NsPerMsg)
		}
		for _, t := range r.Throughput {
			if t.EndpointCPUPerMillion != nil && t.Client == "sdk" {
				fmt.Fprintf(w, "CPU: Go clients are process CPU (getrusage) less the endpoint writer's thread (%.2f s / M msgs in the sdk run); node-sdk is the child's own after its start\n", *t.EndpointCPUPerMillion)
			}
		}
		for _, t := range r.Throughput {
			if t.Dropped != nil {
				fmt.Fprintf(w, "SDK counters (%s): %d dropped, %d malformed (BufferSize %d, %s)\n", t.Client, *t.Dropped, *t.Malformed, c.SDKBufferSize, c.SDKDropPolicy)
			}
		}
		for _, t := range r.Throughput {
			if rec := t.Record; rec != nil {
				fmt.Fprintf(w, "%s: %s\n", t.Client, recordSummary(rec))
			}
		}
		if v := r.Ratios.SDKRecordToSDK; v > 0 {
			fmt.Fprintf(w, "sdk-record / sdk msg/s: %.2f\n", v)
		}
		if v := r.Ratios.SDKPoolToSDK; v > 0 {
			fmt.Fprintf(w, "sdk-pool / sdk msg/s: %.2f (the Pool over %d connections, half the subscriptions on each)\n", v, poolConnections)
		}
		fmt.Fprintln(w)
	}

	if len(r.Latency) > 0 {
		fmt.Fprintf(w, "Latency: %s msg/s for %gs after %gs warm-up; trades frames, endpoint write to consumer receive (µs)\n",
			group(c.LatencyRate), c.LatencySeconds, c.LatencyWarmup)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "client\tsamples\tp50\tp90\tp99\tp99.9\tmax\tmean\t")
		for _, l := range r.Latency {
			name := l.Client
			if l.Repeat {
				name += " (repeat)"
			}
			if l.Error != "" {
				fmt.Fprintf(tw, "%s\tfailed: %s\t\t\t\t\t\t\t\n", name, l.Error)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", name, group(float64(l.Samples)), l.P50us, l.P90us, l.P99us, l.P999us, l.MaxUs, l.MeanUs)
		}
		tw.Flush()
		for _, l := range r.Latency {
			if rec := l.Record; rec != nil {
				fmt.Fprintf(w, "%s: %s\n", l.Client, recordSummary(rec))
			}
		}
		if d, n := r.Ratios.SDKRecordP99DeltaUs, r.Ratios.SDKP99NoiseUs; d != nil && n != nil {
			fmt.Fprintf(w, "p99: sdk-record %+.1f µs against the mean of the sdk's two runs; noise (their spread) %.1f µs\n", *d, *n)
		}
		if d, n := r.Ratios.SDKPoolP99DeltaUs, r.Ratios.SDKP99NoiseUs; d != nil && n != nil {
			fmt.Fprintf(w, "p99: sdk-pool %+.1f µs against the mean of the sdk's two runs; noise (their spread) %.1f µs\n", *d, *n)
		}
		fmt.Fprintln(w)
	}

	if mem := r.Memory; mem != nil {
		fmt.Fprintf(w, "Memory: sdk with %s subscriptions (BufferSize %d), %s messages (%s msg/s); process HeapInuse after runtime.GC\n",
			group(float64(mem.Subscriptions)), mem.BufferSize, group(float64(mem.Messages)), group(mem.MsgsPerSec))
		if mem.Error != "" {
			fmt.Fprintf(w, "  failed: %s\n", mem.Error)
		} else {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "before the client (endpoint and frames)\t%s\t\n", mib(mem.Baseline))
			fmt.Fprintf(tw, "at the first message\t%s\t  (the client: %s)\n", mib(mem.Start), mib(mem.Start-min(mem.Start, mem.Baseline)))
			fmt.Fprintf(tw, "after %s messages\t%s\t\n", group(float64(mem.WarmAt)), mib(mem.Warm))
			fmt.Fprintf(tw, "after %s messages\t%s\t\n", group(float64(mem.Messages)), mib(mem.End))
			fmt.Fprintf(tw, "growth, warm to end\t%s\t\n", signedKiB(mem.Growth))
			fmt.Fprintf(tw, "growth, first message to end\t%s\t\n", signedKiB(mem.GrowthStart))
			tw.Flush()
			fmt.Fprintf(w, "  %d dropped, %d GC cycles in the run\n", mem.Dropped, mem.NumGC)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "Targets:")
	for _, t := range r.Targets {
		verdict := "not met"
		switch {
		case t.Reason != "":
			verdict = "not judged: " + t.Reason
		case t.Met:
			verdict = "met"
		}
		fmt.Fprintf(w, "  %-32s %-11s %10.2f  %s\n", t.Name, t.Goal, t.Value, verdict)
		if t.Note != "" {
			fmt.Fprintf(w, "  %-32s %-11s %10s  (%s)\n", "", "", "", t.Note)
		}
	}
	if r.Valid {
		fmt.Fprintln(w, "Run: valid (no errors, no drops, every frame delivered)")
	} else {
		fmt.Fprintln(w, "Run: NOT VALID:")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
	fmt.Fprintf(w, "Total time: %.0f s\n", c.TotalRuntimeSecs)
}

func orNA(s string) string {
	if s == "" {
		return "model unknown"
	}
	return s
}
