package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// workerMetricsPort is the worker's metrics and health port (app/worker.go's
// workerMetricsPort, which the pod spec names "metrics" and probes, but passes to the
// container in no variable).
const workerMetricsPort = 8001

// workerHealthPath is the worker's readiness probe (app/worker.go).
const workerHealthPath = "/health"

// workerOptions are the worker's flags: the pod passes none, so the defaults are the contract;
// tests shorten the intervals.
type workerOptions struct {
	metricsPort int
	// lease is how long a task stays held without its worker renewing it.
	lease time.Duration
	// drain is how long a worker stopping waits for its tasks before it cancels and requeues
	// them: the longest task (TASK_TIMEOUT_SECONDS) by default; the pod's grace period adds 30 s.
	drain time.Duration
	// poll is the longest a BLMOVE waits: how soon a stopping worker stops taking tasks (a
	// second at least: the client's smallest blocking timeout).
	poll time.Duration
}

func parseWorkerFlags(args []string, s settings) (workerOptions, error) {
	o := workerOptions{}
	fs := flag.NewFlagSet(modeWorker, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&o.metricsPort, "metrics-port", workerMetricsPort, "port of /metrics and /health")
	fs.DurationVar(&o.lease, "lease", 30*time.Second, "lease of a task being worked on")
	fs.DurationVar(&o.drain, "drain", s.TaskTimeout, "wait for running tasks at SIGTERM, then requeue them")
	fs.DurationVar(&o.poll, "poll", time.Second, "longest wait for a task in one call")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 || o.lease <= 0 || o.poll < time.Second {
		return o, fmt.Errorf("%w: worker: unexpected arguments %q", errUsage, args)
	}
	return o, nil
}

type worker struct {
	db          *pgxpool.Pool
	queue       *taskQueue
	cache       *taskCache
	metrics     *workerMetrics
	log         *slog.Logger
	id          string
	models      string
	concurrency int
	timeout     time.Duration
	opts        workerOptions
}

// runWorker takes tasks WORKER_CONCURRENCY at a time until SIGTERM, then stops taking, lets the
// running tasks finish for up to -drain and requeues those that did not.
func runWorker(ctx context.Context, s settings, args []string, log *slog.Logger) error {
	o, err := parseWorkerFlags(args, s)
	if err != nil {
		return err
	}
	for _, dir := range []string{s.ModelPath, os.TempDir()} {
		if err := checkWritable(dir); err != nil {
			return err
		}
	}
	db, err := openPool(ctx, s.DB, "pynomaly-ref-worker")
	if err != nil {
		return err
	}
	defer db.Close()
	queueClient, cache, err := redisClients(s, s.Concurrency+4, log)
	if err != nil {
		return err
	}
	defer queueClient.Close()
	defer cache.Close()
	log.Info("database", "host", s.DB.Host, "port", s.DB.Port, "database", s.DB.Name, "user", s.DB.User, "sslmode", s.DB.SSLMode)
	logRedisTargets(log, s)
	reg := newRegistry()
	host, _ := os.Hostname()
	w := &worker{
		db: db, queue: newTaskQueue(queueClient, s.QueueName), cache: &taskCache{cache, s.CacheKeyPrefix}, metrics: newWorkerMetrics(reg), log: log,
		id: fmt.Sprintf("%s-%d", host, os.Getpid()), models: s.ModelPath, concurrency: s.Concurrency, timeout: s.TaskTimeout, opts: o,
	}
	// The metrics port serves until the drain is over: the probes and the last scrape see a
	// stopping worker. A port that cannot be served stops the worker.
	srv := &http.Server{Addr: net.JoinHostPort("", strconv.Itoa(o.metricsPort)), Handler: w.routes(metricsHandler(reg)), ReadHeaderTimeout: 10 * time.Second}
	running, stop := context.WithCancel(ctx)
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- serve(serving, srv, 5*time.Second, log); stop() }()
	w.run(running)
	stopServing()
	return <-served
}

func (w *worker) routes(metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, metrics)
	mux.HandleFunc("GET "+workerHealthPath, w.health)
	return mux
}

// health is the readiness probe: the queue and the database answer.
func (w *worker) health(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	results := runChecks(ctx, map[string]func(context.Context) error{
		"database": w.db.Ping,
		"queue":    func(ctx context.Context) error { return ping(ctx, w.queue.rdb) },
	})
	code := http.StatusOK
	if results["database"] != "ok" || results["queue"] != "ok" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(rw, code, map[string]any{"checks": results})
}

// run is the worker's life: the takers and the reaper until ctx ends, then the drain.
func (w *worker) run(ctx context.Context) {
	// Tasks run under work, which outlives SIGTERM until the drain is over.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var takers sync.WaitGroup
	for range w.concurrency {
		takers.Go(func() { w.take(ctx, work) })
	}
	reaped := make(chan struct{})
	go func() { defer close(reaped); w.reap(ctx) }()
	w.log.Info("taking tasks", "queue", w.queue.name, "concurrency", w.concurrency, "task_timeout", w.timeout.String())
	<-ctx.Done()
	w.log.Info("stopping: no new tasks", "drain", w.opts.drain.String())
	done := make(chan struct{})
	go func() { takers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.opts.drain):
		w.log.Warn("drain over: cancelling and requeueing the running tasks")
		stopWork()
		<-done
	}
	<-reaped
}

// take runs tasks one after the other until stop ends.
func (w *worker) take(stop, work context.Context) {
	for stop.Err() == nil {
		// BLMOVE under work: never abandoned half-way by SIGTERM; poll bounds the wait.
		id, err := w.queue.take(work, w.opts.poll)
		if err != nil {
			w.log.Error("queue", "error", err.Error())
			sleep(stop, w.opts.poll)
			continue
		}
		if id != "" {
			w.process(work, id)
		}
	}
}

// reap requeues, every lease interval, the tasks whose workers are gone.
func (w *worker) reap(ctx context.Context) {
	suspects := map[string]bool{}
	for sleep(ctx, w.opts.lease) {
		ids, err := w.queue.reap(ctx, suspects)
		if err != nil && ctx.Err() == nil {
			w.log.Error("reaper", "error", err.Error())
		}
		for _, id := range ids {
			w.log.Warn("requeued a task whose worker is gone", "task", id)
		}
	}
}

// sleep waits d unless ctx ends first; it says whether ctx is still on.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
