package tests

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const providerType = "pulumi:providers:kubernetes"

// Every Kubernetes object goes through the one explicit provider, never an ambient default.
func TestEveryKubernetesResourceUsesThePlatformProvider(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		providers := st.OfType(providerType)
		require.Len(t, providers, 1, env)
		ref := providers[0].URN() + "::" + providers[0].Name + "-id"
		n := 0
		for _, r := range st.Resources {
			if strings.HasPrefix(r.Type, "kubernetes:") {
				assert.Equal(t, ref, r.Provider, "%s: %s %s", env, r.Type, r.Name)
				n++
			}
		}
		assert.Greater(t, n, 10, env)
	}
}

func TestProviderSettings(t *testing.T) {
	st := deploy(t, "dev", nil)
	p := st.OfType(providerType)[0]
	assert.False(t, p.Has("kubeconfig"), "ambient kubeconfig by default")
	assert.False(t, p.Has("context"))
	assert.False(t, p.Has("renderYamlToDirectory"))
	assert.Equal(t, "4.25.0", p.Version, "the plugin version the toolchain builds and the program is tested with")
	// A Secret's changed data is an update in place: a replaced Secret would take its workloads along.
	v, ok := p.Get("enableSecretMutable")
	require.True(t, ok)
	assert.True(t, v.BoolValue())
	// The cluster has an identity of its own, so another kubeconfig of it replaces nothing.
	assert.Equal(t, "dev", p.Str(t, "clusterIdentifier"), "the stack's name")

	st = deploy(t, "staging", cfg{"kubernetes": `{"kubeconfig": "/etc/pynomaly/kubeconfig", "context": "staging-eu", "clusterIdentifier": "eu-central/staging"}`})
	p = st.OfType(providerType)[0]
	assert.Equal(t, "/etc/pynomaly/kubeconfig", p.Str(t, "kubeconfig"))
	assert.Equal(t, "staging-eu", p.Str(t, "context"))
	assert.Equal(t, "eu-central/staging", p.Str(t, "clusterIdentifier"))

	// A kubeconfig's contents (set with --secret) stay secret in the provider's state; a path is
	// no secret.
	assert.False(t, p.IsSecret(t, "kubeconfig"))
	contents := "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
	st = deploy(t, "staging", cfg{"kubernetes": `{"kubeconfig": ` + strconv.Quote(contents) + `}`}, "kubernetes")
	p = st.OfType(providerType)[0]
	assert.True(t, p.IsSecret(t, "kubeconfig"), "the kubeconfig's contents are in the state in plain text")
	assert.Equal(t, contents, p.Str(t, "kubeconfig"))

	st = deploy(t, "dev", cfg{"kubernetes": `{"renderYamlToDirectory": "rendered/dev"}`})
	p = st.OfType(providerType)[0]
	assert.Equal(t, "rendered/dev", p.Str(t, "renderYamlToDirectory"))
	assert.False(t, p.Has("clusterIdentifier"), "files are no cluster: moving between them and a cluster replaces everything, as the program's mode check expects")
	assert.Equal(t, "rendered/dev", st.Outputs["renderedManifests"].StringValue())
}

// Every resource belongs to the platform: its parent chain ends at the Platform component, and
// every component registered its children under itself.
func TestEveryResourceIsParentedToItsComponent(t *testing.T) {
	st := deploy(t, "prod", nil)
	platform := st.Component(t, "Platform")
	for _, r := range st.Resources {
		if r == platform || r.Type == outputsProbe {
			continue
		}
		cur := r
		for cur != nil && cur != platform {
			cur = st.ByURN(cur.Parent)
		}
		assert.NotNil(t, cur, "%s %s is outside the platform", r.Type, r.Name)
	}
	// Storage: the class, two claims, and the snapshot schedule (its class, account, Role,
	// binding and CronJob).
	for kind, want := range map[string]int{"Namespace": 3, "Storage": 8, "Secrets": 22, "AppConfig": 1} {
		assert.Len(t, st.ChildrenOf(st.Component(t, kind)), want, kind)
	}
}

// Every object carries the seed's selector labels and the recommended ones.
func TestEveryObjectIsLabelled(t *testing.T) {
	st := deploy(t, "staging", nil)
	for _, r := range st.Resources {
		// A patch sets fields of an object labelled where it is made (a claim template).
		if !strings.HasPrefix(r.Type, "kubernetes:") || strings.HasSuffix(r.Type, "Patch") {
			continue
		}
		l := r.StringMap(t, "metadata.labels")
		assert.Equal(t, "pynomaly", l["app"], "%s %s", r.Type, r.Name)
		assert.NotEmpty(t, l["component"], "%s %s", r.Type, r.Name)
		assert.Equal(t, l["component"], l["app.kubernetes.io/component"], "%s %s", r.Type, r.Name)
		assert.Equal(t, "pynomaly", l["app.kubernetes.io/part-of"], "%s %s", r.Type, r.Name)
		assert.Equal(t, "pulumi", l["app.kubernetes.io/managed-by"], "%s %s", r.Type, r.Name)
		assert.Equal(t, "pynomaly-staging", l["app.kubernetes.io/instance"], "%s %s", r.Type, r.Name)
	}
}

// Namespaced objects wait for their namespace, the platform's or the node agents'; nothing
// waits on things it does not use.
func TestNamespacedObjectsWaitForTheNamespace(t *testing.T) {
	st := deploy(t, "prod", nil)
	namespaces := map[string]*Resource{}
	for _, name := range []string{"pynomaly-data-science", "pynomaly-data-science-node"} {
		namespaces[name] = st.One(t, namespaceType, name)
	}
	ns := namespaces["pynomaly-data-science"]
	for _, r := range st.Resources {
		if r.Has("metadata.namespace") {
			// kube-system's (the metrics adapter's authentication reader) waits for the
			// platform's, like everything the stack declares.
			own := namespaces[r.Str(t, "metadata.namespace")]
			if own == nil {
				own = ns
			}
			assert.True(t, st.DependsOn(r, own), "%s %s", r.Type, r.Name)
		}
	}
	assert.False(t, st.DependsOn(st.One(t, storageClassType, "pynomaly-ssd"), ns), "a cluster-scoped class needs no namespace")
}

func TestStackOutputs(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		o := st.Outputs
		assert.Equal(t, env, o["environment"].StringValue())
		assert.Equal(t, "pynomaly-data-science", o["namespace"].StringValue())
		assert.Equal(t, "pynomaly-ssd", o["storageClass"].StringValue())
		assert.Equal(t, "pynomaly-backups", o["backupClaim"].StringValue())
		assert.Equal(t, "pynomaly-models", o["modelClaim"].StringValue())
		assert.NotContains(t, o, "renderedManifests")
	}
}

// Every component the program declares has its outputs registered: each is one of the
// Platform's components (what RegisterOutputs is given), and the Platform holds no other.
func TestEveryComponentRegistersItsOutputs(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		var declared, registered []string
		for _, r := range st.Resources {
			if kind, ok := strings.CutPrefix(r.Type, "pynomaly:platform:"); ok && kind != "Platform" {
				declared = append(declared, kind)
			}
		}
		for _, c := range st.Platform.Components() {
			registered = append(registered, reflect.TypeOf(c).Elem().Name())
		}
		assert.ElementsMatch(t, declared, registered, env)
	}
}
