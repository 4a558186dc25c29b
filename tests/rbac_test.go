package tests

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/pynomaly/pynomaly-platform/nodeagents"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/tests/settingcases"
)

const (
	serviceAccountType = "kubernetes:core/v1:ServiceAccount"
	roleBindingType    = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
)

// apiClients are the containers that call the Kubernetes API, by workload: the only ones that
// may hold a service account token. Patroni keeps the cluster's state in ConfigMaps and labels
// the pods; Prometheus discovers its targets and scrapes the kubelets and the API server;
// kube-state-metrics watches the namespace's objects; prometheus-adapter, an aggregated API
// server, has the API server review each caller's token and rights.
var apiClients = map[string]string{
	"StatefulSet/" + postgres.Name:                  "postgres",
	"StatefulSet/" + monitoring.PrometheusName:      "prometheus",
	"Deployment/" + monitoring.KubeStateMetricsName: "kube-state-metrics",
	"Deployment/" + monitoring.MetricsAdapterName:   "prometheus-adapter",
	// prod snapshots its claims by default.
	"CronJob/" + foundation.VolumeSnapshotsCronJob: "volume-snapshots",
	// Writes the application's own InfluxDB token into its Secret.
	"Job/" + influxdb.SetupJob: "influxdb-setup",
	// Reads the platform's pods for the labels each log line carries.
	"DaemonSet/" + nodeagents.CollectorName: "collector",
}

// accessSettings name a viewer group and user, and a CI service account as deployer.
var accessSettings = cfg{"access": `{"viewers": ["group:data-science", "user:alice@example.com"], "deployers": ["serviceaccount:ci/pulumi-deployer"]}`}

// rbacVariant is a stack configuration whose RBAC the invariants below check.
type rbacVariant struct {
	name, env string
	c         cfg
}

// rbacVariants are every environment as profiled, and prod with each entry point, the operator
// monitoring mode and the access lists: every kind of object and every Role the program makes.
func rbacVariants() []rbacVariant {
	var vs []rbacVariant
	for _, env := range envs {
		vs = append(vs, rbacVariant{env, env, nil})
	}
	with := func(a, b cfg) cfg {
		out := maps.Clone(a)
		maps.Copy(out, b)
		return out
	}
	return append(vs,
		rbacVariant{"prod/access", "prod", accessSettings},
		rbacVariant{"dev/access", "dev", accessSettings},
		rbacVariant{"prod/operator", "prod", with(cfg{"monitoringMode": "operator", "grafana": internalGrafana}, accessSettings)},
		rbacVariant{"prod/ingress", "prod", with(exposed("ingress", ""), accessSettings)},
		rbacVariant{"prod/envoy-gateway", "prod", with(exposed("gateway", ""), accessSettings)},
		rbacVariant{"prod/nginx-gateway-fabric", "prod", with(exposed("gateway", `, "gateway": {"implementation": "nginx-gateway-fabric"}`), accessSettings)},
	)
}

// Every workload runs as its own ServiceAccount, named like it and used by no other, which the
// workload waits for. Neither the account nor the pod lets the kubelet mount a token.
func TestEveryWorkloadHasItsOwnServiceAccount(t *testing.T) {
	for _, v := range rbacVariants() {
		st := deploy(t, v.env, v.c)
		used := map[string]string{}
		for _, p := range st.PodTemplates() {
			what := v.name + " " + kindOf(p.Owner) + "/" + p.Owner.Name
			name := p.Owner.Str(t, p.Path+".serviceAccountName")
			assert.Equal(t, p.Owner.Name, name, what)
			if other, ok := used[name]; ok {
				t.Errorf("%s: account %s is also %s's", what, name, other)
			}
			used[name] = what
			assert.True(t, p.Owner.Has(p.Path+".automountServiceAccountToken") && !p.Owner.Bool(p.Path+".automountServiceAccountToken"),
				"%s: the pod turns automounting off", what)
			sa := st.One(t, serviceAccountType, name)
			assert.True(t, sa.Has("automountServiceAccountToken") && !sa.Bool("automountServiceAccountToken"), "%s: the account turns automounting off", what)
			assert.True(t, st.DependsOn(p.Owner, sa), "%s waits for its account", what)
		}
		var accounts []string
		for _, sa := range st.OfType(serviceAccountType) {
			accounts = append(accounts, sa.Name)
		}
		assert.ElementsMatch(t, slices.Collect(maps.Keys(used)), accounts, "%s: every account is a workload's", v.name)
	}
}

