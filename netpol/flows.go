package netpol

import (
	"fmt"
	"strings"
)

// The flows of the namespace: every pod is denied all traffic in and out, and then allowed
// exactly these. A flow names its ends by component (the pods' component label) or by a peer
// outside the namespace's workloads, and its port by name: the security tier looks the
// selectors and port numbers up in the workloads the tiers declared, so nothing here repeats
// them. A flow whose ends or port a stack does not have (no Sentinel with one Redis replica, no
// Alertmanager at the basic level, no object store without WAL archiving) allows nothing.

// Ends of flows that are not one component.
const (
	// EveryPod is every pod of the namespace, those of workloads declared later included.
	EveryPod = "(every pod)"
	// EveryMetricsPort is every workload's metrics port (kube.Workload.Metrics).
	EveryMetricsPort = "(every metrics port)"
	// PeerEntry is the pods of the entry point's namespace (network.entryNamespace), when
	// edge.entry brings traffic from outside.
	PeerEntry = "entry-point"
	// PeerClusterDNS is the cluster's DNS: kube-system's pods labelled k8s-app=kube-dns, the label
	// CoreDNS keeps for compatibility on kubeadm, EKS, GKE and AKS alike.
	PeerClusterDNS = "cluster-dns"
	// PeerKubernetesAPI is the API server's endpoints (network.kubernetesApi).
	PeerKubernetesAPI = "kubernetes-api"
	// PeerKubelets is every node's kubelet (network.nodeCidrs).
	PeerKubelets = "kubelets"
	// PeerObjectStorage is WAL-G's object store (network.objectStorageCidrs).
	PeerObjectStorage = "object-storage"
	// PeerMetadataServer is the node's metadata server, which issues a pod's cloud token under GKE
	// Workload Identity (kubernetes.cloud gcp with identity.objectStorage): the link-local
	// addresses the GKE metadata server answers on (MetadataServerCIDRs).
	PeerMetadataServer = "metadata-server"
	// PeerAlertReceivers is where Alertmanager sends notifications: Slack, PagerDuty and the
	// e-mail smarthost, whose addresses are not known (any address, on their ports only).
	PeerAlertReceivers = "alert-receivers"
	// PeerCertManager is cert-manager's controller, whose metrics carry the certificates' expiry.
	PeerCertManager = "cert-manager"
	// PeerACMESolver is cert-manager's HTTP-01 solver pods, which it starts in the namespace
	// while an ACME order waits for its challenge.
	PeerACMESolver = "acme-solver"
	// PeerNodeExporter is node-exporter on every node (network.nodeCidrs): it shares the node's
	// network, so no pod selector finds it.
	PeerNodeExporter = "node-exporter"
	// PeerExternalLogs is the external log store (logging.mode external), at any address on its
	// port.
	PeerExternalLogs = "external-log-store"
	// PeerGrafanaPlugins is where Grafana downloads the logs datasource's plugin at its start
	// (network.grafanaPluginCidrs).
	PeerGrafanaPlugins = "grafana-plugins"
	// PeerDebugClient is a person's troubleshooting pod in the namespace, labelled
	// DebugClientLabel=true, with network.debugClients on.
	PeerDebugClient = "debug-client"
)

// Flow allows From to open connections to To's port Port (named), over TCP and, with UDP, UDP.
type Flow struct {
	From, To string
	Port     string
	UDP      bool
	Why      string
}

