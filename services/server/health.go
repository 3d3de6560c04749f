package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"

	"claudemesh.dev/db"
)

// healthChecker answers gRPC health checks: SERVING while the database
// answers, for the whole server ("") and for each service.
type healthChecker struct {
	store db.Store
}

// Check implements grpchealth.Checker.
func (h *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && !slices.Contains(serviceNames, req.Service) {
		return nil, connect.NewError(connect.CodeNotFound, nil)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if h.store.Ping(ctx) != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// health is the liveness probe: always 200 while the process serves, with
// the database's state in the body.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	dbState := "up"
	if s.cfg.Store.Ping(ctx) != nil {
		dbState = "down"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":  "ok",
		"db":      dbState,
		"engine":  s.cfg.Store.Engine(),
		"version": s.cfg.Version,
		"replica": s.cfg.ReplicaID,
		"uptime":  int64(s.cfg.NowFunc().Sub(s.started).Seconds()),
	})
}

// ready is the readiness probe: 200 when the database answers and its
// migrations are current, else 503 with the reason.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "reason": "db_down"})
		return
	}
	current, latest, err := s.cfg.Store.MigrationVersion(ctx)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "reason": "readiness_check_error"})
		return
	}
	if current != latest {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"status": "not_ready", "reason": "migration_missing", "current": current, "expected": latest,
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "migration": current, "version": s.cfg.Version})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
