package config

import (
	"maps"
	"slices"
)

// Cloud is the provider a stack's cluster runs on (kubernetes.cloud). It picks the defaults that
// differ between clouds (CloudPreset); every one of them stays a setting of its own that a stack
// may override.
type Cloud string

// The clouds with a preset. Other: a cluster anywhere else, where the stack names the storage
// driver, the object store and the identity annotation itself.
const (
	CloudAWS   Cloud = "aws"
	CloudGCP   Cloud = "gcp"
	CloudAzure Cloud = "azure"
	CloudOther Cloud = "other"
)

// Clouds lists kubernetes.cloud's values.
var Clouds = []Cloud{CloudAWS, CloudGCP, CloudAzure, CloudOther}

// The object stores WAL-G writes to, each named by its own postgres.walArchive field.
const (
	StoreS3    = "s3"
	StoreGCS   = "gcs"
	StoreAzure = "azure"
)

// CloudPreset is what kubernetes.cloud picks. Each field fills the setting named beside it when
// the stack leaves that setting empty (ApplyCloud).
type CloudPreset struct {
	// Provisioner and Parameters: storage.provisioner and storage.parameters, an encrypted SSD.
	Provisioner string
	Parameters  map[string]string
	// SnapshotDriver: storage.snapshots.driver, the CSI driver of the VolumeSnapshotClass the
	// stack creates.
	SnapshotDriver string
	// IdentityAnnotation: identity.annotationKey, the ServiceAccount annotation that binds a
	// Kubernetes account to the cloud identity (IRSA, GKE Workload Identity); "" where WAL-G
	// cannot use the cloud's workload identity (Azure: validateIdentity says why).
	IdentityAnnotation string
	// IdentityAccountAnnotations are further annotations of those accounts (IRSA: the regional
	// STS endpoint, which an interface endpoint in the VPC serves).
	IdentityAccountAnnotations map[string]string
	// IdentityWebhook is the MutatingWebhookConfiguration that projects the identity's token
	// into the pods (EKS's pod identity webhook); "" where the cloud needs none (GKE's metadata
	// server serves the token).
	IdentityWebhook string
	// ObjectStore is the cloud's own store: the one postgres.walArchive names in prod unless the
	// stack chose another (an S3-compatible store anywhere, say).
	ObjectStore string
	// LoadBalancerAnnotations: edge.gateway.loadBalancerAnnotations, the annotations of the
	// Gateway's load balancer Service (Gateway API infrastructure annotations).
	LoadBalancerAnnotations map[string]string
}

// cloudPresets are the presets, by cloud. Other has none: its stack names what it needs, and
// validation says which settings those are.
var cloudPresets = map[Cloud]CloudPreset{
	CloudAWS: {
		Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"type": "gp3", "encrypted": "true"},
		SnapshotDriver:             "ebs.csi.aws.com",
		IdentityAnnotation:         "eks.amazonaws.com/role-arn",
		IdentityAccountAnnotations: map[string]string{"eks.amazonaws.com/sts-regional-endpoints": "true"},
		IdentityWebhook:            "pod-identity-webhook",
		ObjectStore:                StoreS3,
		// The AWS Load Balancer Controller's network load balancer, straight to the pods, keeping
		// the client's address (IP targets over TCP drop it by default, and the per-client rate
		// limit would then count every client as the load balancer).
		LoadBalancerAnnotations: map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":                    "external",
			"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type":         "ip",
			"service.beta.kubernetes.io/aws-load-balancer-scheme":                  "internet-facing",
			"service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": "preserve_client_ip.enabled=true",
		},
	},
	CloudGCP: {
		// Persistent disks are encrypted at rest by Google in every case.
		Provisioner: "pd.csi.storage.gke.io", Parameters: map[string]string{"type": "pd-ssd"},
		SnapshotDriver:     "pd.csi.storage.gke.io",
		IdentityAnnotation: "iam.gke.io/gcp-service-account",
		ObjectStore:        StoreGCS,
		// A backend-service-based external passthrough network load balancer.
		LoadBalancerAnnotations: map[string]string{"cloud.google.com/l4-rbs": "enabled"},
	},
	CloudAzure: {
		// Managed disks are encrypted at rest by Azure in every case.
		Provisioner: "disk.csi.azure.com", Parameters: map[string]string{"skuName": "Premium_LRS"},
		SnapshotDriver: "disk.csi.azure.com",
		// No workload identity: Spilo hands WAL-G an account key, a SAS token or a service
		// principal's secret, never the federated token Azure Workload Identity projects.
		ObjectStore: StoreAzure,
		// None: Azure's load balancer probes the Service's health check node port (traffic policy
		// Local, Envoy Gateway's default), which the node's service proxy answers.
		LoadBalancerAnnotations: map[string]string{},
	},
}

