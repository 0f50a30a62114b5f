package natsbus

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus collectors, all labelled by
// product. Nothing in them names a credential.
type metrics struct {
	framesIn      *prometheus.CounterVec
	published     *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	publishErrors *prometheus.CounterVec
	lost          *prometheus.CounterVec
	unroutable    *prometheus.CounterVec
	gaps          *prometheus.CounterVec
	reconnects    *prometheus.CounterVec
	subscriptions *prometheus.GaugeVec
	consumers     *prometheus.GaugeVec
	latency       *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, gateway string) (*metrics, error) {
	labels := prometheus.Labels{"gateway": gateway}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "fugle_gateway", Name: name, Help: help, ConstLabels: labels}, []string{"product"})
	}
	m := &metrics{
		framesIn:      counter("frames_in_total", "Data frames read from Fugle."),
		published:     counter("frames_published_total", "Data frames JetStream stored (duplicates excluded)."),
		duplicates:    counter("duplicates_total", "Frames JetStream dropped as duplicates of a message id it had."),
		publishErrors: counter("publish_errors_total", "Publish attempts that failed and were retried."),
		lost:          counter("publish_lost_total", "Frames given up on after every retry failed, or the retry queue was full."),
		unroutable:    counter("unroutable_total", "Data frames with no symbol or an unknown channel, not published."),
		gaps:          counter("gaps_total", "Gap markers published (starts and ends)."),
		reconnects:    counter("fugle_reconnects_total", "Fugle connections re-established after a loss."),
		subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "fugle_gateway", Name: "subscriptions", Help: "Keys subscribed at Fugle for consumers.", ConstLabels: labels}, []string{"product"}),
		consumers:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "fugle_gateway", Name: "consumers", Help: "Consumers holding a key.", ConstLabels: labels}, []string{"product", "channel", "symbol", "modifier"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "fugle_gateway", Name: "publish_latency_seconds", ConstLabels: labels,
			Help:    "From reading a frame off Fugle to JetStream's acknowledgement of it.",
			Buckets: []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 1},
		}, []string{"product"}),
	}
	for _, c := range []prometheus.Collector{m.framesIn, m.published, m.duplicates, m.publishErrors, m.lost, m.unroutable, m.gaps, m.reconnects, m.subscriptions, m.consumers, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// productMetrics are one product's children of the per-frame collectors,
// looked up once: a label lookup per frame and per ack costs more than the
// counting.
type productMetrics struct {
	framesIn, published, duplicates, publishErrors, lost, unroutable prometheus.Counter
	latency                                                          prometheus.Observer
}

func (m *metrics) of(product string) *productMetrics {
	return &productMetrics{
		framesIn: m.framesIn.WithLabelValues(product), published: m.published.WithLabelValues(product),
		duplicates: m.duplicates.WithLabelValues(product), publishErrors: m.publishErrors.WithLabelValues(product),
		lost: m.lost.WithLabelValues(product), unroutable: m.unroutable.WithLabelValues(product),
		latency: m.latency.WithLabelValues(product),
	}
}

func modifierOf(k Key) string {
	switch {
	case k.IntradayOddLot:
		return "oddlot"
	case k.AfterHours:
		return "afterhours"
	}
	return ""
}