// A token is only in the listed containers of the listed workloads: a projected volume of a
// short-lived token, the cluster's CA and the namespace, mounted read-only where client
// libraries look, in that one container (not in the exporters beside it). The accounts bound to
// a Role or ClusterRole are exactly theirs: a token without rights, or rights without a token,
// would mean the list is wrong.
func TestAPITokenOnlyInTheContainerThatCallsTheAPI(t *testing.T) {
	for _, v := range rbacVariants() {
		st := deploy(t, v.env, v.c)
		clients := map[string]bool{}
		for _, p := range st.PodTemplates() {
			key := kindOf(p.Owner) + "/" + p.Owner.Name
			what := v.name + " " + key
			holder := tokenHolder(t, p)
			assert.Equal(t, apiClients[key], holder, "%s: containers holding the API token", what)
			if holder == "" {
				continue
			}
			// A binding names an account of another namespace by namespace/name.
			account := p.Owner.Name
			if p.NodeAgent(t) {
				account = p.Owner.Str(t, "metadata.namespace") + "/" + account
			}
			clients[account] = true
			mount := tokenMount(t, p, holder)
			assert.True(t, p.Owner.Bool(mount+".readOnly"), "%s: the token is mounted read-only", what)
			vol := tokenVolume(t, p)
			src := p.Owner.Str
			assert.Equal(t, "token", src(t, vol+".projected.sources.0.serviceAccountToken.path"), what)
			assert.LessOrEqual(t, p.Owner.Int(t, vol+".projected.sources.0.serviceAccountToken.expirationSeconds"), 3600, what)
			assert.Equal(t, "kube-root-ca.crt", src(t, vol+".projected.sources.1.configMap.name"), what)
			assert.Equal(t, "ca.crt", src(t, vol+".projected.sources.1.configMap.items.0.path"), what)
			assert.Equal(t, "namespace", src(t, vol+".projected.sources.2.downwardAPI.items.0.path"), what)
			assert.Equal(t, "metadata.namespace", src(t, vol+".projected.sources.2.downwardAPI.items.0.fieldRef.fieldPath"), what)
		}
		bound := map[string]bool{}
		for _, typ := range []string{roleBindingType, clusterRoleBindingType} {
			for _, b := range st.OfType(typ) {
				for _, s := range subjects(t, b) {
					if strings.HasPrefix(s, "ServiceAccount:") {
						bound[strings.TrimPrefix(s, "ServiceAccount:")] = true
					}
				}
			}
		}
		// The deployer CI account of the access settings is in another namespace.
		delete(bound, "ci/pulumi-deployer")
		assert.Equal(t, clients, bound, "%s: accounts with a token and accounts with rights", v.name)
	}
}

// tokenHolder names the containers (init containers too) that mount a projected service account
// token, or anything where client libraries look for one; "" when none does.
func tokenHolder(t *testing.T, p PodTemplate) string {
	t.Helper()
	tokenVolumes := map[string]bool{}
	if vs, ok := p.Owner.Get(p.Path + ".volumes"); ok {
		for i := range vs.ArrayValue() {
			vol := fmt.Sprintf("%s.volumes.%d", p.Path, i)
			if srcs, ok := p.Owner.Get(vol + ".projected.sources"); ok {
				for j := range srcs.ArrayValue() {
					if p.Owner.Has(fmt.Sprintf("%s.projected.sources.%d.serviceAccountToken", vol, j)) {
						tokenVolumes[p.Owner.Str(t, vol+".name")] = true
					}
				}
			}
		}
	}
	var holders []string
	for _, c := range p.Containers() {
		ms, _ := p.Owner.Get(c + ".volumeMounts")
		if !ms.IsArray() {
			continue
		}
		for i := range ms.ArrayValue() {
			m := fmt.Sprintf("%s.volumeMounts.%d", c, i)
			if tokenVolumes[p.Owner.Str(t, m+".name")] || strings.HasPrefix(p.Owner.Str(t, m+".mountPath"), kube.TokenDir) {
				holders = append(holders, p.Owner.Str(t, c+".name"))
				break
			}
		}
	}
	return strings.Join(holders, ",")
}

