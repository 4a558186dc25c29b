package platform

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/edge"
	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/internal/preflight"
	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// MinKubernetes is the oldest Kubernetes the program's objects work on: StatefulSet claim
// retention (persistentVolumeClaimRetentionPolicy, on by default since 1.27), CronJob time zones
// (GA in 1.27) and the preStop sleep action of the API, the pooler and Nginx (on by default
// since 1.30; an older API server drops the field and refuses the hook without a handler).
const MinKubernetes = "1.30"

// Connect reaches the cluster of the stack's Kubernetes settings. main.go's Program uses
// preflight.Connect; the mocked-engine tests pass a fake cluster.
type Connect func(config.Kubernetes) (preflight.Cluster, error)

// ConnectCluster is the real cluster, reached with the kubeconfig and context the provider uses.
func ConnectCluster(k config.Kubernetes) (preflight.Cluster, error) {
	return preflight.Connect(k.Kubeconfig, k.Context)
}

// checkCluster runs the preflight: nothing when manifests are rendered (there is no cluster) or
// every check is skipped; otherwise one error line per missing piece, and per claim template
// smaller than a claim made from it, before anything is declared.
func checkCluster(s *config.Settings, stack string, connect Connect) error {
	reqs := requirements(s, stack)
	if s.Kubernetes.RenderYamlToDirectory != "" || len(reqs) == 0 && s.Kubernetes.Skips(preflight.ShrinkCheck) {
		return nil
	}
	cluster, err := connect(s.Kubernetes)
	if err != nil {
		return fmt.Errorf("cluster preflight: %w (kubernetes.skipPreflight all skips the checks)", err)
	}
	missing, err := preflight.Run(cluster, reqs)
	if err != nil {
		return fmt.Errorf("%w (kubernetes.skipPreflight all skips the checks)", err)
	}
	if len(missing) > 0 {
		missing = append(missing, "(kubernetes.skipPreflight names checks to skip, for a cluster that provides a piece in a way they cannot see)")
	}
	if !s.Kubernetes.Skips(preflight.ShrinkCheck) {
		shrinks, err := preflight.Shrinks(cluster, s.Namespace, claimTemplates(s))
		if err != nil {
			return fmt.Errorf("%w (kubernetes.skipPreflight all skips the checks)", err)
		}
		missing = append(missing, shrinks...)
	}
	if len(missing) == 0 {
		return nil
	}
	return errors.New(strings.Join(missing, "\n"))
}

// claimTemplates are the StatefulSets' claim templates the settings declare, and the claims of
// their own, with the key that sizes each: the program grows them, and refuses to shrink them.
func claimTemplates(s *config.Settings) []preflight.ClaimTemplate {
	data := tier.DataClaimTemplate
	all := []preflight.ClaimTemplate{
		{Key: "postgres.storageSize", Size: s.Postgres.StorageSize, Set: postgres.Name, Template: postgres.ClaimTemplate},
		{Key: "redisQueue.storageSize", Size: s.RedisQueue.StorageSize, Set: redis.QueueService, Template: data},
		{Key: "redisCache.storageSize", Size: s.RedisCache.StorageSize, Set: redis.CacheService, Template: data},
		{Key: "influxdb.storageSize", Size: s.InfluxDB.StorageSize, Set: influxdb.ServiceName, Template: data},
		{Key: "storage.backupSize", Size: s.Storage.BackupSize, Template: foundation.BackupClaimName},
		{Key: "storage.modelSize", Size: s.Storage.ModelSize, Template: foundation.ModelClaimName},
	}
	if s.Bundled() {
		all = append(all, preflight.ClaimTemplate{Key: "prometheus.storageSize", Size: s.Prometheus.StorageSize, Set: monitoring.PrometheusName, Template: data})
		if s.Monitoring.Alerting() {
			all = append(all, preflight.ClaimTemplate{Key: "alertmanager.storageSize", Size: s.Alertmanager.StorageSize, Set: monitoring.AlertmanagerName, Template: data})
		}
	}
	var out []preflight.ClaimTemplate
	for _, t := range all {
		if t.Size != "" { // no claims (a cache without persistence)
			out = append(out, t)
		}
	}
	return out
}

