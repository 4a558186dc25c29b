package tests

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/logging"
	"github.com/pynomaly/pynomaly-platform/nodeagents"
)

// The collector configuration each stack declares is one the collector accepts: its own validate
// command, on the very ConfigMap of staging, prod, and prod shipping to an external Loki with a
// token, with the pod's environment it reads (POD_IP, the Authorization header).
func TestCollectorAcceptsEveryDeclaredConfiguration(t *testing.T) {
	otelcol := builtTool(t, "otelcol")
	variants := map[string]struct {
		env string
		c   cfg
	}{
		"staging": {"staging", nil}, "prod": {"prod", nil},
		"prod/external": {"prod", cfg{"logging": `{"mode": "external", "external": {"protocol": "loki", "endpoint": "https://loki.example.com", "secretName": "log-store-token"}}`}},
	}
	for name, v := range variants {
		st := deploy(t, v.env, v.c)
		conf := st.One(t, configMapType, nodeagents.CollectorName).StringMap(t, "data")["config.yaml"]
		require.NotEmpty(t, conf, name)
		file := filepath.Join(t.TempDir(), "config.yaml")
		require.NoError(t, os.WriteFile(file, []byte(conf), 0o600))
		cmd := exec.Command(otelcol, "validate", "--config="+file)
		cmd.Env = append(os.Environ(), "POD_IP=127.0.0.1", "LOG_AUTHORIZATION=Bearer test")
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s: %s", name, out)
	}
}

// The store's flags are VictoriaLogs's: it starts with those of every environment's retention
// and claim, and serves its health check.
func TestLogStoreStartsWithItsFlags(t *testing.T) {
	bin := builtTool(t, "victoria-logs")
	for _, env := range []string{"staging", "prod"} {
		s := settings(t, env, nil)
		port := freePort(t)
		flags, err := logging.StoreFlags(s.Logging.Retention, s.Logging.StorageSize, fmt.Sprintf("127.0.0.1:%d", port), t.TempDir())
		require.NoError(t, err)
		cmd := exec.Command(bin, flags...)
		exited, log := start(t, cmd)
		waitFor(t, env+" VictoriaLogs's health", exited, log, func() bool {
			r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
			if err != nil {
				return false
			}
			r.Body.Close()
			return r.StatusCode == http.StatusOK
		})
		// What it runs with, as it reports it.
		r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/flags", port))
		require.NoError(t, err)
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		require.NoError(t, err)
		assert.Contains(t, string(body), fmt.Sprintf("-retentionPeriod=%q", s.Logging.Retention), env)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		<-exited
	}
}
