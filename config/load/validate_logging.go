package load

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/pynomaly/pynomaly-platform/config"
)

// logRetention is a VictoriaLogs retention the store honours: whole days, weeks or years (its
// data is partitioned by day, so a shorter period would keep a day all the same).
var logRetention = regexp.MustCompile(`^[1-9][0-9]{0,3}[dwy]$`)

// validateLogging checks the log pipeline's settings: its mode, the bundled store's when
// bundled, the external endpoint's when external, and that the node agents' namespace, named
// after the platform's, is a namespace name.
func validateLogging(s *config.Settings, v *validator, lr limitRangeMax) {
	l := s.Logging
	v.oneOf("logging.mode", l.Mode, config.LoggingModes)
	if s.NodeAgents() && len(s.NodeNamespace()) > 63 {
		v.fail("namespace", quote(s.Namespace), "must be at most 58 characters where node agents run (logging or prometheus.nodeExporter): "+
			"their namespace is "+quote(s.NodeNamespace())+", and a namespace name has at most 63")
	}
	// Checked in every mode, as Alertmanager's at every level: a stack that turns logging on
	// finds out before that update. The agents are not in the namespace: its LimitRange is not
	// theirs.
	v.resources("logging.collectorResources", l.CollectorResources, limitRangeMax{})
	v.resources("prometheus.nodeExporter.resources", s.Prometheus.NodeExporter.Resources, limitRangeMax{})
	v.storage("logging.storageSize", l.StorageSize)
	v.resources("logging.resources", l.Resources, lr)
	if l.Mode == config.LoggingBundled && !logRetention.MatchString(l.Retention) {
		v.fail("logging.retention", quote(l.Retention), `must be whole days, weeks or years, such as "14d", "4w" or "1y"`)
	}
	validateExternalLogs(l, v)
}

// validateExternalLogs checks logging.external: complete and safe in external mode, empty in the
// others, where it would never be read.
func validateExternalLogs(l config.Logging, v *validator) {
	e := l.External
	const k = "logging.external."
	if l.Mode != config.LoggingExternal {
		for field, value := range map[string]string{"protocol": e.Protocol, "endpoint": e.Endpoint, "secretName": e.SecretName} {
			if value != "" {
				v.fail(k+field, quote(value), "must be empty unless logging.mode is external (it is "+quote(l.Mode)+"): nothing reads it")
			}
		}
		return
	}
	v.oneOf(k+"protocol", e.Protocol, config.ExternalLogProtocols)
	if !externalEndpoint(e.Endpoint) {
		v.fail(k+"endpoint", quote(e.Endpoint), "must be the log store's https:// URL (http:// only to a Service of the cluster, *.svc or "+
			"*.svc.cluster.local: log lines can carry personal data), without query or credentials")
	}
	if e.SecretName != "" && (!config.DNSSubdomain.MatchString(e.SecretName) || len(e.SecretName) > 253) {
		v.fail(k+"secretName", quote(e.SecretName), "must name a Secret of the node agents' namespace holding the Authorization header's value under "+
			config.AuthorizationKey+", or be empty (no header)")
	}
}

// externalEndpoint says whether u is a URL the collector may send logs to.
func externalEndpoint(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" {
		return false
	}
	host := p.Hostname()
	internal := strings.HasSuffix(host, ".svc") || strings.HasSuffix(host, ".svc.cluster.local")
	return p.Scheme == "https" || (p.Scheme == "http" && internal)
}
