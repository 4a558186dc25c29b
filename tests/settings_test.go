package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
)

// `pulumi config set --path KEY VALUE` stores integers as numbers and true/false as booleans
// whatever the field; a quantity typed without a unit or a
// StorageClass parameter typed as a boolean is what the user meant as text.
func TestSettingsAsTheCLIStoresThem(t *testing.T) {
	s, err := load.Parse(project, load.Source{Values: map[string]string{
		"environment": "prod",
		"quota":       `{"requestsCpu": 64, "limitsCpu": 1000, "limitsMemory": "2Ti", "pods": 300}`,
		"api":         `{"resources": {"cpuLimit": 2, "memoryLimit": "2Gi"}}`,
		"secrets":     `{"rotation": {"all": 1}}`,
		"storage":     `{"parameters": {"type": "gp3", "encrypted": false, "iops": 3000}}`,
		"worker":      `{"queueScaling": {"enabled": true}}`,
		"postgres":    `{"walArchive": {"s3Bucket": 123456, "timeoutSeconds": 120}}`,
		"network":     `{"objectStorageCidrs": ["52.218.0.0/17"]}`,
	}})
	require.NoError(t, err)
	assert.Equal(t, "64", s.Quota.RequestsCPU)
	assert.Equal(t, "1000", s.Quota.LimitsCPU)
	assert.Equal(t, 300, s.Quota.Pods)
	assert.Equal(t, "2", s.API.Resources.CPULimit)
	assert.Equal(t, 1, s.Secrets.Rotation.All)
	assert.Equal(t, map[string]string{"type": "gp3", "encrypted": "false", "iops": "3000"}, s.Storage.Parameters)
	assert.True(t, s.Worker.QueueScaling.Enabled)
	assert.Equal(t, "123456", s.Postgres.WALArchive.S3Bucket)
	assert.Equal(t, 120, s.Postgres.WALArchive.TimeoutSeconds)
}

// The stack output "settings" is the effective settings: what Parse made of the profile and the
// overrides, every key present, and not one credential, not even as a secret.
func TestSettingsOutputIsTheEffectiveSettingsWithoutCredentials(t *testing.T) {
	const (
		password   = "OperatorChosenCredential-0123456789"
		kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user: {token: KubeTokenNotForOutputs}\n"
	)
	c := cfg{
		"api":        `{"maxReplicas": 80}`,
		"kubernetes": mustJSON(t, map[string]string{"kubeconfig": kubeconfig}),
		"postgres":   `{"walArchive": {"s3Bucket": "pynomaly-wal", "endpoint": "https://minio.example:9000"}}`,
		"network":    `{"objectStorageCidrs": ["192.0.2.10/32"]}`,
	}
	var secretKeys []string
	for _, k := range config.Keys() {
		if strings.HasSuffix(k, "Password") || strings.HasSuffix(k, "Token") || k == "apiSecretKey" {
			c[k] = password
			secretKeys = append(secretKeys, k)
		}
	}
	require.Len(t, secretKeys, 9)
	// Contents, unlike a path, are taken only as a secret (pulumi config set --secret --path).
	st := deploy(t, "prod", c, append(secretKeys, "kubernetes")...)
	out, ok := st.Outputs["settings"]
	require.True(t, ok, "no settings output")
	assert.False(t, out.ContainsSecrets(), "the settings output is plain: it holds nothing secret")

	values := stackEnv(t, "prod", c)
	secrets := map[string]bool{"kubernetes": true}
	for _, k := range secretKeys {
		secrets[k] = true
	}
	s, err := load.Parse(project, load.Source{Values: values, Secrets: secrets})
	require.NoError(t, err)
	assert.Equal(t, withoutNulls(s.View()), out.Mappable(), "the output is the view of the parsed settings (an output has no nulls)")

	text := mustJSON(t, out.Mappable())
	for _, leak := range []string{password, "KubeTokenNotForOutputs"} {
		assert.NotContains(t, text, leak)
	}
	view := out.ObjectValue()
	assert.Len(t, view, len(config.Keys()), "every key, once")
	for _, k := range secretKeys {
		assert.Equal(t, config.CredentialSet, view[resource.PropertyKey(k)].StringValue(), k)
	}
	k8s := view["kubernetes"].ObjectValue()
	assert.Equal(t, config.KubeconfigContents, k8s["kubeconfig"].StringValue())
	assert.Equal(t, 80.0, view["api"].ObjectValue()["maxReplicas"].NumberValue())
	assert.Equal(t, 5.0, view["api"].ObjectValue()["minReplicas"].NumberValue(), "the profile's value")

	// A kubeconfig path is not a secret, and a generated credential says so.
	st = deploy(t, "dev", cfg{"kubernetes": `{"kubeconfig": "/home/me/.kube/dev.yaml"}`})
	view = st.Outputs["settings"].ObjectValue()
	assert.Equal(t, "/home/me/.kube/dev.yaml", view["kubernetes"].ObjectValue()["kubeconfig"].StringValue())
	assert.Equal(t, config.CredentialGenerated, view["redisPassword"].StringValue())
}

