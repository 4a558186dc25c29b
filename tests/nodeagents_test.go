package tests

// The node agents (the log collector and node-exporter, in the node agents' namespace) and the
// bundled log store, as the stack declares them: what each agent takes of its node and of the
// Kubernetes API, where the collector reads and ships, what the store keeps, and that turning a
// part off leaves nothing of it behind.

import (
	"encoding/base64"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	quantity "k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/config"
)

const (
	daemonSetType     = "kubernetes:apps/v1:DaemonSet"
	networkPolicyType = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

	collectorName    = "pynomaly-log-collector"
	nodeExporterName = "pynomaly-node-exporter"
	logStoreName     = "pynomaly-logs"
	// collectorHome is the one directory of the node the collector may write: its read positions
	// and its sending queue.
	collectorHome = "/var/lib/pynomaly-log-collector"
)

// lookup returns the resource of type typ and logical name name, or nil when the stack has none.
func lookup(t *testing.T, st *Stack, typ, name string) *Resource {
	t.Helper()
	var found []*Resource
	for _, r := range st.Resources {
		if r.Type == typ && r.Name == name {
			found = append(found, r)
		}
	}
	require.LessOrEqual(t, len(found), 1, "resources %s %q", typ, name)
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// namespaceObject returns the Namespace object named name, or nil.
func namespaceObject(t *testing.T, st *Stack, name string) *Resource {
	t.Helper()
	var found *Resource
	for _, r := range st.OfType(namespaceType) {
		if r.Str(t, "metadata.name") == name {
			require.Nil(t, found, "two Namespace objects %s", name)
			found = r
		}
	}
	return found
}

// inNamespace lists the objects declared in namespace ns.
func inNamespace(st *Stack, ns string) []*Resource {
	var out []*Resource
	for _, r := range st.Resources {
		if v, ok := r.Get("metadata.namespace"); ok && v.IsString() && v.StringValue() == ns {
			out = append(out, r)
		}
	}
	return out
}

// objectName is an object's name in the cluster: its metadata.name, or the name the engine gives
// an auto-named one (as the mock engine does).
func objectName(t *testing.T, r *Resource) string {
	if r.Has("metadata.name") {
		return r.Str(t, "metadata.name")
	}
	return r.Name + "-" + suffix(r.Name)
}

// uidOf is the user a container runs as: its own runAsUser, else its pod's. An agent that left it
// to its image would run as whatever the image says, so it must be set.
func uidOf(t *testing.T, p PodTemplate, c string) int {
	t.Helper()
	if p.Owner.Has(c + ".securityContext.runAsUser") {
		return p.Owner.Int(t, c+".securityContext.runAsUser")
	}
	return p.Owner.Int(t, p.Path+".securityContext.runAsUser")
}

// hostPaths maps a pod template's hostPath volumes to the node's directory each one is.
func hostPaths(t *testing.T, p PodTemplate) map[string]string {
	t.Helper()
	out := map[string]string{}
	v, ok := p.Owner.Get(p.Path + ".volumes")
	if !ok {
		return out
	}
	for i := range v.ArrayValue() {
		vol := p.Path + ".volumes." + itoa(i)
		if p.Owner.Has(vol + ".hostPath") {
			out[p.Owner.Str(t, vol+".name")] = p.Owner.Str(t, vol+".hostPath.path")
		}
	}
	return out
}

// mountsOf returns a container's volume mounts' paths in the owner's inputs.
func mountsOf(r *Resource, c string) []string {
	v, ok := r.Get(c + ".volumeMounts")
	if !ok {
		return nil
	}
	var out []string
	for i := range v.ArrayValue() {
		out = append(out, c+".volumeMounts."+itoa(i))
	}
	return out
}

// commandLine returns a container's command and arguments.
func commandLine(t *testing.T, r *Resource, c string) []string {
	t.Helper()
	var out []string
	for _, k := range []string{"command", "args"} {
		v, ok := r.Get(c + "." + k)
		if !ok {
			continue
		}
		for _, e := range v.ArrayValue() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// flagValue returns the value of a -name=value or --name=value argument.
func flagValue(t *testing.T, args []string, name string) string {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	require.Failf(t, "no such flag", "%s not in %v", name, args)
	return ""
}

// collectorConfig reads the log collector's configuration as the collector does: the file its
// --config flag names, from the ConfigMap mounted at that file's directory.
func collectorConfig(t *testing.T, st *Stack) (*Resource, map[string]any) {
	t.Helper()
	ds := st.One(t, daemonSetType, collectorName)
	spec := "spec.template.spec"
	c := ds.Container(t, spec, "collector")
	file := flagValue(t, commandLine(t, ds, c), "--config")
	volume := ""
	for _, m := range mountsOf(ds, c) {
		if ds.Str(t, m+".mountPath") == path.Dir(file) {
			volume = ds.Str(t, m+".name")
		}
	}
	require.NotEmpty(t, volume, "nothing is mounted at %s", path.Dir(file))
	configMap := ""
	v, _ := ds.Get(spec + ".volumes")
	for i := range v.ArrayValue() {
		vol := spec + ".volumes." + itoa(i)
		if ds.Str(t, vol+".name") == volume {
			configMap = ds.Str(t, vol+".configMap.name")
		}
	}
	require.NotEmpty(t, configMap, "volume %s of %s is not a ConfigMap", volume, ds.Name)
	ns := ds.Str(t, "metadata.namespace")
	for _, r := range st.OfType(configMapType) {
		if r.Str(t, "metadata.namespace") != ns || objectName(t, r) != configMap {
			continue
		}
		text, ok := r.StringMap(t, "data")[path.Base(file)]
		require.True(t, ok, "ConfigMap %s has no %s", r.Name, path.Base(file))
		var conf map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(text), &conf))
		return ds, conf
	}
	require.Failf(t, "no ConfigMap", "%s mounts ConfigMap %s, which %s does not declare", ds.Name, configMap, ns)
	return nil, nil
}

// dig follows keys through a parsed YAML document.
func dig(t *testing.T, doc any, keys ...string) any {
	t.Helper()
	v := doc
	for i, k := range keys {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%s is not a map", strings.Join(keys[:i], "."))
		v, ok = m[k]
		require.True(t, ok, "no %s", strings.Join(keys[:i+1], "."))
	}
	return v
}

// strs is a parsed YAML list of strings.
func strs(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	require.True(t, ok, "%v is not a list", v)
	var out []string
	for _, e := range list {
		s, ok := e.(string)
		require.True(t, ok, "%v is not a string", e)
		out = append(out, s)
	}
	return out
}

// logsExporter is the name and configuration of the collector's one OTLP/HTTP exporter, which the
// logs pipeline ships through.
func logsExporter(t *testing.T, conf map[string]any) map[string]any {
	t.Helper()
	var names []string
	for name := range dig(t, conf, "exporters").(map[string]any) {
		if name == "otlphttp" || strings.HasPrefix(name, "otlphttp/") {
			names = append(names, name)
		}
	}
	require.Len(t, names, 1, "OTLP/HTTP exporters")
	assert.Contains(t, strs(t, dig(t, conf, "service", "pipelines", "logs", "exporters")), names[0],
		"the logs pipeline ships through %s", names[0])
	return dig(t, conf, "exporters", names[0]).(map[string]any)
}

// The node agents are the platform's only pods with anything of their node, each with only what
// it reads: both in the one namespace at Pod Security "privileged" while the platform's stays
// "restricted", locked down like every other container, root only for the collector (which
// shares neither the node's network nor its processes), and every host directory read-only but
// the collector's own. Every other pod of the stack, whichever tier declares it, takes nothing.
func TestNodeAgentsTakeOnlyWhatTheyRead(t *testing.T) {
	for _, env := range []string{"staging", "prod"} {
		st := deploy(t, env, nil)
		s := settings(t, env, nil)
		nodeNS := s.Namespace + "-node"

		ns := namespaceObject(t, st, nodeNS)
		require.NotNil(t, ns, "%s: no namespace %s", env, nodeNS)
		labels := ns.StringMap(t, "metadata.labels")
		for _, mode := range []string{"enforce", "warn", "audit"} {
			assert.Equal(t, "privileged", labels["pod-security.kubernetes.io/"+mode], "%s: %s %s", env, nodeNS, mode)
		}
		platformNS := namespaceObject(t, st, s.Namespace)
		require.NotNil(t, platformNS, "%s: no namespace %s", env, s.Namespace)
		assert.Equal(t, "restricted", platformNS.StringMap(t, "metadata.labels")["pod-security.kubernetes.io/enforce"],
			"%s: the platform's namespace keeps its level", env)

		agents := map[string]PodTemplate{}
		for _, p := range st.PodTemplates() {
			r := p.Owner
			inNode := r.Str(t, "metadata.namespace") == nodeNS
			if r.Type == daemonSetType {
				assert.True(t, inNode, "%s: DaemonSet %s outside %s", env, r.Name, nodeNS)
			}
			if !inNode {
				// Whichever tier declared it: nothing of the node.
				for _, forbidden := range []string{"hostNetwork", "hostPID", "hostIPC"} {
					assert.False(t, r.Bool(p.Path+"."+forbidden), "%s: %s %s has %s", env, r.Type, r.Name, forbidden)
				}
				assert.Empty(t, hostPaths(t, p), "%s: %s %s mounts a host path", env, r.Type, r.Name)
				for _, c := range p.Containers() {
					if v, ok := r.Get(c + ".ports"); ok {
						for i := range v.ArrayValue() {
							assert.False(t, r.Has(c+".ports."+itoa(i)+".hostPort"), "%s: %s %s has a host port", env, r.Type, r.Name)
						}
					}
				}
				continue
			}
			require.True(t, p.NodeAgent(t))
			agents[r.Name] = p

			assert.Equal(t, "RuntimeDefault", r.Str(t, p.Path+".securityContext.seccompProfile.type"), "%s %s", env, r.Name)
			assert.False(t, r.Bool(p.Path+".hostIPC"), "%s %s: hostIPC", env, r.Name)
			root := false
			for _, c := range p.Containers() {
				what := env + " " + r.Name + " " + r.Str(t, c+".name")
				sc := c + ".securityContext"
				assert.True(t, r.Has(sc+".allowPrivilegeEscalation") && !r.Bool(sc+".allowPrivilegeEscalation"), "%s: privilege escalation", what)
				assert.True(t, r.Bool(sc+".readOnlyRootFilesystem"), "%s: writable root filesystem", what)
				assert.False(t, r.Bool(sc+".privileged"), "%s: privileged", what)
				drop, ok := r.Get(sc + ".capabilities.drop")
				require.True(t, ok, "%s: drops no capability", what)
				assert.Contains(t, drop.Mappable(), "ALL", "%s: capabilities", what)
				if add, ok := r.Get(sc + ".capabilities.add"); ok {
					assert.Empty(t, add.ArrayValue(), "%s: adds capabilities", what)
				}
				if r.Has(sc + ".seccompProfile.type") {
					assert.Equal(t, "RuntimeDefault", r.Str(t, sc+".seccompProfile.type"), what)
				}
				if uidOf(t, p, c) == 0 {
					root = true
				}
			}

			writable := map[string]bool{}
			volumes := hostPaths(t, p)
			for _, c := range p.Containers() {
				for _, m := range mountsOf(r, c) {
					dir, ok := volumes[r.Str(t, m+".name")]
					if !ok {
						continue
					}
					if v, ok := r.Get(m + ".mountPropagation"); ok {
						assert.NotEqual(t, "Bidirectional", v.StringValue(), "%s %s: a mount the node sees", env, r.Name)
					}
					if !r.Bool(m + ".readOnly") {
						writable[dir] = true
					}
				}
			}
			if r.Name == collectorName {
				assert.True(t, root, "%s: the collector reads the kubelet's root-owned files", env)
				assert.False(t, r.Bool(p.Path+".hostNetwork"), "%s: the collector in the node's network", env)
				assert.False(t, r.Bool(p.Path+".hostPID"), "%s: the collector sees the node's processes", env)
				assert.Equal(t, map[string]bool{collectorHome: true}, writable, "%s: the collector writes its own directory only", env)
				assert.Contains(t, slices.Collect(maps.Values(volumes)), "/var/log/pods", "%s: the collector reads the pod logs", env)
			} else {
				assert.False(t, root, "%s: %s runs as root", env, r.Name)
				assert.Empty(t, writable, "%s: %s writes to its node", env, r.Name)
			}
			if r.Name == nodeExporterName {
				assert.True(t, r.Bool(p.Path+".securityContext.runAsNonRoot"), env)
				assert.True(t, r.Bool(p.Path+".hostNetwork"), "%s: node-exporter reports the node's interfaces", env)
				assert.True(t, r.Bool(p.Path+".hostPID"), "%s: node-exporter reports the node's processes", env)
				// It reads the node's filesystems where the node's root is mounted, and sees
				// those mounted after it started.
				c := r.Container(t, p.Path, "node-exporter")
				rootfs := flagValue(t, commandLine(t, r, c), "--path.rootfs")
				found := false
				for _, m := range mountsOf(r, c) {
					if volumes[r.Str(t, m+".name")] == "/" {
						found = true
						assert.Equal(t, rootfs, r.Str(t, m+".mountPath"), "%s: --path.rootfs is where / is mounted", env)
						assert.Equal(t, "HostToContainer", r.Str(t, m+".mountPropagation"), env)
						assert.True(t, r.Bool(m+".readOnly"), env)
					}
				}
				assert.True(t, found, "%s: node-exporter does not mount the node's root", env)
			}
		}
		assert.ElementsMatch(t, []string{collectorName, nodeExporterName}, slices.Collect(maps.Keys(agents)), "%s: the node agents", env)
	}
}

// The collector's one right in the API is to read the platform namespace's pods (for their app
// and component labels), and its configuration reads that namespace's logs only, labels them from
// that namespace only, and ships them to the log store's Service; it keeps its positions and queue
// in its own directory of the node, apart per stack.
func TestLogCollectorReadsOnlyThePlatformsPods(t *testing.T) {
	for _, env := range []string{"staging", "prod"} {
		st := deploy(t, env, nil)
		s := settings(t, env, nil)
		nodeNS := s.Namespace + "-node"
		ds, conf := collectorConfig(t, st)
		require.Equal(t, nodeNS, ds.Str(t, "metadata.namespace"))
		account := ds.Str(t, "spec.template.spec.serviceAccountName")
		require.Equal(t, nodeNS, st.One(t, serviceAccountType, account).Str(t, "metadata.namespace"), env)

		// Every binding that names the collector's account: one RoleBinding, and no cluster-wide one.
		var bindings []*Resource
		for _, typ := range []string{roleBindingType, clusterRoleBindingType} {
			for _, b := range st.OfType(typ) {
				v, ok := b.Get("subjects")
				if !ok {
					continue
				}
				for i := range v.ArrayValue() {
					sub := "subjects." + itoa(i)
					if b.Str(t, sub+".kind") == "ServiceAccount" && b.Str(t, sub+".name") == account &&
						b.Str(t, sub+".namespace") == nodeNS {
						bindings = append(bindings, b)
					}
				}
			}
		}
		require.Len(t, bindings, 1, "%s: bindings of the collector", env)
		binding := bindings[0]
		require.Equal(t, roleBindingType, binding.Type, env)
		assert.Equal(t, s.Namespace, binding.Str(t, "metadata.namespace"), env)
		subjects, _ := binding.Get("subjects")
		assert.Len(t, subjects.ArrayValue(), 1, "%s: the collector's binding binds the collector alone", env)
		assert.True(t, st.DependsOn(ds, binding), "%s: the collector starts with its right", env)

		require.Equal(t, "Role", binding.Str(t, "roleRef.kind"), env)
		var role *Resource
		for _, r := range st.OfType(roleType) {
			if r.Str(t, "metadata.name") == binding.Str(t, "roleRef.name") && r.Str(t, "metadata.namespace") == s.Namespace {
				role = r
			}
		}
		require.NotNil(t, role, "%s: the collector's Role is not in %s", env, s.Namespace)
		assert.Equal(t, []string{"/pods/get,list,watch"}, rules(t, role), env)

		for _, typ := range []string{clusterRoleType, clusterRoleBindingType} {
			for _, r := range st.OfType(typ) {
				assert.NotContains(t, r.Name+" "+objectName(t, r), "log-collector", "%s: %s", env, typ)
			}
		}

		// What it reads, labels and ships.
		assert.Equal(t, []string{"/var/log/pods/" + s.Namespace + "_*/*/*.log"}, strs(t, dig(t, conf, "receivers", "filelog", "include")), env)
		assert.Equal(t, s.Namespace, dig(t, conf, "processors", "k8sattributes", "filter", "namespace"), env)
		pipeline := dig(t, conf, "service", "pipelines", "logs")
		assert.Contains(t, strs(t, dig(t, pipeline, "receivers")), "filelog", env)
		assert.Contains(t, strs(t, dig(t, pipeline, "processors")), "k8sattributes", env)
		svc := st.One(t, serviceType, logStoreName)
		url := fmt.Sprintf("http://%s.%s.svc:%d", svc.Str(t, "metadata.name"), svc.Str(t, "metadata.namespace"), svc.Int(t, "spec.ports.0.port"))
		exporter := logsExporter(t, conf)
		assert.Equal(t, url+"/insert/opentelemetry/v1/logs", exporter["logs_endpoint"], env)

		// Its positions and queue are on the one directory of the node it writes, in a directory of
		// this stack's namespace.
		dir, _ := dig(t, conf, "extensions", "file_storage", "directory").(string)
		assert.Equal(t, path.Join(collectorHome, s.Namespace), dir, env)
		mounted := false
		c := ds.Container(t, "spec.template.spec", "collector")
		for _, m := range mountsOf(ds, c) {
			if strings.HasPrefix(dir, ds.Str(t, m+".mountPath")+"/") && !ds.Bool(m+".readOnly") {
				mounted = true
			}
		}
		assert.True(t, mounted, "%s: %s is on no writable mount", env, dir)
		assert.Equal(t, "file_storage", dig(t, conf, "receivers", "filelog", "storage"), env)
		assert.Equal(t, "file_storage", dig(t, exporter, "sending_queue", "storage"), env)
	}
}

// assertLogStore checks the bundled store of a stack with settings s: in the platform's namespace,
// keeping logging.retention on a claim of logging.storageSize, mounted where it writes its data, and
// never past 85% of that claim.
func assertLogStore(t *testing.T, st *Stack, s *config.Settings, what string) {
	t.Helper()
	set := lookup(t, st, statefulSetType, logStoreName)
	require.NotNil(t, set, "%s: no log store", what)
	assert.Equal(t, s.Namespace, set.Str(t, "metadata.namespace"), what)
	c := "spec.template.spec.containers.0"
	args := commandLine(t, set, c)
	assert.Equal(t, s.Logging.Retention, flagValue(t, args, "-retentionPeriod"), what)

	data := flagValue(t, args, "-storageDataPath")
	claimName := ""
	for _, m := range mountsOf(set, c) {
		if set.Str(t, m+".mountPath") == data {
			claimName = set.Str(t, m+".name")
		}
	}
	require.NotEmpty(t, claimName, "%s: nothing mounted at %s", what, data)
	v, ok := set.Get("spec.volumeClaimTemplates")
	require.True(t, ok, "%s: no claim", what)
	var claim *quantity.Quantity
	for i := range v.ArrayValue() {
		tpl := "spec.volumeClaimTemplates." + itoa(i)
		if set.Str(t, tpl+".metadata.name") == claimName {
			q := quantity.MustParse(set.Str(t, tpl+".spec.resources.requests.storage"))
			claim = &q
		}
	}
	require.NotNil(t, claim, "%s: %s is no claim template", what, claimName)
	want := quantity.MustParse(s.Logging.StorageSize)
	assert.Zero(t, claim.Cmp(want), "%s: claim %s, logging.storageSize %s", what, claim, s.Logging.StorageSize)

	max, err := strconv.ParseInt(flagValue(t, args, "-retention.maxDiskSpaceUsageBytes"), 10, 64)
	require.NoError(t, err, what)
	limit := claim.Value() * 85 / 100
	assert.LessOrEqual(t, max, limit, "%s: the store may fill more than 85%% of its claim", what)
	assert.Less(t, limit-max, int64(100), "%s: %d bytes is not 85%% of %s", what, max, claim)
}

// The bundled store keeps each environment's retention, and stops at 85% of its claim whatever
// the retention. dev runs no node agents and no store; dev with a bundled store runs the store and
// the collector, but node-exporter stays off.
func TestLogStoreKeepsItsRetentionWithinItsClaim(t *testing.T) {
	for _, env := range []string{"staging", "prod"} {
		s := settings(t, env, nil)
		require.Equal(t, config.LoggingBundled, s.Logging.Mode, env)
		assertLogStore(t, deploy(t, env, nil), s, env)
	}

	s := settings(t, "dev", nil)
	st := deploy(t, "dev", nil)
	assert.Nil(t, lookup(t, st, statefulSetType, logStoreName), "dev: a log store")
	assert.Nil(t, namespaceObject(t, st, s.Namespace+"-node"), "dev: a node agents' namespace")
	assert.Empty(t, st.OfType(daemonSetType), "dev: a node agent")

	bundled := cfg{"logging": `{"mode": "bundled"}`}
	s = settings(t, "dev", bundled)
	st = deploy(t, "dev", bundled)
	assertLogStore(t, st, s, "dev bundled")
	assert.NotNil(t, namespaceObject(t, st, s.Namespace+"-node"), "dev bundled: the collector's namespace")
	assert.NotNil(t, lookup(t, st, daemonSetType, collectorName), "dev bundled: no collector")
	assert.Nil(t, lookup(t, st, daemonSetType, nodeExporterName), "dev bundled: node-exporter")
}

// walkStrings calls f on every string under v, secret or not, with its path.
func walkStrings(v resource.PropertyValue, at string, f func(at, s string)) {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	join := func(k string) string {
		if at == "" {
			return k
		}
		return at + "." + k
	}
	switch {
	case v.IsString():
		f(at, v.StringValue())
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			walkStrings(e, join(itoa(i)), f)
		}
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			walkStrings(e, join(string(k)), f)
		}
	}
}