// Preset is the cloud's preset; the zero preset for other (or an unknown cloud).
func (c Cloud) Preset() CloudPreset { return cloudPresets[c] }

// ApplyCloud fills the settings the stack left empty from kubernetes.cloud's preset. The
// storage class's parameters come with its provisioner: a stack that names its own driver gets
// no parameters meant for another.
func (s *Settings) ApplyCloud() {
	p := s.Kubernetes.Cloud.Preset()
	if s.Storage.Provisioner == "" {
		s.Storage.Provisioner = p.Provisioner
	}
	// The cloud's parameters go with the cloud's driver only (a stack that named that driver
	// before presets existed keeps its encrypted gp3 class as it was).
	if s.Storage.Parameters == nil && s.Storage.Provisioner == p.Provisioner {
		s.Storage.Parameters = maps.Clone(p.Parameters)
	}
	if s.Storage.Parameters == nil {
		s.Storage.Parameters = map[string]string{}
	}
	// Snapshots are taken by the driver of the class the stack creates; of an existing class,
	// the cloud's.
	if s.Storage.ExistingClass == "" {
		fill(&s.Storage.Snapshots.Driver, s.Storage.Provisioner)
	}
	fill(&s.Storage.Snapshots.Driver, p.SnapshotDriver)
	if sn := &s.Storage.Snapshots; sn.CreateClass && sn.ClassName == "" {
		// Cluster-wide, so named after the namespace: two stacks never share one.
		sn.ClassName, sn.Created = s.Namespace+"-snapshots", s.Namespace+"-snapshots"
	}
	fill(&s.Identity.AnnotationKey, p.IdentityAnnotation)
	if s.Identity.PodLabels == nil {
		s.Identity.PodLabels = map[string]string{}
	}
	if s.Edge.Gateway.LoadBalancerAnnotations == nil {
		s.Edge.Gateway.LoadBalancerAnnotations = maps.Clone(p.LoadBalancerAnnotations)
	}
	if s.Edge.Gateway.LoadBalancerAnnotations == nil {
		s.Edge.Gateway.LoadBalancerAnnotations = map[string]string{}
	}
}

// fill is how a preset yields to the stack: only an empty setting takes its value.
func fill(dst *string, value string) {
	if *dst == "" {
		*dst = value
	}
}

// Identity binds the pods that read and write object storage (ObjectStorageComponents) to a
// cloud identity through their ServiceAccounts: IRSA on EKS, Workload Identity on GKE (on AKS
// WAL-G cannot use it: see validateIdentity).
// Off while ObjectStorage is empty: those pods then use postgres.walArchive.credentialsSecret,
// or the node's own identity.
type Identity struct {
	// ObjectStorage is the cloud identity: an IAM role ARN (aws), a Google service account's
	// email (gcp), or a managed identity's client ID (azure); empty: none.
	ObjectStorage string `json:"objectStorage"`
	// AnnotationKey is the ServiceAccount annotation that carries it; empty: the cloud's.
	AnnotationKey string `json:"annotationKey"`
	// PodLabels are labels those pods carry for an identity webhook that selects pods by label;
	// none by default.
	PodLabels map[string]string `json:"podLabels"`
}

// ObjectStorageComponents are the components whose pods read or write object storage: the
// PostgreSQL members (WAL-G's archive and base backups, a restore's clone) and the jobs that copy
// data to the archive's bucket (the nightly dump, InfluxDB's backup, the shared model files).
var ObjectStorageComponents = []string{"postgres", "postgres-backup", "influxdb-backup", "models-backup"}

