package load

import (
	"fmt"
	"github.com/pynomaly/pynomaly-platform/config"
	"regexp"
	"slices"
	"strings"
)

// validateSecurity checks the Pod Security level: a known one, and in staging and prod not below
// the profile's (a weaker level there would admit pods the environment promises to refuse).
func validateSecurity(s *config.Settings, v *validator) {
	levels := make([]string, len(config.SecurityLevels))
	for i, l := range config.SecurityLevels {
		levels[i] = string(l)
	}
	have := slices.Index(config.SecurityLevels, s.Security)
	switch {
	case s.Security == "strict":
		v.fail("security", quote(string(s.Security)), "must be one of "+strings.Join(levels, ", ")+
			`; strict meant the same as enforced (Pod Security "restricted" enforced, the strictest level), so set enforced`)
		return
	case have < 0:
		v.oneOf("security", string(s.Security), levels)
		return
	}
	if s.Environment == config.Dev {
		return
	}
	p, _ := config.Profile(s.Environment)
	if floor := slices.Index(config.SecurityLevels, p.Security); have < floor {
		v.fail("security", quote(string(s.Security)), fmt.Sprintf(
			"must be %s or stricter in %s (the %s profile's Pod Security level); %s is for dev",
			p.Security, s.Environment, s.Environment, s.Security))
	}
}

// reservedNamespace is a namespace Kubernetes itself uses: the platform's quota, limits and Pod
// Security labels would apply to everything else in it, and a teardown would touch it.
func reservedNamespace(ns string) bool {
	return ns == "default" || strings.HasPrefix(ns, "kube-")
}

// credentialCharacters are what every consumer of an operator's credential takes as it is:
// PgBouncer's user list, Redis's and Sentinel's configuration lines, the SCRAM verifier
// (SASLprep leaves them unchanged), and connection URLs (unreserved characters, RFC 3986).
var credentialCharacters = regexp.MustCompile(`^[A-Za-z0-9._~-]*$`)

// credentialLength is the shortest and longest credential accepted: generated ones are 32 or 64
// characters; signing keys and tokens need at least 32.
func credentialLength(key string) (shortest, longest int) {
	if key == "influxdbAdminToken" || key == "apiSecretKey" {
		return 32, 128
	}
	return 16, 128
}

// validateCredentials checks the credentials an operator set. The value is never shown.
func validateCredentials(s *config.Settings, v *validator) {
	if s.SecretsBlinded {
		return
	}
	for _, k := range config.KeyTable() {
		dst, ok := k.In(s).(*config.Credential)
		if !ok {
			continue
		}
		c := string(*dst)
		if c == "" || config.OperatorOnly[k.Name] {
			continue // nothing to check, or not a password: the webhook URL is checked as a URL
		}
		shortest, longest := credentialLength(k.Name)
		allowed := fmt.Sprintf("must be %d to %d letters, digits, '-', '.', '_' or '~' (what PgBouncer's user list, "+
			"Redis's configuration and connection URLs all take unescaped)", shortest, longest)
		switch {
		case !credentialCharacters.MatchString(c):
			v.fail(k.Name, "[not shown]", allowed+"; this one has other characters")
		case len(c) < shortest || len(c) > longest:
			v.fail(k.Name, "[not shown]", fmt.Sprintf("%s; this one has %d characters", allowed, len(c)))
		}
	}
}