// NetworkFlows is the table, in the order docs/security.md shows it.
func NetworkFlows() []Flow {
	flows := []Flow{
		{From: EveryPod, To: PeerClusterDNS, Port: "dns", UDP: true, Why: "name resolution"},
		{From: PeerEntry, To: "nginx", Port: "http", Why: "clients, through the Ingress controller or the Gateway"},
		{From: PeerEntry, To: PeerACMESolver, Port: "http", Why: "ACME HTTP-01 challenges of the certificate, while one is pending"},
		{From: "nginx", To: "api", Port: "http", Why: "the proxied API"},
		{From: "nginx", To: "grafana", Port: "http", Why: "Grafana, at its public host (grafana.host)"},
	}
	// The application's pods share their configuration; the migration's init containers wait
	// for the pooler and both Redis roles as the API's and the workers' do.
	for _, app := range []string{"api", "worker", "migrate"} {
		flows = append(flows,
			Flow{From: app, To: "pooler", Port: "postgresql", Why: "PostgreSQL through PgBouncer"},
			Flow{From: app, To: "redis-queue", Port: "redis", Why: "the task queue"},
			Flow{From: app, To: "redis-queue", Port: "sentinel", Why: "the task queue's current primary"},
			Flow{From: app, To: "redis-cache", Port: "redis", Why: "cache and sessions"},
			Flow{From: app, To: "redis-cache", Port: "sentinel", Why: "the cache's current primary"},
			Flow{From: app, To: "influxdb", Port: "http", Why: "time series"},
		)
	}
	return append(flows,
		Flow{From: "migrate", To: "postgres", Port: "postgresql", Why: "migrations run DDL on the primary, past the transaction pooler"},
		Flow{From: "pooler", To: "postgres", Port: "postgresql", Why: "the pooler's server connections to the primary"},
		Flow{From: "postgres", To: "postgres", Port: "postgresql", Why: "streaming replication, pg_rewind, a new replica's base backup"},
		Flow{From: "postgres", To: "postgres", Port: "patroni", Why: "Patroni members read each other's state"},
		Flow{From: "postgres", To: PeerKubernetesAPI, Port: "https", Why: "Patroni's leader lock and configuration (ConfigMaps, pod labels)"},
		Flow{From: "postgres", To: PeerObjectStorage, Port: "https", Why: "WAL-G: every WAL segment and the base backups"},
		Flow{From: "postgres-setup", To: "postgres", Port: "postgresql", Why: "the application's role and database"},
		Flow{From: "postgres-setup", To: "postgres", Port: "patroni", Why: "the tuning, as Patroni's dynamic configuration"},
		Flow{From: "postgres-backup", To: "postgres", Port: "postgresql", Why: "the daily pg_dump"},
		Flow{From: "postgres-backup", To: PeerObjectStorage, Port: "https", Why: "the dump copied off the cluster, next to the WAL archive"},
		Flow{From: "postgres", To: PeerMetadataServer, Port: "metadata", Why: "GKE Workload Identity: WAL-G's Google token"},
		Flow{From: "postgres-backup", To: PeerMetadataServer, Port: "metadata", Why: "GKE Workload Identity: the dump copy's Google token"},
		Flow{From: "volume-snapshots", To: PeerKubernetesAPI, Port: "https", Why: "takes the scheduled VolumeSnapshots of the claims and deletes those past their retention"},
		Flow{From: "postgres-retire", To: PeerKubernetesAPI, Port: "https", Why: "a rotation's end waits for the pods holding the previous login to be gone"},
		Flow{From: "postgres-retire", To: "postgres", Port: "postgresql", Why: "a rotation's end: the previous login loses its password"},
		Flow{From: "redis-retire", To: PeerKubernetesAPI, Port: "https", Why: "a rotation's end waits for the pods holding the previous password to be gone"},
		Flow{From: "redis-retire", To: "redis-queue", Port: "redis", Why: "the users settle, a rotation ends: only the new password, on every pod"},
		Flow{From: "redis-retire", To: "redis-queue", Port: "sentinel", Why: "the users settle, a rotation ends: the Sentinels too"},
		Flow{From: "redis-retire", To: "redis-cache", Port: "redis", Why: "the users settle, a rotation ends: only the new password, on every pod"},
		Flow{From: "redis-retire", To: "redis-cache", Port: "sentinel", Why: "the users settle, a rotation ends: the Sentinels too"},
		Flow{From: "redis-queue", To: "redis-queue", Port: "redis", Why: "replication; Sentinels watch every instance"},
		Flow{From: "redis-queue", To: "redis-queue", Port: "sentinel", Why: "Sentinels among themselves; a starting pod asks them for the primary"},
		Flow{From: "redis-cache", To: "redis-cache", Port: "redis", Why: "replication; Sentinels watch every instance"},
		Flow{From: "redis-cache", To: "redis-cache", Port: "sentinel", Why: "Sentinels among themselves; a starting pod asks them for the primary"},
		Flow{From: "influxdb-setup", To: "influxdb", Port: "http", Why: "buckets, retention and the downsampling task"},
		Flow{From: "influxdb-setup", To: PeerKubernetesAPI, Port: "https", Why: "writes the application's own InfluxDB token into its Secret"},
		Flow{From: "influxdb-backup", To: "influxdb", Port: "http", Why: "the daily influx backup"},
		Flow{From: "influxdb-backup", To: PeerObjectStorage, Port: "https", Why: "the InfluxDB backup copied off the cluster"},
		Flow{From: "influxdb-backup", To: PeerMetadataServer, Port: "metadata", Why: "GKE Workload Identity: the InfluxDB backup copy's Google token"},
		Flow{From: "models-backup", To: PeerObjectStorage, Port: "https", Why: "the shared model files copied off the cluster"},
		Flow{From: "models-backup", To: PeerMetadataServer, Port: "metadata", Why: "GKE Workload Identity: the model copy's Google token"},
		Flow{From: "prometheus", To: EveryMetricsPort, Why: "scrapes (the cluster's Prometheus in monitoringMode operator)"},
		Flow{From: "prometheus", To: PeerKubernetesAPI, Port: "https", Why: "discovers the pods and nodes it scrapes; the API server's metrics"},
		Flow{From: "prometheus", To: PeerKubelets, Port: "kubelet", Why: "kubelet and cAdvisor metrics"},
		Flow{From: "prometheus", To: "alertmanager", Port: "http", Why: "alerts, to every member"},
		Flow{From: "alertmanager", To: "alertmanager", Port: "cluster", UDP: true, Why: "members share silences and notifications"},
		Flow{From: "alertmanager", To: PeerAlertReceivers, Port: "https", Why: "Slack and PagerDuty"},
		Flow{From: "alertmanager", To: PeerAlertReceivers, Port: "smtp", Why: "e-mail, through the smarthost"},
		Flow{From: "prometheus", To: PeerNodeExporter, Port: "metrics", Why: "node metrics, on every node's address (node-exporter shares the node's network)"},
		Flow{From: "log-collector", To: "logs", Port: "http", Why: "the platform's container logs, to the bundled store (from the node agents' namespace)"},
		Flow{From: "log-collector", To: PeerExternalLogs, Port: "logs", Why: "the platform's container logs, to the external store (logging.mode external)"},
		Flow{From: "log-collector", To: PeerKubernetesAPI, Port: "https", Why: "the pods' app and component labels, which each line carries"},
		Flow{From: "grafana", To: "logs", Port: "http", Why: "the logs datasource"},
		Flow{From: "grafana", To: PeerGrafanaPlugins, Port: "https", Why: "the logs datasource's plugin, downloaded at Grafana's start (network.grafanaPluginCidrs)"},
		Flow{From: "grafana", To: "prometheus", Port: "http", Why: "dashboards"},
		Flow{From: "grafana", To: "influxdb", Port: "http", Why: "the application's time series"},
		Flow{From: "kube-state-metrics", To: PeerKubernetesAPI, Port: "https", Why: "watches the namespace's objects"},
		Flow{From: "prometheus", To: PeerCertManager, Port: "metrics", Why: "the certificate's expiry (cert-manager's metrics)"},
		Flow{From: PeerKubernetesAPI, To: "metrics-adapter", Port: "https", Why: "the API server forwards the worker HPA's external-metrics requests to the adapter"},
		Flow{From: "metrics-adapter", To: PeerKubernetesAPI, Port: "https", Why: "reviews the API server's callers (token and access reviews)"},
		Flow{From: "metrics-adapter", To: "prometheus", Port: "http", Why: "the queue depth it serves as an external metric"},
		Flow{From: PeerDebugClient, To: "pooler", Port: "postgresql", Why: "troubleshooting: psql through the pooler (network.debugClients)"},
		Flow{From: PeerDebugClient, To: "postgres", Port: "postgresql", Why: "troubleshooting: psql to the primary, as the seed's debug pod does"},
		Flow{From: PeerDebugClient, To: "redis-queue", Port: "redis", Why: "troubleshooting: redis-cli"},
		Flow{From: PeerDebugClient, To: "redis-queue", Port: "sentinel", Why: "troubleshooting: the current primary"},
		Flow{From: PeerDebugClient, To: "redis-cache", Port: "redis", Why: "troubleshooting: redis-cli"},
		Flow{From: PeerDebugClient, To: "redis-cache", Port: "sentinel", Why: "troubleshooting: the current primary"},
	)
}

// FlowTableMarkdown is the table as docs/security.md shows it.
func FlowTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| from | to | port | why |\n|---|---|---|---|\n")
	for _, f := range NetworkFlows() {
		port := "`" + f.Port + "`"
		if f.Port == "" {
			port = "its metrics port"
		}
		if f.UDP {
			port += " (TCP and UDP)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", flowEnd(f.From), flowEnd(f.To), port, f.Why)
	}
	return b.String()
}

func flowEnd(name string) string {
	if strings.HasPrefix(name, "(") {
		return strings.Trim(name, "()")
	}
	return "`" + name + "`"
}
