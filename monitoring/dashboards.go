package monitoring

import (
	"encoding/json"
	"fmt"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/redis"
)

// Dashboard is one Grafana dashboard of the platform, in our own small types: rows of panels,
// each a PromQL query or a few against the Prometheus datasource, or a query of another
// datasource (the log store's).
type Dashboard struct {
	UID, Title string
	Panels     []Panel
}

// Panel is one time series, stat or logs panel.
type Panel struct {
	Title string
	// Unit is Grafana's unit id (reqps, s, percentunit, bytes, short).
	Unit string
	Stat bool
	// Logs lists the lines its query finds (Grafana's logs panel, full width) instead of
	// graphing series.
	Logs bool
	// Datasource is what Queries are written for; the zero value is the platform's Prometheus
	// (PromQL).
	Datasource Datasource
	Queries    []Query
}

// Query is an expression in its datasource's language and the legend of its series.
type Query struct{ Expr, Legend string }

// Datasource is one of Grafana's provisioned datasources, as a panel names it.
type Datasource struct{ Type, UID string }

// The datasources panels query: the platform's Prometheus, and the bundled log store
// (VictoriaLogs, LogsQL) where there is one.
var (
	PrometheusDatasource = Datasource{Type: "prometheus", UID: "prometheus"}
	LogsDatasource       = Datasource{Type: LogsPlugin, UID: "logs"}
)

// source is the panel's datasource: Prometheus unless it names another.
func (p Panel) source() Datasource {
	if p.Datasource == (Datasource{}) {
		return PrometheusDatasource
	}
	return p.Datasource
}

// PromQL says whether the panel's queries are PromQL, of the platform's Prometheus.
func (p Panel) PromQL() bool { return p.source() == PrometheusDatasource }

// Sources are what the dashboards show besides the platform's own series.
type Sources struct {
	// NodeExporter adds the Infrastructure dashboard's node panels (node-exporter's series).
	NodeExporter bool
	// Logs adds the API dashboard's error lines of the platform, from the log store.
	Logs bool
}

// Dashboards are the seed's four: API performance, infrastructure, data science and security.
// The application metrics are those of the API's and workers' Prometheus instrumentation
// (http_requests_total and http_request_duration_seconds by handler, method and status; the
// workers' pynomaly_tasks_total and pynomaly_task_duration_seconds); the queue depth is the
// queue Redis exporter's length of the task list.
func Dashboards(slo config.SLO) []Dashboard { return DashboardsWith(slo, Sources{}) }

// DashboardsWith are the dashboards with the panels of the sources src: node-exporter's on the
// Infrastructure dashboard, the platform's error lines on the API dashboard.
func DashboardsWith(slo config.SLO, src Sources) []Dashboard {
	ds := platformDashboards(slo)
	for i := range ds {
		switch {
		case ds[i].UID == "pynomaly-infrastructure" && src.NodeExporter:
			ds[i].Panels = append(ds[i].Panels, nodePanels()...)
		case ds[i].UID == "pynomaly-api" && src.Logs:
			ds[i].Panels = append(ds[i].Panels, errorLinesPanel())
		}
	}
	return ds
}

// nodeDisks are node-exporter's filesystems that hold data (nodeFilesystems, as the alerts
// read them).
const nodeDisks = `{` + nodeFilesystems + `}`

// nodePanels are the nodes' own resources, from node-exporter on each (its series carry their
// node's name): CPU busy, memory and filesystem space available, load per CPU, network traffic
// (without the loopback and the pods' virtual interfaces, counted on the node's own).
func nodePanels() []Panel {
	const virtual = `{device!~"lo|veth.*|cali.*|cilium.*|lxc.*|flannel.*|cni.*|vxlan.*|tunl.*|docker.*"}`
	return []Panel{
		{Title: "Node CPU busy", Unit: "percentunit", Queries: []Query{
			{`1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[5m]))`, "{{node}}"}}},
		{Title: "Node memory available", Unit: "percentunit", Queries: []Query{
			{`max by (node) (node_memory_MemAvailable_bytes) / max by (node) (node_memory_MemTotal_bytes)`, "{{node}}"}}},
		{Title: "Node filesystem available", Unit: "percentunit", Queries: []Query{
			{`max by (node, mountpoint) (node_filesystem_avail_bytes` + nodeDisks + `) / max by (node, mountpoint) (node_filesystem_size_bytes` + nodeDisks + `)`,
				"{{node}} {{mountpoint}}"}}},
		{Title: "Node load (1m) per CPU", Unit: "short", Queries: []Query{
			{`max by (node) (node_load1) / count by (node) (node_cpu_seconds_total{mode="idle"})`, "{{node}}"}}},
		{Title: "Node network traffic", Unit: "Bps", Queries: []Query{
			{`sum by (node) (rate(node_network_receive_bytes_total` + virtual + `[5m]))`, "{{node}} in"},
			{`sum by (node) (rate(node_network_transmit_bytes_total` + virtual + `[5m]))`, "{{node}} out"}}},
	}
}

