package main

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Client colours: the SDK stands out, the reference clients recede.
var clientColour = map[string]string{
	"sdk":           "#1f6feb",
	"sdk-record":    "#54aeff",
	"sdk-pool":      "#0a3069",
	"gorilla-raw":   "#8b949e",
	"gorilla-json":  "#8250df",
	"gorilla-gjson": "#bf8fff",
	"node-sdk":      "#d9822b",
}

// svgDoc accumulates SVG elements.
type svgDoc struct{ strings.Builder }

func (d *svgDoc) f(format string, args ...any) { fmt.Fprintf(&d.Builder, format+"\n", args...) }

func (d *svgDoc) text(x, y float64, size int, anchor, weight, fill, s string) {
	d.f(`<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>`, x, y, size, anchor, weight, fill, html.EscapeString(s))
}

// halo writes start-anchored text over a white outline, so that a line
// drawn earlier does not cross it.
func (d *svgDoc) halo(x, y float64, size int, weight, fill, s string) {
	d.f(`<text x="%.1f" y="%.1f" font-size="%d" text-anchor="start" font-weight="%s" fill="%s" stroke="#ffffff" stroke-width="3" paint-order="stroke">%s</text>`, x, y, size, weight, fill, html.EscapeString(s))
}

func (d *svgDoc) rect(x, y, w, h float64, fill string) {
	d.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" rx="2"/>`, x, y, max(w, 0), h, fill)
}

func (d *svgDoc) line(x1, y1, x2, y2 float64, stroke string, dash bool) {
	extra := ""
	if dash {
		extra = ` stroke-dasharray="4 3"`
	}
	d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1"%s/>`, x1, y1, x2, y2, stroke, extra)
}