// AccountMeta are the annotations and labels of a component's ServiceAccount, and the labels its
// pods take for that account: the serviceAccounts setting's entry, with the cloud identity's on
// the object storage components.
func (s *Settings) AccountMeta(component string) (annotations, labels, podLabels map[string]string) {
	own := s.ServiceAccounts[component]
	annotations, labels, podLabels = maps.Clone(own.Annotations), maps.Clone(own.Labels), map[string]string{}
	if s.Identity.ObjectStorage != "" && slices.Contains(ObjectStorageComponents, component) {
		if annotations == nil {
			annotations = map[string]string{}
		}
		maps.Copy(annotations, s.Kubernetes.Cloud.Preset().IdentityAccountAnnotations)
		annotations[s.Identity.AnnotationKey] = s.Identity.ObjectStorage
		maps.Copy(podLabels, s.Identity.PodLabels)
	}
	return annotations, labels, podLabels
}

// ServiceAccounts: an entry per component, named by its pods' component label, holds extra
// annotations and labels of that component's ServiceAccount (for a cloud identity on a component
// identity.objectStorage does not cover, or labels a policy engine selects on). Empty by default.
type ServiceAccounts map[string]AccountMeta

// AccountMeta is what a ServiceAccount carries besides what the program gives it.
type AccountMeta struct {
	// Annotations are added to the account's.
	Annotations map[string]string `json:"annotations"`
	// Labels are added to the account's.
	Labels map[string]string `json:"labels"`
}

// Tolerations: an entry per component (and default, for the components without one) holds the
// taints its pods tolerate, so they may run on a dedicated node pool whose nodes carry them; pair
// it with the pool's label in nodeSelectors, which keeps them off every other node.
type Tolerations map[string][]Toleration

// Toleration is a Kubernetes toleration.
type Toleration struct {
	// Key is the taint's key; empty with operator Exists: every taint.
	Key string `json:"key"`
	// Operator is Equal (the default) or Exists.
	Operator string `json:"operator"`
	// Value is the taint's value (operator Equal).
	Value string `json:"value"`
	// Effect is NoSchedule, PreferNoSchedule or NoExecute; empty: every effect.
	Effect string `json:"effect"`
}

// For is a component's tolerations: its own entry, else the default entry's.
func (t Tolerations) For(component string) []Toleration {
	if own, ok := t[component]; ok {
		return slices.Clone(own)
	}
	return slices.Clone(t[DefaultNodeSelector])
}

// PriorityClasses says which PriorityClass each pod runs with, so that when a cluster is full the
// scheduler evicts batch jobs before the application and the application before the databases.
type PriorityClasses struct {
	// Create has the stack create three PriorityClasses, named after the namespace, and give each
	// pod its own: <ns>-data (the StatefulSets: databases, Redis, Prometheus, Alertmanager),
	// <ns>-app (the Deployments) and <ns>-batch (jobs, which preempt nothing). Off: pods keep
	// the cluster's default priority.
	Create bool `json:"create"`
	// Names: an entry per component (or default) names an existing PriorityClass its pods use
	// instead.
	Names map[string]string `json:"names"`
}

// The tiers of the PriorityClasses the stack creates, highest first, with their values (below a
// billion: the system's classes stay above).
const (
	PriorityData  = "data"
	PriorityApp   = "app"
	PriorityBatch = "batch"
)

// PriorityValues are the created classes' values, by tier.
var PriorityValues = map[string]int{PriorityData: 100000, PriorityApp: 10000, PriorityBatch: 1000}

// PriorityClassName is the name of a created class of the stack's namespace.
func (s *Settings) PriorityClassName(tier string) string { return s.Namespace + "-" + tier }

// PriorityClassOf is the PriorityClass of a component's pods whose workload is of kind: an entry
// of priorityClasses.names, else the created class of its tier, else none.
func (s *Settings) PriorityClassOf(component, kind string) string {
	names := s.PriorityClasses.Names
	if own, ok := names[component]; ok {
		return own
	}
	if d, ok := names[DefaultNodeSelector]; ok {
		return d
	}
	if !s.PriorityClasses.Create {
		return ""
	}
	switch kind {
	case "StatefulSet", "DaemonSet":
		// A node agent must fit on every node, a full one too.
		return s.PriorityClassName(PriorityData)
	case "Job", "CronJob":
		return s.PriorityClassName(PriorityBatch)
	}
	return s.PriorityClassName(PriorityApp)
}