// errorLinesPanel lists the platform's newest lines that report an error, from the log store
// (the collector ships the platform's pods' lines only, with their app, component, pod and
// container as stream fields): a word error, exception or fatal in any case, a Python
// traceback or a Go panic. The dashboard's time range bounds the search.
func errorLinesPanel() Panel {
	return Panel{Title: "Error lines", Logs: true, Datasource: LogsDatasource, Queries: []Query{{
		`{app="` + kube.PartOf + `"} (i(error) OR i(exception) OR i(fatal) OR Traceback OR panic) | sort by (_time desc)`, ""}}}
}

// platformDashboards are the four dashboards of the platform's own series.
func platformDashboards(slo config.SLO) []Dashboard {
	api := `component="api"`
	return []Dashboard{
		{UID: "pynomaly-api", Title: "Pynomaly / API performance", Panels: append(sloPanels(slo), []Panel{
			{Title: "Request rate by status", Unit: "reqps", Queries: []Query{
				{`sum by (status) (rate(http_requests_total{` + api + `}[5m]))`, "{{status}}"}}},
			{Title: "Latency percentiles", Unit: "s", Queries: []Query{
				{`histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{` + api + `}[5m])))`, "p50"},
				{`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{` + api + `}[5m])))`, "p95"},
				{`histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{` + api + `}[5m])))`, "p99"}}},
			{Title: "Error rate (5xx)", Unit: "percentunit", Queries: []Query{
				{`sum(rate(http_requests_total{` + api + `,status=~"5.."}[5m])) / sum(rate(http_requests_total{` + api + `}[5m]))`, "errors"}}},
			{Title: "Mean response time", Unit: "s", Stat: true, Queries: []Query{
				{`sum(rate(http_request_duration_seconds_sum{` + api + `}[5m])) / sum(rate(http_request_duration_seconds_count{` + api + `}[5m]))`, "mean"}}},
			{Title: "Nginx requests and connections", Unit: "short", Queries: []Query{
				{`sum(rate(nginx_http_requests_total[5m]))`, "requests/s"},
				{`sum(nginx_connections_active)`, "active connections"}}},
			{Title: "API pods", Unit: "short", Stat: true, Queries: []Query{
				{`count(up{job="` + app.APIName + `"} == 1)`, "ready"}}},
		}...)},
		{UID: "pynomaly-infrastructure", Title: "Pynomaly / Infrastructure", Panels: []Panel{
			{Title: "Nodes running the platform", Unit: "short", Stat: true, Queries: []Query{
				{`count(count by (node) (container_memory_working_set_bytes{container!=""}))`, "nodes"}}},
			{Title: "Pods by phase", Unit: "short", Queries: []Query{
				{`sum by (phase) (kube_pod_status_phase)`, "{{phase}}"}}},
			{Title: "Container restarts (1h)", Unit: "short", Queries: []Query{
				{`sum by (pod) (increase(kube_pod_container_status_restarts_total[1h]))`, "{{pod}}"}}},
			{Title: "CPU by pod", Unit: "short", Queries: []Query{
				{`sum by (pod) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))`, "{{pod}}"}}},
			{Title: "Memory by pod", Unit: "bytes", Queries: []Query{
				{`sum by (pod) (container_memory_working_set_bytes{container!=""})`, "{{pod}}"}}},
			{Title: "Volume usage", Unit: "percentunit", Queries: []Query{
				{`kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes`, "{{persistentvolumeclaim}}"}}},
			{Title: "Scrape targets up", Unit: "short", Queries: []Query{
				{`sum by (job) (up)`, "{{job}}"}}},
		}},
		{UID: "pynomaly-data-science", Title: "Pynomaly / Data science", Panels: []Panel{
			{Title: "Tasks processed by status", Unit: "short", Queries: []Query{
				{`sum by (status) (rate(pynomaly_tasks_total[5m]))`, "{{status}}"}}},
			{Title: "Task duration p95 by task", Unit: "s", Queries: []Query{
				{`histogram_quantile(0.95, sum by (le, task) (rate(pynomaly_task_duration_seconds_bucket[5m])))`, "{{task}}"}}},
			{Title: "Queue depth", Unit: "short", Queries: []Query{
				{`max(redis_key_size{component="redis-queue",key="` + redis.TaskQueueName + `"})`, "tasks waiting"}}},
			{Title: "Workers", Unit: "short", Stat: true, Queries: []Query{
				{`count(up{job="` + app.WorkerName + `"} == 1)`, "ready"}}},
			{Title: "Queue Redis memory", Unit: "percentunit", Queries: []Query{
				{`redis_memory_used_bytes{component="redis-queue"} / (redis_memory_max_bytes{component="redis-queue"} > 0)`, "{{pod}}"}}},
			{Title: "InfluxDB writes", Unit: "reqps", Queries: []Query{
				{`sum(rate(http_api_requests_total{component="influxdb",path="/api/v2/write"}[5m]))`, "writes/s"}}},
		}},
		{UID: "pynomaly-security", Title: "Pynomaly / Security", Panels: []Panel{
			{Title: "Failed authentication (401, 403)", Unit: "reqps", Queries: []Query{
				{`sum by (status) (rate(http_requests_total{` + api + `,status=~"401|403"}[5m]))`, "{{status}}"}}},
			// stub_status has no status codes: what Nginx answered itself (429s of the rate
			// limit, /health) is what it handled minus what reached the API.
			{Title: "Requests Nginx answered itself (rate limited, health)", Unit: "reqps", Queries: []Query{
				{`clamp_min(sum(rate(nginx_http_requests_total[5m])) - sum(rate(http_requests_total{` + api + `}[5m])), 0)`, "answered by Nginx"}}},
			// Where the CNI reports NetworkPolicy drops (Cilium's Hubble, Calico) and its metrics
			// reach this Prometheus.
			{Title: "NetworkPolicy drops", Unit: "pps", Queries: []Query{
				{`sum(rate(hubble_drop_total{reason="POLICY_DENIED"}[5m]))`, "Cilium"},
				{`sum(rate(calico_denied_packets[5m]))`, "Calico"}}},
			{Title: "API server requests refused (403)", Unit: "reqps", Queries: []Query{
				{`sum(rate(apiserver_request_total{code="403"}[5m]))`, "403"}}},
		}},
	}
}