// tokenMount is the path of the container's mount at the token directory.
func tokenMount(t *testing.T, p PodTemplate, container string) string {
	t.Helper()
	c := p.Owner.Container(t, p.Path, container)
	ms, _ := p.Owner.Get(c + ".volumeMounts")
	for i := range ms.ArrayValue() {
		m := fmt.Sprintf("%s.volumeMounts.%d", c, i)
		if p.Owner.Str(t, m+".mountPath") == kube.TokenDir {
			return m
		}
	}
	require.Failf(t, "no token mount", "%s %s mounts nothing at %s", p.Owner.Name, container, kube.TokenDir)
	return ""
}

// tokenVolume is the path of the pod's one projected token volume.
func tokenVolume(t *testing.T, p PodTemplate) string {
	t.Helper()
	vs, _ := p.Owner.Get(p.Path + ".volumes")
	var found []string
	for i := range vs.ArrayValue() {
		vol := fmt.Sprintf("%s.volumes.%d", p.Path, i)
		if p.Owner.Has(vol + ".projected.sources.0.serviceAccountToken") {
			found = append(found, vol)
		}
	}
	require.Len(t, found, 1, "%s: projected token volumes", p.Owner.Name)
	return found[0]
}

// subjects renders a binding's subjects as Kind:name (Kind:namespace/name for another
// namespace's service account).
func subjects(t *testing.T, b *Resource) []string {
	t.Helper()
	v, ok := b.Get("subjects")
	require.True(t, ok, "%s has no subjects", b.Name)
	var out []string
	for i := range v.ArrayValue() {
		s := fmt.Sprintf("subjects.%d", i)
		name := b.Str(t, s+".name")
		if b.Has(s+".namespace") && b.Str(t, s+".kind") == "ServiceAccount" {
			if ns := b.Str(t, s+".namespace"); ns != "pynomaly-data-science" {
				name = ns + "/" + name
			}
		}
		out = append(out, b.Str(t, s+".kind")+":"+name)
	}
	return out
}

// Patroni's Role is exactly the calls of its Kubernetes DCS in ConfigMap mode (see
// postgres/rbac.go for where each comes from), on the ConfigMaps of the scope the pods
// run with and on the member pods by name: nothing that can be narrowed by name is granted on
// every object, and nothing Patroni never calls (update, delete, services, endpoints) is there.
func TestPatroniRoleIsExactlyItsCalls(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		sts := st.One(t, statefulSetType, postgres.Name)
		spilo := sts.Env(t, sts.Container(t, "spec.template.spec", "postgres"))
		require.Equal(t, "true", spilo["KUBERNETES_USE_CONFIGMAPS"], "the Role is for Patroni's ConfigMap mode")
		require.Equal(t, "true", spilo["DCS_ENABLE_KUBERNETES_API"], "Patroni labels the pods itself (no Spilo callback)")
		assert.Equal(t, "false", spilo["KUBERNETES_BYPASS_API_SERVICE"],
			"%s: Patroni would read the kubernetes Endpoints in the default namespace, outside its Role", env)
		scope := spilo["SCOPE"]
		var members []string
		for i := range sts.Int(t, "spec.replicas") {
			members = append(members, fmt.Sprintf("%s-%d", postgres.Name, i))
		}
		assert.Equal(t, []string{
			"/configmaps/list,watch",
			"/configmaps/create",
			"/configmaps/patch[" + scope + "-leader," + scope + "-config," + scope + "-failover," + scope + "-sync]",
			"/configmaps/get[" + scope + "-leader]",
			"/pods/list,watch",
			"/pods/patch[" + strings.Join(members, ",") + "]",
		}, rules(t, st.One(t, roleType, postgres.Name)), env)
		binding := st.One(t, roleBindingType, postgres.Name)
		assert.Equal(t, []string{"ServiceAccount:" + postgres.Name}, subjects(t, binding), env)
	}
}

