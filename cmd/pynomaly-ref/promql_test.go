package main

// The metrics the platform queries of the application, read from its own generators: the
// alert rules, the dashboards and the metrics adapter's rule. A selector is the application's
// when it selects the API's or the workers' scrape target (component="api" or "worker", the
// pod label Prometheus copies) or is named pynomaly_*; the labels it needs are those its
// matchers and the expression's grouping name, less the ones Prometheus adds to every series of
// a target.

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/monitoring"
)

// prodSLO is prod's default objectives: their alerts and panels query the API's metrics.
func prodSLO() config.SLO {
	p, _ := config.Profile(config.Prod)
	return p.SLO
}

// targetLabels are set by the scrape (monitoring/promconf.go's relabelling) or by
// Prometheus itself; le is a histogram bucket's.
var targetLabels = []string{"namespace", "pod", "component", "job", "instance", "le"}

// selector is one metric selector of a PromQL expression.
type selector struct {
	name   string
	labels map[string]string // matcher label: value (whatever the operator)
}

// queriedMetric is an application metric a query needs, and the labels it needs on it.
type queriedMetric struct {
	name, component, query string
	labels                 []string
}

var (
	identRE    = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	groupingKW = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
	operatorKW = []string{"and", "or", "unless", "bool", "offset"}
	// aggregators may take their grouping before their parenthesis: sum by (l) (expr).
	aggregators = []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
		"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
)

// parsePromQL returns the metric selectors of expr and the labels its groupings name. It knows
// the PromQL the generators write: functions and aggregations are followed by "(", durations
// are in [], strings in "".
func parsePromQL(expr string) (sels []selector, grouping []string) {
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"':
			end := strings.IndexByte(expr[i+1:], '"')
			i += end + 2
		case c == '[':
			i += strings.IndexByte(expr[i:], ']') + 1
		case identRE.MatchString(expr[i:]) && (i == 0 || !strings.ContainsRune("0123456789.", rune(expr[i-1]))):
			name := identRE.FindString(expr[i:])
			i += len(name)
			rest := strings.TrimLeft(expr[i:], " ")
			switch {
			case slices.Contains(groupingKW, name) && strings.HasPrefix(rest, "("):
				end := strings.IndexByte(rest, ')')
				for _, l := range strings.Split(rest[1:end], ",") {
					grouping = append(grouping, strings.TrimSpace(l))
				}
				i = len(expr) - len(rest) + end + 1
			case slices.Contains(operatorKW, name) || slices.Contains(aggregators, name) || strings.HasPrefix(rest, "("):
			default:
				sel := selector{name: name, labels: map[string]string{}}
				if strings.HasPrefix(rest, "{") {
					end := strings.IndexByte(rest, '}')
					for _, m := range matcherRE.FindAllStringSubmatch(rest[:end], -1) {
						sel.labels[m[1]] = m[3]
					}
					i = len(expr) - len(rest) + end + 1
				}
				sels = append(sels, sel)
			}
		default:
			i++
		}
	}
	return sels, grouping
}

// platformQueries are every PromQL expression the platform evaluates: alerts (with WAL
// archiving, so every rule), dashboard panels, and the metrics adapter's series query.
func platformQueries() []string {
	var out []string
	for _, r := range monitoring.AlertRules("pynomaly-data-science", monitoring.Database{WALArchiving: true}, prodSLO()) {
		out = append(out, r.Expr)
	}
	for _, d := range monitoring.Dashboards(prodSLO()) {
		for _, p := range d.Panels {
			for _, q := range p.Queries {
				out = append(out, q.Expr)
			}
		}
	}
	return append(out, monitoring.QueueDepthRule("pynomaly-data-science", "pynomaly_task_queue_depth").SeriesQuery)
}

// appMetrics are the application's metrics the queries use; apiComponent and workerComponent
// are the component labels of the API's and the workers' pods.
func appMetrics(t *testing.T, apiComponent, workerComponent string) []queriedMetric {
	t.Helper()
	var out []queriedMetric
	for _, q := range platformQueries() {
		sels, grouping := parsePromQL(q)
		if len(sels) == 0 {
			t.Fatalf("no metric found in %q: the parser does not know this PromQL", q)
		}
		isApp := func(s selector) bool {
			c := s.labels["component"]
			return c == apiComponent || c == workerComponent || strings.HasPrefix(s.name, "pynomaly_")
		}
		allApp := !slices.ContainsFunc(sels, func(s selector) bool { return !isApp(s) })
		for _, s := range sels {
			if !isApp(s) {
				continue
			}
			m := queriedMetric{name: s.name, component: s.labels["component"], query: q}
			for l := range s.labels {
				m.labels = append(m.labels, l)
			}
			if allApp {
				m.labels = append(m.labels, grouping...)
			}
			m.labels = slices.DeleteFunc(m.labels, func(l string) bool { return slices.Contains(targetLabels, l) })
			slices.Sort(m.labels)
			m.labels = slices.Compact(m.labels)
			out = append(out, m)
		}
	}
	return out
}

// sample is one line of the text exposition format.
type sample struct {
	name   string
	labels map[string]string
}

var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func parseExposition(text string) []sample {
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		name, rest, hasLabels := strings.Cut(line, "{")
		if !hasLabels {
			name, _, _ = strings.Cut(line, " ")
		} else {
			for _, m := range labelRE.FindAllStringSubmatch(rest[:strings.LastIndexByte(rest, '}')], -1) {
				s.labels[m[1]] = m[2]
			}
		}
		s.name = name
		out = append(out, s)
	}
	return out
}

// The parser finds what the generators' PromQL selects.
func TestParsePromQL(t *testing.T) {
	sels, grouping := parsePromQL(`sum by (status) (rate(http_requests_total{namespace="ns",component="api",status=~"5.."}[5m])) / ` +
		`max without (pod, instance) (deriv(redis_key_size{key="pynomaly-tasks"}[15m])) > 0.9 and time() - up > 26 * 3600`)
	names := []string{}
	for _, s := range sels {
		names = append(names, s.name)
	}
	if !slices.Equal(names, []string{"http_requests_total", "redis_key_size", "up"}) {
		t.Errorf("selectors %v", names)
	}
	if sels[0].labels["status"] != "5.." || sels[0].labels["component"] != "api" || sels[1].labels["key"] != "pynomaly-tasks" {
		t.Errorf("matchers %v %v", sels[0].labels, sels[1].labels)
	}
	if !slices.Equal(grouping, []string{"status", "pod", "instance"}) {
		t.Errorf("grouping %v", grouping)
	}
}
