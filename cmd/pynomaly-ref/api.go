package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The API's paths. APIHealthPath (app/api.go) is its startup and readiness probe.
const (
	healthPath     = "/api/v1/health"
	detectionsPath = "/api/v1/detections"
	tasksPath      = "/api/v1/tasks/"
	metricsPath    = "/metrics"
)

// apiShutdownTimeout bounds the requests in flight at SIGTERM: the pod's grace period (45 s)
// less its preStop sleep (10 s), with a margin.
const apiShutdownTimeout = 30 * time.Second

// maxBody bounds a request body (a detection of maxValues numbers fits).
const maxBody = 8 << 20

type api struct {
	db     *pgxpool.Pool
	schema *schemaGate
	queue  *taskQueue
	cache  *taskCache
	log    *slog.Logger
	env    string
}

// runAPI serves on API_PORT until SIGTERM, then stops accepting, lets the requests in flight
// finish and closes its connections.
func runAPI(ctx context.Context, s settings, args []string, log *slog.Logger) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: api takes no arguments", errUsage)
	}
	for _, dir := range []string{s.ModelPath, os.TempDir()} {
		if err := checkWritable(dir); err != nil {
			return err
		}
	}
	db, err := openPool(ctx, s.DB, "pynomaly-ref-api")
	if err != nil {
		return err
	}
	defer db.Close()
	queueClient, cache, err := redisClients(s, 10, log)
	if err != nil {
		return err
	}
	defer queueClient.Close()
	defer cache.Close()
	log.Info("database", "host", s.DB.Host, "port", s.DB.Port, "database", s.DB.Name, "user", s.DB.User, "sslmode", s.DB.SSLMode, "pool", s.DB.PoolSize)
	logRedisTargets(log, s)
	a := &api{db: db, schema: &schemaGate{db: db}, queue: newTaskQueue(queueClient, s.QueueName), cache: &taskCache{cache, s.CacheKeyPrefix}, log: log, env: s.Environment}
	reg := newRegistry()
	srv := &http.Server{
		Addr:              net.JoinHostPort("", strconv.Itoa(s.APIPort)),
		Handler:           newHTTPMetrics(reg).instrument(a.routes(metricsHandler(reg))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	return serve(ctx, srv, apiShutdownTimeout, log)
}

func (a *api) routes(metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+healthPath, a.health)
	mux.HandleFunc("POST "+detectionsPath, a.needSchema(a.createDetection))
	mux.HandleFunc("GET "+tasksPath+"{id}", a.needSchema(a.getTask))
	mux.Handle("GET "+metricsPath, metrics)
	return mux
}

// serve runs srv until ctx ends, then shuts it down within timeout.
func serve(ctx context.Context, srv *http.Server, timeout time.Duration, log *slog.Logger) error {
	l, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", l.Addr().String())
	failed := make(chan error, 1)
	go func() { failed <- srv.Serve(l) }()
	select {
	case err := <-failed:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", timeout.String())
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(stop); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// healthTimeout bounds the health checks: the startup probe gives the answer one second (the
// kubelet's default timeout; app/api.go sets none for it).
const healthTimeout = 900 * time.Millisecond

// health is the startup and readiness probe: ready when the schema is at head (which needs the
// database, through the pooler) and the queue answers. The cache is reported, not required. The
// checks run side by side, each within healthTimeout.
func (a *api) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	checks := map[string]func(context.Context) error{
		"database": func(ctx context.Context) error {
			if err := a.schema.check(ctx); err != nil {
				return err
			}
			return a.db.Ping(ctx) // the gate remembers head; the database may have gone since
		},
		"queue": func(ctx context.Context) error { return ping(ctx, a.queue.rdb) },
		"cache": func(ctx context.Context) error { return ping(ctx, a.cache.rdb) },
	}
	results := runChecks(ctx, checks)
	status, code := "ok", http.StatusOK
	if results["database"] != "ok" || results["queue"] != "ok" {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "environment": a.env, "schema": headRevision, "checks": results})
}

// runChecks runs checks concurrently and returns "ok" or the error of each.
func runChecks(ctx context.Context, checks map[string]func(context.Context) error) map[string]string {
	var mu sync.Mutex
	var wg sync.WaitGroup
	results := map[string]string{}
	for name, check := range checks {
		wg.Go(func() {
			result := "ok"
			if err := check(ctx); err != nil {
				result = err.Error()
			}
			mu.Lock()
			results[name] = result
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

// needSchema answers 503 until the migration has brought the schema to head.
func (a *api) needSchema(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.schema.check(r.Context()); err != nil {
			a.log.Warn("refused: schema", "error", err.Error())
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		next(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
