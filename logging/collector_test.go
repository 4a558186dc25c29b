package logging

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The count's condition matches an edge access-log line by its status alone: not a 401 in the
// request line, the body size or the user agent, nor another status that starts with 401.
func TestAuthFailureMatchesOnlyTheStatus(t *testing.T) {
	re := regexp.MustCompile(authFailure)
	for line, want := range map[string]bool{
		`10.0.0.1 [07/Dec/2026:08:00:00 +0000] "POST /api/v1/auth/login HTTP/1.1" 401 12 0.001 0.001 "curl/8"`:    true,
		`10.0.0.1 [07/Dec/2026:08:00:00 +0000] "GET /api/v1/items/401 HTTP/1.1" 200 401 0.001 0.001 "curl/8"`:     false,
		`10.0.0.1 [07/Dec/2026:08:00:00 +0000] "GET /x\x22 401 HTTP/1.1" 404 0 0.001 0.001 "curl/8"`:              false,
		`10.0.0.1 [07/Dec/2026:08:00:00 +0000] "POST /api/v1/auth/login HTTP/1.1" 403 12 0.001 0.001 "401 agent"`: false,
		`2001:db8::1 [07/Dec/2026:08:00:00 +0000] "GET /api/v1/me HTTP/2.0" 401 0 0.000 - "python-requests"`:      true,
	} {
		assert.Equal(t, want, re.MatchString(line), line)
	}
}

// Every component the configuration declares is in a pipeline, and every pipeline's component is
// declared: the collector refuses the first and fails to start on the second.
func TestCollectorConfigWiresWhatItDeclares(t *testing.T) {
	c := Collector{Namespace: "ns", LogRoot: "/var/log/pods", StorageDir: "/var/lib/c/ns", KubeAuth: "serviceAccount",
		Listen: "0.0.0.0", EdgeComponent: "nginx", Export: Export{LogsURL: "http://store/insert", StreamFields: Labels}}
	var cfg struct {
		Receivers, Processors, Exporters, Connectors, Extensions map[string]any
		Service                                                  struct {
			Extensions []string
			Pipelines  map[string]struct{ Receivers, Processors, Exporters []string }
		}
	}
	require.NoError(t, yaml.Unmarshal([]byte(c.Config()), &cfg))
	used := map[string]bool{}
	for _, p := range cfg.Service.Pipelines {
		for _, list := range [][]string{p.Receivers, p.Processors, p.Exporters} {
			for _, name := range list {
				used[name] = true
			}
		}
	}
	for _, declared := range []map[string]any{cfg.Receivers, cfg.Processors, cfg.Exporters, cfg.Connectors} {
		for name := range declared {
			assert.True(t, used[name], "%s is declared but in no pipeline", name)
			delete(used, name)
		}
	}
	assert.Empty(t, used, "in a pipeline, never declared")
	assert.ElementsMatch(t, []string{"health_check", "file_storage"}, cfg.Service.Extensions)
}