// chartSVG draws throughput per client (bars, linear) beside the latency
// percentiles of the SDK and gorilla-raw (bars, log scale), with the machine
// and the targets underneath.
func chartSVG(r *results) string {
	// Targets, three to a line, under the panels.
	var verdicts []string
	for _, t := range r.Targets {
		v := "not met"
		switch {
		case t.Reason != "":
			v = "not judged"
		case t.Met:
			v = "met"
		}
		if t.Reason == "" {
			v = strconv.FormatFloat(round2(t.Value), 'f', -1, 64) + ", " + v
		}
		verdicts = append(verdicts, fmt.Sprintf("%s %s: %s", t.Name, t.Goal, v))
	}
	var targetLines []string
	for i := 0; i < len(verdicts); i += 3 {
		targetLines = append(targetLines, strings.Join(verdicts[i:min(i+3, len(verdicts))], " · "))
	}
	const (
		width  = 960.0
		top    = 70.0
		panelH = 270.0
		labelW = 96.0
	)
	height := 408.0 + 16*float64(max(len(targetLines), 2))
	var d svgDoc
	d.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif">`, width, height, width, height)
	d.rect(0, 0, width, height, "#ffffff")
	d.text(24, 32, 18, "start", "bold", "#24292f", "github.com/go-fugle/marketdata: end-to-end benchmark")
	m := r.Machine
	d.text(24, 52, 12, "start", "normal", "#57606a", fmt.Sprintf("%s/%s · %d CPUs (%s) · %s · node %s · loopback, one process",
		m.OS, m.Arch, m.CPUs, orNA(m.CPUModel), m.GoVersion, orDash(m.NodeVersion)))

	// Left: throughput.
	x0, w0 := 24.0, 420.0
	d.text(x0, top+10, 14, "start", "bold", "#24292f", "Throughput (messages/s, higher is better)")
	d.text(x0, top+28, 11, "start", "normal", "#57606a", fmt.Sprintf("the same %s frames to each client, timed first to last message", group(float64(r.Config.Messages))))
	d.text(x0, top+42, 11, "start", "normal", "#57606a", fmt.Sprintf("%s; %d symbols", r.Config.Mix, r.Config.Symbols))
	var maxRate float64
	for _, t := range r.Throughput {
		maxRate = max(maxRate, t.MsgsPerSec)
	}
	if r.Bound != nil {
		maxRate = max(maxRate, r.Bound.MsgsPerSec)
	}
	barX, barW := x0+labelW, w0-labelW-70
	if maxRate > 0 {
		scale := niceCeil(maxRate)
		for i := 0; i <= 4; i++ {
			gx := barX + barW*float64(i)/4
			d.line(gx, top+52, gx, top+panelH-20, "#eaeef2", false)
			d.text(gx, top+panelH-6, 10, "middle", "normal", "#57606a", short(scale*float64(i)/4))
		}
		if b := r.Bound; b != nil { // behind the bars and their values
			bx := barX + barW*b.MsgsPerSec/scale
			d.line(bx, top+52, bx, top+panelH-20, "#cf222e", true)
			d.text(bx+3, top+panelH-24, 10, "start", "normal", "#cf222e", "bound "+short(b.MsgsPerSec))
		}
		rowH := (panelH - 76) / float64(max(len(r.Throughput), 1))
		for i, t := range r.Throughput {
			y := top + 60 + float64(i)*rowH
			bh := min(rowH*0.62, 40)
			d.text(barX-8, y+bh/2+4, 12, "end", "normal", "#24292f", t.Client)
			switch {
			case t.Skipped != "" || t.Error != "":
				msg := t.Skipped
				if msg == "" {
					msg = "failed"
				}
				d.text(barX+4, y+bh/2+4, 11, "start", "normal", "#57606a", msg)
			default:
				w := barW * t.MsgsPerSec / scale
				d.rect(barX, y, w, bh, colour(t.Client))
				d.halo(barX+w+6, y+bh/2+4, 12, "bold", "#24292f", short(t.MsgsPerSec))
			}
		}
	}
	// The ratios, sdk over each other client, on two lines under the bars.
	var notes []string
	for _, n := range []struct {
		v    float64
		name string
	}{
		{r.Ratios.SDKToGorillaRaw, "gorilla-raw"},
		{r.Ratios.SDKToBound, "bound"},
		{r.Ratios.SDKToGorillaJSON, "gorilla-json"},
		{r.Ratios.SDKToGorillaGJSON, "gorilla-gjson"},
		{r.Ratios.SDKToNode, "node-sdk"},
	} {
		if n.v > 0 {
			notes = append(notes, fmt.Sprintf("%.2f × %s", n.v, n.name))
		}
	}
	if len(notes) > 0 {
		half := min(len(notes), 2)
		d.text(x0, top+panelH+18, 12, "start", "normal", "#24292f", "sdk = "+strings.Join(notes[:half], " · "))
		if len(notes) > half {
			d.text(x0, top+panelH+34, 12, "start", "normal", "#24292f", "sdk = "+strings.Join(notes[half:], " · "))
		}
	}

	// Right: latency percentiles on a log axis.
	x1, w1 := 500.0, 436.0
	d.text(x1, top+10, 14, "start", "bold", "#24292f", "Latency (µs, log scale, lower is better)")
	d.text(x1, top+28, 11, "start", "normal", "#57606a", fmt.Sprintf("%s msg/s for %g s; every trades frame timed", group(r.Config.LatencyRate), r.Config.LatencySeconds))
	d.text(x1, top+42, 11, "start", "normal", "#57606a", "from the endpoint's write to the consumer's receipt")
	type series struct {
		name string
		vals []float64
	}
	names := []string{"p50", "p90", "p99", "p99.9", "max"}
	var ss []series
	hi := 1.0
	for _, l := range r.Latency {
		if l.Error != "" || l.Samples == 0 || l.Repeat {
			continue
		}
		v := []float64{l.P50us, l.P90us, l.P99us, l.P999us, l.MaxUs}
		for _, x := range v {
			hi = max(hi, x)
		}
		ss = append(ss, series{l.Client, v})
	}
	if len(ss) > 0 {
		lx, lw := x1+56, w1-56-64
		lo := 1.0
		decades := math.Ceil(math.Log10(hi)) // axis from 1 µs to the next power of ten
		pos := func(v float64) float64 { return lx + lw*math.Log10(max(v, lo))/decades }
		for k := 0.0; k <= decades; k++ {
			gx := lx + lw*k/decades
			d.line(gx, top+52, gx, top+panelH-20, "#eaeef2", false)
			d.text(gx, top+panelH-6, 10, "middle", "normal", "#57606a", short(math.Pow(10, k)))
		}
		target := pos(200)
		d.line(target, top+52, target, top+panelH-20, "#cf222e", true)
		groupH := (panelH - 76) / float64(len(names))
		bh := min((groupH-8)/float64(len(ss)), 14)
		for i, n := range names {
			gy := top + 60 + float64(i)*groupH
			d.text(lx-8, gy+bh*float64(len(ss))/2+4, 12, "end", "normal", "#24292f", n)
			for j, s := range ss {
				y := gy + float64(j)*bh
				w := pos(s.vals[i]) - lx
				d.rect(lx, y, w, bh-2, colour(s.name))
				d.text(lx+w+4, y+bh-4, 10, "start", "normal", "#24292f", fmt.Sprintf("%.0f", s.vals[i]))
			}
		}
		// Legend.
		lgx := x1
		for _, s := range ss {
			d.rect(lgx, top+panelH+8, 12, 12, colour(s.name))
			d.text(lgx+16, top+panelH+18, 12, "start", "normal", "#24292f", s.name)
			lgx += 30 + 7*float64(len(s.name))
		}
		d.line(lgx, top+panelH+14, lgx+14, top+panelH+14, "#cf222e", true)
		d.text(lgx+18, top+panelH+18, 12, "start", "normal", "#cf222e", "p99 target, 200 µs")
	}

	for i, line := range targetLines {
		prefix := "Targets: "
		if i > 0 {
			prefix = "         "
		}
		d.text(24, height-28-16*float64(len(targetLines)-1-i), 11, "start", "normal", "#57606a", prefix+line)
	}
	if mem := r.Memory; mem != nil && mem.Error == "" {
		d.text(24, height-12, 11, "start", "normal", "#57606a", fmt.Sprintf("Memory: %s subscriptions, HeapInuse %s after %s messages, %s after %s (%s)",
			group(float64(mem.Subscriptions)), mib(mem.Warm), group(float64(mem.WarmAt)), mib(mem.End), group(float64(mem.Messages)), signedKiB(mem.Growth)))
	}
	d.f(`</svg>`)
	return d.String()
}

func colour(client string) string {
	if c, ok := clientColour[client]; ok {
		return c
	}
	return "#57606a"
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// niceCeil rounds v up to a round number for the end of an axis divided in
// four.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// short formats a count as 1.2M, 350k or 42.
func short(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(math.Round(v/1e4)/100, 'f', -1, 64) + "M"
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
