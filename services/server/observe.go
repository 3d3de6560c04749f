package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"claudemesh.dev/edge"
)

// rpcObserver logs one line per RPC and counts RPCs by procedure and code.
// It runs outside the auth interceptor, so refused calls are counted too.
// Calls the edge makes for peers are logged at debug level: the edge logs
// its own sockets, and a line per frame would drown the log.
type rpcObserver struct {
	log      *slog.Logger
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

var _ connect.Interceptor = (*rpcObserver)(nil)

func newRPCObserver(log *slog.Logger, reg prometheus.Registerer) *rpcObserver {
	o := &rpcObserver{
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "claudemesh_rpc_requests_total",
			Help: "Connect RPCs handled, by procedure and result code.",
		}, []string{"procedure", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "claudemesh_rpc_duration_seconds",
			Help:    "Time to handle unary Connect RPCs.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"procedure"}),
	}
	reg.MustRegister(o.requests, o.duration)
	return o
}

func (o *rpcObserver) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		start := time.Now()
		res, err := next(ctx, req)
		elapsed := time.Since(start)
		o.duration.WithLabelValues(req.Spec().Procedure).Observe(elapsed.Seconds())
		o.record(ctx, req.Spec().Procedure, callerOf(req.Header()), elapsed, err)
		return res, err
	}
}

func (o *rpcObserver) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (o *rpcObserver) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		o.record(ctx, conn.Spec().Procedure, callerOf(conn.RequestHeader()), time.Since(start), err)
		return err
	}
}

func (o *rpcObserver) record(ctx context.Context, procedure, caller string, elapsed time.Duration, err error) {
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
	}
	o.requests.WithLabelValues(procedure, code).Inc()
	level := slog.LevelInfo
	if caller == "edge" {
		level = slog.LevelDebug
	}
	if !o.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("procedure", procedure),
		slog.String("code", code),
		slog.Duration("duration", elapsed),
		slog.String("caller", caller),
	}
	var ce *connect.Error
	if errors.As(err, &ce) && ce.Code() == connect.CodeInternal {
		level = slog.LevelError
	}
	o.log.LogAttrs(ctx, level, "rpc", attrs...)
}

// callerOf names the kind of caller from the request headers, for logs.
func callerOf(h http.Header) string {
	switch {
	case h.Get(edge.HeaderInternalToken) != "":
		return "edge"
	case h.Get("Authorization") != "":
		return "bearer"
	default:
		return "anonymous"
	}
}
