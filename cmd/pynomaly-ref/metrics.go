package main

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The metrics the platform's alerts and dashboards query of the application
// (monitoring/rules.go, monitoring/dashboards.go). Prometheus adds
// namespace, pod, component and job from the scrape target (monitoring/promconf.go):
// the application must not export labels of those names.
//
// API: http_requests_total and http_request_duration_seconds by handler (the route, not the
// raw path), method and status (the code, "200", so that status=~"5.." and "401|403" match).
// Worker: pynomaly_tasks_total by task and status, pynomaly_task_duration_seconds by task.
// The queue depth is not the application's: the queue Redis's exporter reports it.

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsHandler serves a registry in Prometheus's text format.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	labels := []string{"handler", "method", "status"}
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Requests answered, by route, method and status code.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Time to answer a request, by route, method and status code.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10, 30},
		}, labels),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// instrument counts and times every request that reached the API through the edge. The
// kubelet's probes and Prometheus's scrapes reach the pod directly and are left out: the
// security dashboard takes what Nginx handled minus what the API counted as what Nginx answered
// itself, and PynomalyAPISlow averages real requests.
func (m *httpMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" || strings.HasPrefix(r.UserAgent(), "kube-probe/") {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		// ServeMux set the matched pattern ("GET /api/v1/tasks/{id}") on the request.
		handler := "none"
		if _, path, ok := strings.Cut(r.Pattern, " "); ok {
			handler = path
		} else if r.Pattern != "" {
			handler = r.Pattern
		}
		l := prometheus.Labels{"handler": handler, "method": r.Method, "status": strconv.Itoa(sw.status)}
		m.requests.With(l).Inc()
		m.duration.With(l).Observe(time.Since(start).Seconds())
	})
}

// statusWriter remembers the status code a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type workerMetrics struct {
	tasks    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newWorkerMetrics(reg prometheus.Registerer) *workerMetrics {
	m := &workerMetrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pynomaly_tasks_total", Help: "Tasks a worker finished, by task kind and outcome (done, failed, requeued).",
		}, []string{"task", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pynomaly_task_duration_seconds", Help: "Time a worker spent on a task, by task kind.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 900, 1800, 3600},
		}, []string{"task"}),
	}
	reg.MustRegister(m.tasks, m.duration)
	return m
}

func (m *workerMetrics) observe(task, status string, took time.Duration) {
	m.tasks.WithLabelValues(task, status).Inc()
	m.duration.WithLabelValues(task).Observe(took.Seconds())
}
