package scheduler

import "github.com/prometheus/client_golang/prometheus"

// metrics are the scheduler's Prometheus series.
type metrics struct {
	fires    *prometheus.CounterVec
	lateness prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		fires: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "claudemesh_schedule_fires_total",
			Help: "Schedule fires by this replica, by result: sent, skipped (nothing to send to) or failed (tried again).",
		}, []string{"result"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "claudemesh_schedule_fire_lateness_seconds",
			Help:    "How long after its time a schedule's message was stored.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.fires, m.lateness)
	}
	return m
}
