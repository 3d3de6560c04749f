package edge

import "github.com/prometheus/client_golang/prometheus"

// metrics are the edge's Prometheus series.
type metrics struct {
	active    prometheus.Gauge
	accepted  prometheus.Counter
	framesIn  prometheus.Counter
	framesOut prometheus.Counter
	slow      prometheus.Counter
	hellos    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "claudemesh_ws_connections_active",
			Help: "WebSocket connections open now.",
		}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "claudemesh_ws_connections_total",
			Help: "WebSocket connections accepted.",
		}),
		framesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "claudemesh_ws_frames_received_total",
			Help: "Frames received from peers.",
		}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "claudemesh_ws_frames_sent_total",
			Help: "Frames written to peers.",
		}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "claudemesh_ws_slow_consumers_total",
			Help: "Sockets closed because they fell behind their send queue.",
		}),
		hellos: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "claudemesh_ws_hellos_total",
			Help: "Hello handshakes by result (ok or the error code).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.active, m.accepted, m.framesIn, m.framesOut, m.slow, m.hellos)
	}
	return m
}