// requirements are what the stack's settings need from its cluster, less the skipped checks.
func requirements(s *config.Settings, stack string) []preflight.Requirement {
	var reqs []preflight.Requirement
	add := func(r preflight.Requirement) {
		if s.Kubernetes.Skips(r.Check) {
			return
		}
		// One API needed by two settings is one check naming both.
		for i, o := range reqs {
			if o.Check == r.Check && o.GroupVersion == r.GroupVersion && o.Resource == r.Resource && o.Name == r.Name && o.Namespace == r.Namespace {
				reqs[i].Why += " and " + r.Why
				return
			}
		}
		reqs = append(reqs, r)
	}
	add(preflight.Requirement{Check: "kubernetes-version", MinVersion: MinKubernetes,
		Why: "the StatefulSets' claim retention and the backup CronJob's time zone",
		Fix: "Upgrade the cluster."})
	add(preflight.Requirement{Check: "metrics-api", GroupVersion: "metrics.k8s.io/v1beta1", Resource: "pods",
		Why: "the API and worker HorizontalPodAutoscalers (CPU and memory)",
		Fix: "Install metrics-server (or another provider of metrics.k8s.io)."})
	if s.Worker.QueueScaling.Enabled && !s.Bundled() {
		add(preflight.Requirement{Check: "external-metrics-api", GroupVersion: "external.metrics.k8s.io/v1beta1",
			Resource: s.Worker.QueueScaling.MetricName,
			Why:      "worker.queueScaling (the worker HPA scales on the queue's depth)",
			Fix:      "Install prometheus-adapter or KEDA serving that external metric, or set worker.queueScaling.enabled false."})
	}
	if s.Worker.QueueScaling.Enabled && s.Bundled() {
		add(externalMetricsHolder(s.Namespace))
	}
	ownObjectRequirements(s, stack, add)
	edgeRequirements(s, add)
	internalTLSRequirements(s, add)
	storageRequirements(s, add)
	for _, api := range monitoring.APIs(!s.Bundled()) {
		add(apiRequirement("prometheus-operator", api, "monitoringMode operator"))
	}
	if w := s.Postgres.WALArchive; w.On() && w.CredentialsSecret != "" {
		add(preflight.Requirement{Check: "wal-archive-secret", GroupVersion: "v1", Resource: "secrets",
			Namespace: s.Namespace, Name: w.CredentialsSecret,
			Why: "postgres.walArchive.credentialsSecret",
			Fix: "Create it in the namespace with " + strings.Join(tier.StoreCredentialKeys[w.Store()], " and ") + " before the first deployment."})
	}
	schedulingRequirements(s, add)
	externalSecretsRequirements(s, add)
	if webhook := s.Kubernetes.Cloud.Preset().IdentityWebhook; webhook != "" && s.Identity.ObjectStorage != "" {
		add(preflight.Requirement{Check: "workload-identity", GroupVersion: "admissionregistration.k8s.io/v1", Resource: "mutatingwebhookconfigurations",
			Name: webhook, Why: "identity.objectStorage (kubernetes.cloud " + string(s.Kubernetes.Cloud) + ")",
			Fix: "Enable the cluster's workload identity (docs/clouds/" + string(s.Kubernetes.Cloud) + ".md): without its webhook the pods get no token and WAL-G cannot log in."})
	}
	return reqs
}

// externalSecretsRequirements: with a credential from a secret manager, the External Secrets
// Operator's API and the store the settings name; without them the first ExternalSecret would
// wait for ever, with every consumer behind it.
func externalSecretsRequirements(s *config.Settings, add func(preflight.Requirement)) {
	if !s.Secrets.AnyExternal() {
		return
	}
	const why = "secrets.source external (or an external secrets.sources entry)"
	add(apiRequirement("external-secrets", credentials.ExternalSecretsAPI, why))
	e := s.Secrets.External
	store := preflight.Requirement{Check: "secret-store", GroupVersion: credentials.ExternalSecretsAPI.GroupVersion,
		Resource: strings.ToLower(e.StoreKind) + "s", Name: e.StoreName, Why: "secrets.external.storeName",
		Fix: "Create the " + e.StoreKind + " for your secret manager (docs/security.md#credentials-from-a-secret-manager), or name the cluster's."}
	if e.StoreKind == "SecretStore" {
		store.Namespace = s.Namespace
	}
	add(store)
}