// An external store's credential reaches the collector from its Secret, through the environment:
// the configuration only names the variable, and no ConfigMap holds any Secret's value.
func TestExternalLogsNeverPutTheirCredentialInAConfigMap(t *testing.T) {
	const endpoint, secretName = "https://loki.example.com", "log-store-token"
	st := deploy(t, "prod", cfg{"logging": `{"mode": "external", "external": {"protocol": "loki", "endpoint": "` + endpoint +
		`", "secretName": "` + secretName + `"}}`})
	assert.Nil(t, lookup(t, st, statefulSetType, logStoreName), "an external store and a bundled one")
	assert.Nil(t, lookup(t, st, serviceType, logStoreName), "an external store and a bundled one's Service")

	ds, conf := collectorConfig(t, st)
	exporter := logsExporter(t, conf)
	assert.Equal(t, endpoint+"/otlp/v1/logs", exporter["logs_endpoint"])
	assert.Equal(t, "${env:LOG_AUTHORIZATION}", dig(t, exporter, "headers", "Authorization"))
	c := ds.Container(t, "spec.template.spec", "collector")
	assert.Equal(t, "secret:"+secretName+"/authorization", ds.Env(t, c)["LOG_AUTHORIZATION"])

	// The Secret's name appears once in what the stack declares: in that reference (the stack
	// outputs export the settings, names and not values).
	var where []string
	for _, r := range st.Resources {
		if r.Type == outputsProbe {
			continue
		}
		walkStrings(resource.NewProperty(r.Inputs), "", func(at, s string) {
			if strings.Contains(s, secretName) {
				where = append(where, r.Type+" "+r.Name+" "+at)
			}
		})
	}
	env, _ := ds.Get(c + ".env")
	ref := ""
	for i := range env.ArrayValue() {
		if ds.Str(t, c+".env."+itoa(i)+".name") == "LOG_AUTHORIZATION" {
			ref = daemonSetType + " " + ds.Name + " " + c + ".env." + itoa(i) + ".valueFrom.secretKeyRef.name"
		}
	}
	assert.Equal(t, []string{ref}, where)

	// No ConfigMap holds the value of any Secret the stack declares (identifiers and counters
	// shorter than a credential aside).
	var values []string
	for _, r := range st.OfType(secretType) {
		for _, k := range []string{"stringData", "data"} {
			v, ok := r.Get(k)
			if !ok {
				continue
			}
			walkStrings(v, "", func(_, s string) {
				if k == "data" {
					if b, err := base64.StdEncoding.DecodeString(s); err == nil {
						s = string(b)
					}
				}
				if len(s) >= 12 {
					values = append(values, s)
				}
			})
		}
	}
	require.NotEmpty(t, values, "no Secret values to look for")
	configMaps := st.OfType(configMapType)
	require.NotEmpty(t, configMaps)
	for _, r := range configMaps {
		walkStrings(resource.NewProperty(r.Inputs), "", func(at, s string) {
			for _, secret := range values {
				assert.NotContains(t, s, secret, "ConfigMap %s %s holds a Secret's value", r.Name, at)
			}
		})
	}
}