// policyRule is one rule of a Role or ClusterRole.
type policyRule struct{ groups, resources, verbs, names, urls []string }

func policyRules(t *testing.T, r *Resource) []policyRule {
	t.Helper()
	v, ok := r.Get("rules")
	require.True(t, ok, "%s %s has no rules", r.Type, r.Name)
	list := func(m resource.PropertyMap, k string) []string {
		var out []string
		if a, ok := m[resource.PropertyKey(k)]; ok {
			for _, e := range a.ArrayValue() {
				out = append(out, e.StringValue())
			}
		}
		return out
	}
	var out []policyRule
	for _, rule := range v.ArrayValue() {
		m := rule.ObjectValue()
		out = append(out, policyRule{list(m, "apiGroups"), list(m, "resources"), list(m, "verbs"), list(m, "resourceNames"), list(m, "nonResourceURLs")})
	}
	return out
}

// No Role or ClusterRole grants a wildcard (verbs, resources, API groups, names, URLs), in any
// environment or variant; and no workload's Role touches Secrets: only the deployer, who creates
// them, does.
func TestNoRoleGrantsAWildcard(t *testing.T) {
	for _, v := range rbacVariants() {
		st := deploy(t, v.env, v.c)
		roles := append(st.OfType(roleType), st.OfType(clusterRoleType)...)
		require.NotEmpty(t, roles)
		for _, r := range roles {
			for _, rule := range policyRules(t, r) {
				for _, field := range [][]string{rule.groups, rule.resources, rule.verbs, rule.names, rule.urls} {
					for _, s := range field {
						assert.NotContains(t, s, "*", "%s: %s %s grants a wildcard", v.name, r.Type, r.Name)
					}
				}
				name, _ := r.Get("metadata.name")
				switch {
				case name.IsString() && name.StringValue() == foundation.DeployerRoleName:
				case name.IsString() && name.StringValue() == influxdb.SetupJob && slices.Contains(rule.resources, "secrets"):
					// The InfluxDB setup job writes the application's token Secret, that one only.
					assert.Equal(t, []string{influxdb.AppTokenSecret}, rule.names, "%s: %s", v.name, r.Name)
					assert.ElementsMatch(t, []string{"patch"}, rule.verbs, "%s: %s", v.name, r.Name)
				default:
					assert.NotContains(t, rule.resources, "secrets", "%s: %s %s", v.name, r.Type, r.Name)
				}
			}
		}
	}
}

// The access settings bind their subjects to the viewer and deployer Roles; without them there
// are neither.
func TestAccessRolesFollowTheSettings(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		for _, name := range []string{foundation.ViewerRoleName, foundation.DeployerRoleName} {
			for _, typ := range []string{roleType, roleBindingType} {
				for _, r := range st.OfType(typ) {
					assert.NotEqual(t, name, r.Name, "%s: no %s without its setting", env, name)
				}
			}
		}
	}
	st := deploy(t, "prod", accessSettings)
	viewers := st.One(t, roleBindingType, foundation.ViewerRoleName)
	assert.Equal(t, []string{"Group:data-science", "User:alice@example.com"}, subjects(t, viewers))
	assert.Equal(t, "rbac.authorization.k8s.io", viewers.Str(t, "subjects.0.apiGroup"))
	assert.Equal(t, "Role", viewers.Str(t, "roleRef.kind"))
	deployers := st.One(t, roleBindingType, foundation.DeployerRoleName)
	assert.Equal(t, []string{"ServiceAccount:ci/pulumi-deployer"}, subjects(t, deployers))

	viewer := st.One(t, roleType, foundation.ViewerRoleName)
	readsPods := false
	for _, rule := range policyRules(t, viewer) {
		assert.NotContains(t, rule.resources, "secrets", "the viewer reads no Secret")
		for _, verb := range rule.verbs {
			assert.Contains(t, []string{"get", "list", "watch"}, verb, "the viewer only reads: %v", rule)
		}
		readsPods = readsPods || slices.Contains(rule.resources, "pods/log")
	}
	assert.True(t, readsPods, "the viewer reads the pods' logs")
}