// schedulingRequirements: what pods name and the program does not create, the image pull
// Secrets and PriorityClasses; a pod naming a missing class is refused, and one naming a
// missing pull Secret cannot pull from a registry that needs it.
func schedulingRequirements(s *config.Settings, add func(preflight.Requirement)) {
	for i, name := range s.Images.PullSecrets {
		add(preflight.Requirement{Check: "image-pull-secret", GroupVersion: "v1", Resource: "secrets",
			Namespace: s.Namespace, Name: name, Why: fmt.Sprintf("images.pullSecrets[%d]", i),
			Fix: "Create it in the namespace (kubectl create secret docker-registry) before the first deployment."})
	}
	names := s.PriorityClasses.Names
	for _, component := range slices.Sorted(maps.Keys(names)) {
		add(preflight.Requirement{Check: "priority-class", GroupVersion: "scheduling.k8s.io/v1", Resource: "priorityclasses",
			Name: names[component], Why: "priorityClasses.names." + component,
			Fix: "Create the PriorityClass, or name one the cluster has (kubectl get priorityclasses)."})
	}
}

// externalMetricsHolder is the cluster's one external metrics API, which the bundled metrics
// adapter registers: another stack's adapter, KEDA or prometheus-adapter may hold it already, and
// the stack would then fail half-way through its first update on the APIService.
func externalMetricsHolder(namespace string) preflight.Requirement {
	return preflight.Requirement{Check: "external-metrics-holder",
		GroupVersion: "apiregistration.k8s.io/v1", Resource: "apiservices", Name: monitoring.ExternalMetricsAPI,
		HeldBy: func(o map[string]any) string {
			ns, svc := preflight.Field(o, "spec", "service", "namespace"), preflight.Field(o, "spec", "service", "name")
			if ns == namespace && svc == monitoring.MetricsAdapterName {
				return ""
			}
			if ns == "" {
				return "the API server itself"
			}
			return fmt.Sprintf("the Service %s/%s", ns, svc)
		},
		Why: "worker.queueScaling (the bundled metrics adapter serves the queue's depth)",
		Fix: "Set worker.queueScaling.enabled false in this stack (its workers then scale on CPU and memory), or use monitoringMode operator with the server that holds it."}
}

// ownObjectRequirements: the cluster-scoped objects of fixed name the stack creates (its
// namespace, its StorageClass) are absent or its own. Another stack's would be taken over, since
// the provider (4.25) creates by server-side apply, updating what is there: a second stack with
// the same namespace would share it and delete it on its teardown, and one with the same class
// but another reclaim policy would fail half-way through its first update. (Providers from 4.29
// refuse the create, as half-way.)
func ownObjectRequirements(s *config.Settings, stack string, add func(preflight.Requirement)) {
	held := func(o map[string]any) string {
		switch other := preflight.Field(o, "metadata", "labels", kube.InstanceLabel); other {
		case kube.Instance(stack):
			return ""
		case "":
			return "something other than a stack of this program (it has no " + kube.InstanceLabel + " label)"
		default:
			return fmt.Sprintf("another stack (%s=%s)", kube.InstanceLabel, other)
		}
	}
	add(preflight.Requirement{Check: "stack-collision", GroupVersion: "v1", Resource: "namespaces", Name: s.Namespace, HeldBy: held,
		Why: "this stack (its namespace setting)",
		Fix: "Give this stack a namespace of its own (pulumi config set namespace NAME) and a StorageClass name of its own (storage.className), or deploy it to another cluster."})
	if s.Storage.ExistingClass == "" {
		add(preflight.Requirement{Check: "stack-collision", GroupVersion: "storage.k8s.io/v1", Resource: "storageclasses", Name: s.Storage.ClassName, HeldBy: held,
			Why: "this stack (storage.className, the class it creates)",
			Fix: "Give this stack a StorageClass name of its own (pulumi config set --path storage.className NAME), or use that class as it is (storage.existingClass)."})
	}
}

// preflightReads are the named cluster-scoped objects the stack's preflight gets: what a
// deployer needs beyond the namespace to preview the stack.
func preflightReads(s *config.Settings) []foundation.ClusterObject {
	var reads []foundation.ClusterObject
	for _, r := range requirements(s, "") { // names only: the stack does not matter
		if r.Name == "" || r.Namespace != "" {
			continue
		}
		group, _, found := strings.Cut(r.GroupVersion, "/")
		if !found {
			group = "" // the core group: "v1"
		}
		reads = append(reads, foundation.ClusterObject{Group: group, Resource: r.Resource, Name: r.Name})
	}
	return reads
}

func apiRequirement(check string, api tier.ClusterAPI, why string) preflight.Requirement {
	return preflight.Requirement{Check: check, GroupVersion: api.GroupVersion, Resource: api.Resource,
		Why: why, Fix: "Install " + api.Project + "'s CustomResourceDefinitions."}
}