// The view lists the keys in the keys table's order, and each object's fields in Settings' order.
func TestSettingsViewOrder(t *testing.T) {
	s, err := load.Parse(project, load.Source{Values: map[string]string{"environment": "staging"}})
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(s.ViewJSON())))
	_, err = dec.Token()
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	assert.Equal(t, config.Keys(), keys)
	assert.Regexp(t, `"api":\{"minReplicas":2,"maxReplicas":5,"resources":\{"cpuRequest":`, string(s.ViewJSON()))
}

// A stack whose objects are in a cluster is not moved to rendering, nor a rendered stack to a
// cluster, unless kubernetes.allowModeChange says so: either would delete every object from
// where it is. The program learns where the last deployment went from the stack's own outputs.
func TestModeChangeIsRefused(t *testing.T) {
	deployed := resource.PropertyMap{"namespace": resource.NewProperty("pynomaly-data-science")}
	rendered := resource.PropertyMap{"namespace": resource.NewProperty("pynomaly-data-science"),
		"renderedManifests": resource.NewProperty("rendered/dev")}
	render := `{"renderYamlToDirectory": "rendered/dev"}`
	for _, tc := range []struct {
		name     string
		previous resource.PropertyMap
		k8s      string
		want     string
	}{
		{"new stack renders", nil, render, ""},
		{"new stack deploys", nil, "", ""},
		{"deployed stack deploys again", deployed, "", ""},
		{"rendered stack renders again", rendered, render, ""},
		{"deployed stack to rendering", deployed, render,
			`stack setting pynomaly-platform:kubernetes.renderYamlToDirectory = "rendered/dev": this stack's objects are in a cluster (its last deployment applied them there), and rendering it would delete every one of them from that cluster. Render with a stack of its own (PYNOMALY_RENDER=1 scripts/quickstart.sh STACK uses STACK-render), or set kubernetes.allowModeChange true for this one update if that is meant`},
		{"rendered stack to a cluster", rendered, "",
			`stack setting pynomaly-platform:kubernetes.renderYamlToDirectory = "": this stack rendered its manifests to rendered/dev in its last deployment; applying it to a cluster would delete those files and create every object anew. Deploy with a stack of its own, or set kubernetes.allowModeChange true for this one update if that is meant`},
		{"meant move to rendering", deployed, `{"renderYamlToDirectory": "rendered/dev", "allowModeChange": true}`, ""},
		{"meant move to a cluster", rendered, `{"allowModeChange": true}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg{}
			if tc.k8s != "" {
				c["kubernetes"] = tc.k8s
			}
			st, err := runAfter(tc.previous, "dev", c)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "stack setting "), err.Error())
			for _, r := range st.Resources {
				assert.False(t, strings.HasPrefix(r.Type, "kubernetes:") || strings.HasPrefix(r.Type, "pulumi:providers:"),
					"%s %s declared although the mode change was refused", r.Type, r.Name)
			}
		})
	}
}

// withoutNulls drops the null entries of a JSON object (unset lists), as a stack output does.
func withoutNulls(m map[string]any) map[string]any {
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			withoutNulls(x)
		}
	}
	return m
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