// The deployer can do in the namespace what `pulumi up` does there: create, change and delete
// every namespaced kind the program declares, in any variant; and, because Kubernetes lets a
// subject grant only rights it holds, it holds every right of every other Role the program
// makes.
func TestDeployerRoleCoversWhatTheProgramDeclaresAndGrants(t *testing.T) {
	for _, v := range rbacVariants() {
		if v.c["access"] != "" {
			deployerCovers(t, v.name, deploy(t, v.env, v.c))
		}
	}
}

// The same for every typical value of every setting (tests/settingcases), with deployers named:
// a setting that adds a kind or a Role (volume snapshots add a CronJob's Role on
// VolumeSnapshots) and a deployer Role that lacks it would fail the deployer's `pulumi up`.
func TestDeployerRoleCoversEverySetting(t *testing.T) {
	deployers := [][2]string{{"access.deployers[0]", "serviceaccount:ci/pulumi-deployer"}}
	for _, c := range settingcases.Cases() {
		if c.Err != "" || strings.HasPrefix(c.Path, "access.deployers") {
			continue
		}
		src := caseSource(t, c, deployers)
		var secrets []string
		for k := range src.Secrets {
			secrets = append(secrets, k)
		}
		deployerCovers(t, c.Name(), deploy(t, c.Environment(), cfg(src.Values), secrets...))
	}
}

// deployerCovers checks the deployer Role of a stack against the stack's other resources.
func deployerCovers(t *testing.T, name string, st *Stack) {
	t.Helper()
	clusterScoped := []string{"Namespace", "StorageClass", "VolumeSnapshotClass", "PriorityClass", "ClusterRole", "ClusterRoleBinding", "APIService",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
	deployer := policyRules(t, st.One(t, roleType, foundation.DeployerRoleName))
	for _, r := range st.Resources {
		group, kind, ok := kubernetesKind(r.Type)
		if !ok || slices.Contains(clusterScoped, kind) {
			continue
		}
		for _, verb := range []string{"get", "create", "patch", "update", "delete"} {
			assert.True(t, allows(deployer, group, plural(kind), verb, ""), "%s: the deployer cannot %s %s (%s)", name, verb, plural(kind), r.Name)
		}
	}
	for _, r := range st.OfType(roleType) {
		if r.Name == foundation.DeployerRoleName {
			continue
		}
		for _, rule := range policyRules(t, r) {
			for _, g := range rule.groups {
				for _, res := range rule.resources {
					for _, verb := range rule.verbs {
						names := rule.names
						if len(names) == 0 {
							names = []string{""}
						}
						for _, n := range names {
							assert.True(t, allows(deployer, g, res, verb, n), "%s: the deployer cannot grant Role %s's %s %s %s", name, r.Name, verb, res, n)
						}
					}
				}
			}
		}
	}
}

// kubernetesKind splits a Kubernetes type token (kubernetes:apps/v1:Deployment) into its API
// group ("" for core) and kind.
func kubernetesKind(typ string) (group, kind string, ok bool) {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" {
		return "", "", false
	}
	group, _, _ = strings.Cut(parts[1], "/")
	if group == "core" {
		group = ""
	}
	// A patch resource (server-side apply to an object made elsewhere) needs the rights on the
	// object it patches.
	return group, strings.TrimSuffix(parts[2], "Patch"), true
}