// edgeRequirements: the entry point's class, its APIs, and an issuer the program does not create.
func edgeRequirements(s *config.Settings, add func(preflight.Requirement)) {
	e := s.Edge
	for _, api := range edge.APIs(e) {
		check, why := "gateway-api", "edge.entry gateway"
		if strings.HasPrefix(api.GroupVersion, "cert-manager.io/") {
			check, why = "cert-manager", "edge.tls"
		}
		add(apiRequirement(check, api, why))
	}
	switch e.Entry {
	case config.EntryIngress:
		if e.Ingress.ClassName != "" {
			add(preflight.Requirement{Check: "ingress-class", GroupVersion: "networking.k8s.io/v1", Resource: "ingressclasses",
				Name: e.Ingress.ClassName, Why: "edge.ingress.className",
				Fix: "Install the ingress controller of that class, or name the cluster's class."})
		}
	case config.EntryGateway:
		add(preflight.Requirement{Check: "gateway-class", GroupVersion: "gateway.networking.k8s.io/v1", Resource: "gatewayclasses",
			Name: e.Gateway.ClassName, Why: "edge.gateway.className",
			Fix: "Install the Gateway implementation (" + e.Gateway.Implementation + "), or name the cluster's GatewayClass."})
	}
	if is := e.TLS.Issuer; e.TLSOn() && is.Create == "" {
		add(issuerRequirement(s.Namespace, is.Kind, is.Name, "edge.tls.issuer",
			"Create the issuer, or let the program create one (edge.tls.issuer.create)."))
	}
}

// issuerRequirement is an existing cert-manager Issuer (in the namespace) or ClusterIssuer.
func issuerRequirement(namespace, kind, name, why, fix string) preflight.Requirement {
	r := preflight.Requirement{Check: "tls-issuer", GroupVersion: "cert-manager.io/v1", Resource: "clusterissuers",
		Name: name, Why: why, Fix: fix}
	if kind == "Issuer" {
		r.Resource, r.Namespace = "issuers", namespace
	}
	return r
}

// internalTLSRequirements: cert-manager, and the issuer the settings name, for tls.internal.
func internalTLSRequirements(s *config.Settings, add func(preflight.Requirement)) {
	for _, api := range foundation.InternalTLSAPIs(s.TLS) {
		add(apiRequirement("cert-manager", api, "tls.internal"))
	}
	if is := s.TLS.Issuer; s.TLS.Internal && is.Name != "" {
		add(issuerRequirement(s.Namespace, is.Kind, is.Name, "tls.issuer",
			"Create the issuer, or leave tls.issuer.name empty for the program's own CA."))
	}
}

// storageRequirements: classes the settings name and the program does not create.
func storageRequirements(s *config.Settings, add func(preflight.Requirement)) {
	for _, c := range []struct{ key, name string }{
		{"storage.existingClass", s.Storage.ExistingClass},
		{"storage.modelClassName", s.Storage.ModelClassName},
	} {
		if c.name == "" || c.name == s.Storage.ClassName && s.Storage.ExistingClass == "" {
			continue // none named, or the class this program creates
		}
		add(preflight.Requirement{Check: "storage-class", GroupVersion: "storage.k8s.io/v1", Resource: "storageclasses",
			Name: c.name, Why: c.key, Fix: "Create the StorageClass, or name one the cluster has."})
	}
	if sn := s.Storage.Snapshots; sn.On() {
		add(preflight.Requirement{Check: "volume-snapshots", GroupVersion: "snapshot.storage.k8s.io/v1", Resource: "volumesnapshots",
			Why: "storage.snapshots",
			Fix: "Install the CSI snapshot controller and its CustomResourceDefinitions (kubernetes-csi/external-snapshotter), " +
				"or turn snapshots off (storage.snapshots.createClass false, storage.snapshots.className empty)."})
		class := preflight.Requirement{Check: "volume-snapshot-class", GroupVersion: "snapshot.storage.k8s.io/v1", Resource: "volumesnapshotclasses",
			Name: sn.ClassName, Why: "storage.snapshots.className",
			Fix: "Create the VolumeSnapshotClass of the storage class's CSI driver, or name one the cluster has."}
		if sn.Created != "" {
			// The stack creates the class: only its API must be served.
			class.Name, class.Why = "", "storage.snapshots.createClass"
			class.Fix = "Install the CSI snapshot controller's CustomResourceDefinitions (kubernetes-csi/external-snapshotter)."
		}
		add(class)
	}
}
