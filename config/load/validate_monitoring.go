package load

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/pynomaly/pynomaly-platform/config"
)

// promDuration is a Prometheus duration: units from ms to y, largest first (15d, 1w, 12h30m).
var promDuration = regexp.MustCompile(`^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$`)

// validateMonitoring checks the monitoring tier's settings. Alertmanager's are checked at every
// level, so a stack that moves from basic to full finds out before that update.
func validateMonitoring(s *config.Settings, v *validator, lr limitRangeMax) {
	p := s.Prometheus
	v.statefulTier("prometheus", p.StatefulTier, true, lr)
	if p.Retention == "" || p.Retention == "0s" || !promDuration.MatchString(p.Retention) {
		v.fail("prometheus.retention", quote(p.Retention), `must be a Prometheus duration such as "15d" or "12h"`)
	}
	v.statefulTier("alertmanager", s.Alertmanager.StatefulTier, true, lr)
	validateReceivers(v, s.Alertmanager.Receivers)
	if w := string(s.Credentials.AlertmanagerWebhookURL); w != "" {
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail("alertmanagerWebhookUrl", "[not shown]", "must be the http:// or https:// URL the alerts are posted to")
		}
	}
	v.resources("grafana.resources", s.Grafana.Resources, lr)
	validateSLO(v, s.SLO)
}

// sloPercent is an objective: above 90 and below 100, at most three decimals. 100 would leave
// no error budget, so one failed request would page; under 90 no alert would mean anything.
var sloPercent = regexp.MustCompile(`^9[0-9](\.[0-9]{1,3})?$`)

func validateSLO(v *validator, o config.SLO) {
	const percent = "must be a percentage from 90 to 99.999 (at most three decimals, below 100: 100 leaves no error budget)"
	if !sloPercent.MatchString(o.Availability) {
		v.fail("slo.availability", quote(o.Availability), percent)
	}
	if !sloPercent.MatchString(o.LatencyTarget) {
		v.fail("slo.latencyTarget", quote(o.LatencyTarget), percent)
	}
	if !slices.Contains(config.APILatencyBuckets, o.LatencyThreshold) {
		v.fail("slo.latencyThreshold", quote(o.LatencyThreshold), "must be one of the API histogram's buckets the application contract requires: "+
			strings.Join(config.APILatencyBuckets, ", ")+" (seconds)")
	}
}

var smarthost = regexp.MustCompile(`^[a-zA-Z0-9.-]+:[0-9]+$`)

func validateReceivers(v *validator, r config.AlertReceivers) {
	const k = "alertmanager.receivers."
	if r.Any() && (!config.DNSSubdomain.MatchString(r.SecretName) || len(r.SecretName) > 253) {
		v.fail(k+"secretName", quote(r.SecretName), "must name the Secret in the namespace that holds the receivers' "+
			config.SlackURLKey+", "+config.PagerDutyRoutingKeyKey+" and "+config.SMTPPasswordKey+" (those in use)")
	}
	if r.SlackChannel != "" && !strings.HasPrefix(r.SlackChannel, "#") && !strings.HasPrefix(r.SlackChannel, "@") {
		v.fail(k+"slackChannel", quote(r.SlackChannel), "must be a Slack channel such as #alerts (or @user), or empty")
	}
	e := r.Email
	if e.To != "" && !strings.Contains(e.To, "@") {
		v.fail(k+"email.to", quote(e.To), "must be an email address, or empty (no e-mail)")
	}
	if e.To == "" {
		return
	}
	if !strings.Contains(e.From, "@") {
		v.fail(k+"email.from", quote(e.From), "must be the sender's email address")
	}
	if !smarthost.MatchString(e.Smarthost) {
		v.fail(k+"email.smarthost", quote(e.Smarthost), "must be host:port of an SMTP server, such as smtp.example.com:587")
	}
	if strings.ContainsAny(e.Username, " \t") {
		v.fail(k+"email.username", quote(e.Username), "must be an SMTP user name without spaces, or empty (no login)")
	}
}
