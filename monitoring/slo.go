package monitoring

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pynomaly/pynomaly-platform/config"
)

// The API's service-level objectives (slo.* settings) as the SRE workbook alerts on them: an
// objective leaves an error budget (99.9 % leaves 0.1 % of the answers over 30 days), and an alert
// fires when the budget burns fast over a long window and still burns over a short one. The long
// window makes the alert significant, the short one lets it resolve soon after the burn stops.
// A fast burn pages; a slow one opens a ticket.

// burn is one window pair: the error ratio over both above factor times the budget.
type burn struct {
	factor      float64
	long, short string
}

var (
	// fastBurns spend 2 % of a 30-day budget in an hour, or 5 % in six hours.
	fastBurns = []burn{{14.4, "1h", "5m"}, {6, "6h", "30m"}}
	// slowBurns spend 10 % in a day, or 10 % in three days.
	slowBurns = []burn{{3, "1d", "2h"}, {1, "3d", "6h"}}
)

// sli is an objective's bad and all events per second, each over the window W.
type sli struct{ bad, all string }

func (s sli) ratio(window string) string {
	return "(" + strings.ReplaceAll(s.bad, "[W]", "["+window+"]") + ") / " + strings.ReplaceAll(s.all, "[W]", "["+window+"]")
}

// burnExpr fires while any of burns holds: its long and its short window's ratio above its
// factor times budget (a fraction). The value is the long window's error ratio.
func burnExpr(s sli, budget float64, burns []burn) string {
	var parts []string
	for _, b := range burns {
		threshold := decimal(b.factor * budget)
		parts = append(parts, fmt.Sprintf("(%s > %s and %s > %s)", s.ratio(b.long), threshold, s.ratio(b.short), threshold))
	}
	return strings.Join(parts, " or ")
}

// decimal is a fraction as PromQL reads it, without float noise (14.4 * 0.001 is 0.0144).
func decimal(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

// budget is what an objective (a percentage the settings checked) leaves: 99.9 leaves 0.001.
func budget(percent string) float64 {
	p, _ := strconv.ParseFloat(percent, 64)
	return (100 - p) / 100
}

// availabilitySLI counts the API's server errors among its answers.
var availabilitySLI = sli{
	bad: `sum(rate(http_requests_total{NS,component="api",status=~"5.."}[W]))`,
	all: `sum(rate(http_requests_total{NS,component="api"}[W]))`,
}

// latencySLI counts the API's answers slower than threshold, a bucket of its histogram.
// Prometheus 3 writes a whole bucket bound as 1.0, 2.x as 1: both match.
func latencySLI(threshold string) sli {
	le := threshold
	if !strings.Contains(le, ".") {
		le += "|" + le + ".0"
	}
	count := `sum(rate(http_request_duration_seconds_count{NS,component="api"}[W]))`
	return sli{
		bad: count + ` - sum(rate(http_request_duration_seconds_bucket{NS,component="api",le=~"` + le + `"}[W]))`,
		all: count,
	}
}

// sloRules are the four burn-rate alerts of the two objectives.
func sloRules(o config.SLO) []AlertRule {
	latency := latencySLI(o.LatencyThreshold)
	within := fmt.Sprintf("within %s s", o.LatencyThreshold)
	return []AlertRule{
		{
			Name: "PynomalyAPIErrorBudgetBurn", Expr: burnExpr(availabilitySLI, budget(o.Availability), fastBurns),
			For: "2m", Severity: SeverityCritical,
			Summary: "The API's server errors burn its error budget fast: {{ $value | humanizePercentage }} of answers",
			Description: "Above 14.4 times the availability objective's budget (" + o.Availability + " %) over the last hour, or 6 times over six hours, " +
				"and still over the last minutes: at this pace the 30-day budget is gone within five days.",
		},
		{
			Name: "PynomalyAPIErrorBudgetSlowBurn", Expr: burnExpr(availabilitySLI, budget(o.Availability), slowBurns),
			For: "15m", Severity: SeverityWarning,
			Summary: "The API's server errors burn its error budget: {{ $value | humanizePercentage }} of answers over a day or more",
			Description: "Above 3 times the availability objective's budget (" + o.Availability + " %) over a day, or above it over three days: " +
				"the 30-day budget will not last the month.",
		},
		{
			Name: "PynomalyAPILatencyBudgetBurn", Expr: burnExpr(latency, budget(o.LatencyTarget), fastBurns),
			For: "2m", Severity: SeverityCritical,
			Summary: "The API's slow answers burn its latency budget fast: {{ $value | humanizePercentage }} not " + within,
			Description: "Answers " + within + " fall short of " + o.LatencyTarget + " % by more than 14.4 times the budget over the last hour, " +
				"or 6 times over six hours, and still over the last minutes.",
		},
		{
			Name: "PynomalyAPILatencyBudgetSlowBurn", Expr: burnExpr(latency, budget(o.LatencyTarget), slowBurns),
			For: "15m", Severity: SeverityWarning,
			Summary: "The API's slow answers burn its latency budget: {{ $value | humanizePercentage }} not " + within + " over a day or more",
			Description: "Answers " + within + " fall short of " + o.LatencyTarget + " % by more than 3 times the budget over a day, " +
				"or by the budget over three days.",
		},
	}
}

// sloPanels are the API dashboard's objectives: each one's share over time against its
// objective, and how much of its 30-day budget is left (1 is all of it, below 0 overspent).
func sloPanels(o config.SLO) []Panel {
	// Grafana queries the stack's own Prometheus: no namespace matcher.
	ratio := func(s sli, window string) string { return strings.ReplaceAll(s.ratio(window), "NS,", "") }
	share := func(s sli) string { return "1 - " + ratio(s, "5m") }
	left := func(s sli, percent string) string {
		return fmt.Sprintf("1 - (%s) / %s", ratio(s, "30d"), decimal(budget(percent)))
	}
	latency := latencySLI(o.LatencyThreshold)
	return []Panel{
		{Title: "Availability (objective " + o.Availability + " %)", Unit: "percentunit", Queries: []Query{
			{share(availabilitySLI), "answers without a server error"}}},
		{Title: "Error budget left (30 days)", Unit: "percentunit", Stat: true, Queries: []Query{
			{left(availabilitySLI, o.Availability), "availability"}}},
		{Title: fmt.Sprintf("Answers within %s s (objective %s %%)", o.LatencyThreshold, o.LatencyTarget), Unit: "percentunit", Queries: []Query{
			{share(latency), "within " + o.LatencyThreshold + " s"}}},
		{Title: "Latency budget left (30 days)", Unit: "percentunit", Stat: true, Queries: []Query{
			{left(latency, o.LatencyTarget), "latency"}}},
	}
}