// Logging off leaves node-exporter its namespace, with nothing of the collector or the store, and
// no NetworkPolicy there: node-exporter shares the node's network, where none applies. With
// node-exporter off too, the stack declares nothing in that namespace, nor the namespace.
func TestTurningLoggingOffKeepsTheNamespaceOnlyForNodeExporter(t *testing.T) {
	off := cfg{"logging": `{"mode": "off"}`}
	s := settings(t, "staging", off)
	require.True(t, s.Prometheus.NodeExporter.Enabled, "staging runs node-exporter")
	nodeNS := s.Namespace + "-node"
	st := deploy(t, "staging", off)
	assert.NotNil(t, namespaceObject(t, st, nodeNS), "logging off: no namespace for node-exporter")
	exporter := lookup(t, st, daemonSetType, nodeExporterName)
	require.NotNil(t, exporter, "logging off: no node-exporter")
	assert.Equal(t, nodeNS, exporter.Str(t, "metadata.namespace"))
	assert.Nil(t, lookup(t, st, daemonSetType, collectorName), "logging off: a collector")
	assert.Nil(t, lookup(t, st, statefulSetType, logStoreName), "logging off: a log store")
	for _, r := range st.Resources {
		assert.NotEqual(t, collectorName, r.Name, "logging off: %s of the collector", r.Type)
	}
	for _, p := range st.PodTemplates() {
		if p.Owner.Str(t, "metadata.namespace") == nodeNS {
			assert.True(t, p.Owner.Bool(p.Path+".hostNetwork"), "%s: a pod a NetworkPolicy applies to", p.Owner.Name)
		}
	}
	for _, r := range inNamespace(st, nodeNS) {
		assert.NotEqual(t, networkPolicyType, r.Type, "logging off: NetworkPolicy %s for no pod", r.Name)
	}

	both := cfg{"logging": `{"mode": "off"}`, "prometheus": `{"nodeExporter": {"enabled": false}}`}
	s = settings(t, "staging", both)
	st = deploy(t, "staging", both)
	assert.Nil(t, namespaceObject(t, st, nodeNS), "no node agents: their namespace")
	assert.Empty(t, st.OfType(daemonSetType), "no node agents: a DaemonSet")
	for _, r := range inNamespace(st, nodeNS) {
		assert.Fail(t, "an object in a namespace the stack does not declare", "%s %s", r.Type, r.Name)
	}
	for _, typ := range []string{roleBindingType, clusterRoleBindingType} {
		for _, b := range st.OfType(typ) {
			walkStrings(resource.NewProperty(b.Inputs), "", func(at, v string) {
				assert.NotEqual(t, nodeNS, v, "no node agents: %s %s binds %s", typ, b.Name, at)
			})
		}
	}
}