// plural is a kind's resource name, by Kubernetes' own rule for the kinds the program uses.
func plural(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "y") && !strings.ContainsRune("aeiou", rune(k[len(k)-2])):
		return strings.TrimSuffix(k, "y") + "ies"
	case strings.HasSuffix(k, "s"):
		return k + "es"
	}
	return k + "s"
}

// allows says whether rules allow verb on the named object of resource in group (name "" for
// any object, or none).
func allows(rules []policyRule, group, res, verb, name string) bool {
	for _, r := range rules {
		if slices.Contains(r.groups, group) && slices.Contains(r.resources, res) && slices.Contains(r.verbs, verb) &&
			(len(r.names) == 0 || name != "" && slices.Contains(r.names, name)) {
			return true
		}
	}
	return false
}

// A deployer can run the preflight of its stack: every cluster-scoped object the preflight
// looks up is one the deployer may get, by name, and the preflight ClusterRole grants nothing
// more. Without deployers there is no such ClusterRole.
func TestDeployersMayReadWhatThePreflightReads(t *testing.T) {
	variants := []struct {
		env string
		c   cfg
	}{
		{"dev", cfg{"edge": ingressTLS}},
		{"staging", cfg{"edge": gatewayTLS, "tls": `{"internal": true, "issuer": {"kind": "ClusterIssuer", "name": "internal-ca"}}`}},
		{"prod", cfg{"edge": ingressTLS, "storage": `{"existingClass": "fast-ssd", "modelClassName": "shared-files"}`}},
	}
	for _, v := range variants {
		c := completeCluster()
		v.c["access"] = accessSettings["access"]
		st, err := runOn(c, nil, v.env, v.c)
		require.NoError(t, err, v.env)
		role := st.One(t, clusterRoleType, foundation.DeployerPreflightName)
		var rules []policyRule
		imagePolicy := 0
		for _, r := range policyRules(t, role) {
			if slices.Contains(r.groups, "admissionregistration.k8s.io") && slices.Contains(r.resources, "validatingadmissionpolicies") {
				imagePolicy++
				// The one policy that follows the images settings, and no other.
				assert.Equal(t, []string{"validatingadmissionpolicies"}, r.resources, v.env)
				assert.Equal(t, []string{"pynomaly-data-science.image-sources"}, r.names, v.env)
				assert.Equal(t, []string{"get", "patch", "update"}, r.verbs, v.env)
				continue
			}
			rules = append(rules, r)
		}
		assert.Equal(t, 1, imagePolicy, "%s: deployers may change the image policy", v.env)
		var objects int
		for _, asked := range c.asked {
			parts := strings.Fields(asked) // "group/version resource namespace/name"
			if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
				continue // an API, the version, or a namespaced object (the namespace Role covers those)
			}
			group, _, found := strings.Cut(parts[0], "/")
			if !found {
				group = ""
			}
			objects++
			assert.True(t, allows(rules, group, parts[1], "get", strings.TrimPrefix(parts[2], "/")), "%s: a deployer cannot get %s", v.env, asked)
		}
		assert.Positive(t, objects, "%s: the variant names cluster-scoped objects", v.env)
		assert.Equal(t, objects, len(rules), "%s: one rule per object the preflight reads", v.env)
		for _, rule := range rules {
			assert.Equal(t, []string{"get"}, rule.verbs, "%s: the preflight only gets", v.env)
			assert.Len(t, rule.names, 1, "%s: by name", v.env)
		}
		binding := st.One(t, clusterRoleBindingType, foundation.DeployerPreflightName)
		assert.Equal(t, []string{"ServiceAccount:ci/pulumi-deployer"}, subjects(t, binding), v.env)
	}
	for _, r := range deploy(t, "prod", cfg{"edge": ingressTLS}).OfType(clusterRoleType) {
		assert.NotEqual(t, foundation.DeployerPreflightName, r.Name, "no preflight role without deployers")
	}
}