// JSON is the dashboard's Grafana model: panels two to a row, a logs panel on a row of its own.
func (d Dashboard) JSON() string {
	var panels []map[string]any
	x, y := 0, 0
	for i, p := range d.Panels {
		src := p.source()
		ds := map[string]string{"type": src.Type, "uid": src.UID}
		var targets []map[string]any
		for j, q := range p.Queries {
			t := map[string]any{"refId": string(rune('A' + j)), "expr": q.Expr, "datasource": ds}
			if p.Logs {
				// The log store's raw lines (/select/logsql/query), not statistics.
				t["queryType"], t["editorMode"] = "instant", "code"
			} else {
				t["legendFormat"] = q.Legend
			}
			targets = append(targets, t)
		}
		kind, w, h := "timeseries", 12, 8
		switch {
		case p.Logs:
			kind, w, h = "logs", 24, 12
		case p.Stat:
			kind = "stat"
		}
		if x+w > 24 {
			x, y = 0, y+8
		}
		panel := map[string]any{
			"id": i + 1, "type": kind, "title": p.Title, "datasource": ds, "targets": targets,
			"gridPos": map[string]int{"h": h, "w": w, "x": x, "y": y},
		}
		if p.Logs {
			panel["options"] = map[string]any{
				"showTime": true, "wrapLogMessage": true, "enableLogDetails": true, "sortOrder": "Descending", "dedupStrategy": "none",
			}
		} else {
			panel["fieldConfig"] = map[string]any{"defaults": map[string]string{"unit": p.Unit}, "overrides": []any{}}
		}
		panels = append(panels, panel)
		if x += w; x >= 24 {
			x, y = 0, y+h
		}
	}
	b, err := json.MarshalIndent(map[string]any{
		"uid": d.UID, "title": d.Title, "tags": []string{"pynomaly"}, "editable": false,
		"schemaVersion": 39, "refresh": "30s", "time": map[string]string{"from": "now-6h", "to": "now"},
		"timezone": "utc", "panels": panels,
	}, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("dashboard %s: %v", d.UID, err))
	}
	return string(b)
}

// DashboardProvider is Grafana's provisioning file that loads the dashboards from dir, into a
// folder people cannot edit (a change comes from the program).
func DashboardProvider(dir string) string {
	type options struct {
		Path string `yaml:"path"`
	}
	type provider struct {
		Name            string  `yaml:"name"`
		Folder          string  `yaml:"folder"`
		Type            string  `yaml:"type"`
		DisableDeletion bool    `yaml:"disableDeletion"`
		AllowUIUpdates  bool    `yaml:"allowUiUpdates"`
		Options         options `yaml:"options"`
	}
	return marshalYAML(struct {
		APIVersion int        `yaml:"apiVersion"`
		Providers  []provider `yaml:"providers"`
	}{APIVersion: 1, Providers: []provider{{
		Name: "pynomaly", Folder: "Pynomaly", Type: "file", DisableDeletion: true, Options: options{Path: dir},
	}}})
}
