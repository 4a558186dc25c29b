package config

import (
	"slices"
)

// Kubernetes says which cluster the program talks to. All empty means the ambient kubeconfig.
type Kubernetes struct {
	// Cloud is where the cluster runs: aws, gcp, azure or other. It picks the defaults that differ
	// between clouds (the storage driver and its parameters, the snapshot driver, the workload
	// identity annotation, the load balancer's annotations), each still a setting of its own;
	// other presets nothing. Empty: aws.
	Cloud Cloud `json:"cloud"`
	// Kubeconfig is a path to a kubeconfig file, or its contents.
	Kubeconfig string `json:"kubeconfig"`
	// Context is the kubeconfig context; empty: its current context.
	Context string `json:"context"`
	// RenderYamlToDirectory writes manifests there instead of applying them (GitOps, no cluster).
	RenderYamlToDirectory string `json:"renderYamlToDirectory"`
	// AllowModeChange lets one update move a stack that has objects in a cluster to rendering,
	// or a rendered stack to a cluster. Either deletes every object from where the stack was, so
	// the program refuses it unless this says it is meant.
	AllowModeChange bool `json:"allowModeChange"`
	// SkipPreflight names cluster checks not to run before anything is declared (PreflightChecks),
	// or "all"; for a cluster that provides a piece in a way the check cannot see.
	SkipPreflight []string `json:"skipPreflight"`
	// ClusterIdentifier names the cluster to the provider; empty: the stack's name. The provider
	// re-creates every object only when it changes, never because the kubeconfig differs (a CI
	// job's credentials, embedded certificates instead of files): by default it treats a changed
	// kubeconfig cluster entry as a new cluster, and replaces the whole stack.
	ClusterIdentifier string `json:"clusterIdentifier"`
}

// PreflightChecks are the checks of the cluster a stack targets (platform/preflight.go), by the
// name kubernetes.skipPreflight takes.
var PreflightChecks = []string{
	"kubernetes-version", "metrics-api", "external-metrics-api", "external-metrics-holder", "cert-manager", "tls-issuer",
	"ingress-class", "gateway-api", "gateway-class", "storage-class", "prometheus-operator",
	"wal-archive-secret", "claim-size", "volume-snapshots", "volume-snapshot-class", "stack-collision",
	"image-pull-secret", "priority-class", "workload-identity", "external-secrets", "secret-store",
}

// ClusterIdentifierOr is the cluster's identifier: the setting, or stack when it is empty.
func (k Kubernetes) ClusterIdentifierOr(stack string) string {
	if k.ClusterIdentifier != "" {
		return k.ClusterIdentifier
	}
	return stack
}

// Skips says whether the preflight check named check is skipped.
func (k Kubernetes) Skips(check string) bool {
	return slices.Contains(k.SkipPreflight, "all") || slices.Contains(k.SkipPreflight, check)
}

// Quota is the namespace ResourceQuota. It must hold every Deployment at its maximum replicas
// plus every StatefulSet, job and claim of the stack's plan (load.ValidatePlan checks it).
type Quota struct {
	// RequestsCPU is the CPU all the namespace's containers may request together (prod: the seed's
	// minimum cluster).
	RequestsCPU string `json:"requestsCpu"`
	// RequestsMemory is the memory they may request together.
	RequestsMemory string `json:"requestsMemory"`
	// LimitsCPU is the sum of their CPU limits (limits may overcommit).
	LimitsCPU string `json:"limitsCpu"`
	// LimitsMemory is the sum of their memory limits.
	LimitsMemory string `json:"limitsMemory"`
	// RequestsStorage is the storage all claims may request together.
	RequestsStorage string `json:"requestsStorage"`
	// RequestsEphemeralStorage and LimitsEphemeralStorage cap the node disk the namespace's
	// containers may ask for and use (logs, emptyDirs, writable roots).
	RequestsEphemeralStorage string `json:"requestsEphemeralStorage"`
	LimitsEphemeralStorage   string `json:"limitsEphemeralStorage"`
	// Pods is the most pods the namespace holds.
	Pods int `json:"pods"`
	// PersistentVolumeClaims is the most claims the namespace holds.
	PersistentVolumeClaims int `json:"persistentVolumeClaims"`
}

// LimitRange gives containers that declare nothing sane requests and limits, and caps any one
// container so a typo cannot take a node.
type LimitRange struct {
	// DefaultRequestCPU is the CPU request of a container that sets none.
	DefaultRequestCPU string `json:"defaultRequestCpu"`
	// DefaultRequestMemory is the memory request of a container that sets none.
	DefaultRequestMemory string `json:"defaultRequestMemory"`
	// DefaultCPU is the CPU limit of a container that sets none.
	DefaultCPU string `json:"defaultCpu"`
	// DefaultMemory is the memory limit of a container that sets none.
	DefaultMemory string `json:"defaultMemory"`
	// MaxCPU is the largest CPU limit a container is admitted with.
	MaxCPU string `json:"maxCpu"`
	// MaxMemory is the largest memory limit a container is admitted with.
	MaxMemory string `json:"maxMemory"`
	// The same for ephemeral storage: a container's node disk (logs, emptyDirs, a writable root).
	DefaultRequestEphemeralStorage string `json:"defaultRequestEphemeralStorage"`
	// DefaultEphemeralStorage is the ephemeral storage limit of a container that sets none.
	DefaultEphemeralStorage string `json:"defaultEphemeralStorage"`
	// MaxEphemeralStorage is the largest ephemeral storage limit a container is admitted with.
	MaxEphemeralStorage string `json:"maxEphemeralStorage"`
}

// Storage is the SSD StorageClass and the claims that no StatefulSet owns.
type Storage struct {
	// ExistingClass names a StorageClass the cluster already has; when set, none is created.
	ExistingClass string `json:"existingClass"`
	// ClassName is the name of the StorageClass this program creates.
	ClassName string `json:"className"`
	// Provisioner is the CSI driver of the class created; empty: kubernetes.cloud's (aws: EBS gp3
	// encrypted, gcp: pd-ssd, azure: Premium_LRS).
	Provisioner string `json:"provisioner"`
	// Parameters are the driver's parameters of the class created; a given map replaces the
	// cloud's, never merges, and a stack that names its own provisioner gets none of the cloud's.
	Parameters map[string]string `json:"parameters"`
	// ReclaimPolicy is Retain or Delete; prod keeps volumes whose claims are deleted.
	ReclaimPolicy string `json:"reclaimPolicy"`
	// BackupSize is the claim the database backups are written to.
	BackupSize string `json:"backupSize"`
	// ModelSize is the claim API and workers share for model artifacts.
	ModelSize string `json:"modelSize"`
	// ModelAccessMode is ReadWriteMany where API and workers on many nodes share the models;
	// that needs a class that supports it (ModelClassName), for example an NFS or EFS class.
	ModelAccessMode string `json:"modelAccessMode"`
	// ModelClassName is the class of the model claim; empty means the SSD class.
	ModelClassName string    `json:"modelClassName"`
	Snapshots      Snapshots `json:"snapshots"`
}

// Snapshots are scheduled VolumeSnapshots of every claim in the namespace (the seed's daily PVC
// snapshots), taken by the cluster's CSI driver through ClassName. Off while ClassName is empty
// and CreateClass off: the snapshot controller is a cluster's add-on, which the program cannot
// assume (the preflight checks it, and the class, once snapshots are on).
type Snapshots struct {
	// ClassName is an existing VolumeSnapshotClass the daily snapshots of every claim are taken
	// through (CronJob pynomaly-volume-snapshots). Empty: the class CreateClass creates, or no
	// snapshots.
	ClassName string `json:"className"`
	// CreateClass has the stack create its own VolumeSnapshotClass of Driver,
	// <namespace>-snapshots, when ClassName names none. On in prod.
	CreateClass bool `json:"createClass"`
	// Created is the class the stack creates ("" when it uses an existing one), decided from the
	// two above once the settings are read.
	Created string `json:"-"`
	// Driver is the CSI driver of the created class; empty: kubernetes.cloud's (the storage
	// class's driver).
	Driver string `json:"driver"`
	// Location is where the created class keeps its snapshots when that is not the volumes'
	// region: GCP's storage-locations (a multi-region such as "eu", or a region) or Azure's
	// location (a region such as "westeurope": each snapshot is copied there), so a lost region
	// leaves them. Empty: the volumes' region. EBS's driver has no such parameter (AWS Backup or
	// Data Lifecycle Manager copies snapshots to another region).
	Location string `json:"location"`
	// Schedule is a cron schedule in UTC, which the copy of the shared model claim off the
	// cluster follows too (where postgres.walArchive names a bucket and modelAccessMode is
	// ReadWriteMany).
	Schedule string `json:"schedule"`
	// RetentionDays: snapshots taken more than this many days ago are deleted, once a run has
	// taken its new ones; so are the model claim's copies off the cluster, the newest kept.
	RetentionDays int `json:"retentionDays"`
}

// On says whether snapshots are taken.
func (s Snapshots) On() bool { return s.ClassName != "" || s.CreateClass }

// SnapshotLocationParameter is the VolumeSnapshotClass parameter of each CSI driver that keeps
// snapshots outside the volume's region (Snapshots.Location).
var SnapshotLocationParameter = map[string]string{
	"pd.csi.storage.gke.io": "storage-locations",
	"disk.csi.azure.com":    "location",
}

// Parameters are the created class's parameters: its location, where one is set.
func (s Snapshots) Parameters() map[string]string {
	if s.Location == "" {
		return nil
	}
	return map[string]string{SnapshotLocationParameter[s.Driver]: s.Location}
}

// Access are the people and CI jobs bound to the platform's Roles in the namespace, each a
// subject: user:NAME, group:NAME or serviceaccount:NAMESPACE/NAME.
type Access struct {
	// Viewers may read every object of the namespace except Secrets, and the pods' logs.
	Viewers []string `json:"viewers"`
	// Deployers may do in the namespace what `pulumi up` of this program does there.
	Deployers []string `json:"deployers"`
}

// Volume snapshots: daily at 03:00 UTC (after the base backup and the dump), kept as long as the
// dumps; prod takes them by default (the seed's daily snapshots of every claim), through a class
// of its own.
func snapshots(retentionDays int, create bool) Snapshots {
	return Snapshots{Schedule: "0 3 * * *", RetentionDays: retentionDays, CreateClass: create}
}

// quotaDefaults are the namespace's ResourceQuota per environment. prod's is the seed's minimum
// cluster (32 cores, 128 GB, 2 TB): requests must fit in it with every Deployment at its maximum
// replicas; limits may overcommit.
func quotaDefaults(env Environment) Quota {
	return byEnv(env,
		Quota{
			RequestsCPU: "4", RequestsMemory: "8Gi", LimitsCPU: "10", LimitsMemory: "16Gi",
			RequestsStorage: "100Gi", RequestsEphemeralStorage: "4Gi", LimitsEphemeralStorage: "32Gi",
			Pods: 30, PersistentVolumeClaims: 10,
		},
		Quota{
			RequestsCPU: "8", RequestsMemory: "24Gi", LimitsCPU: "24", LimitsMemory: "48Gi",
			RequestsStorage: "500Gi", RequestsEphemeralStorage: "10Gi", LimitsEphemeralStorage: "64Gi",
			Pods: 60, PersistentVolumeClaims: 20,
		},
		Quota{
			RequestsCPU: "32", RequestsMemory: "128Gi", LimitsCPU: "192", LimitsMemory: "320Gi",
			RequestsStorage: "2Ti", RequestsEphemeralStorage: "64Gi", LimitsEphemeralStorage: "512Gi",
			Pods: 250, PersistentVolumeClaims: 30,
		})
}

// limitRangeDefaults are the namespace's LimitRange per environment.
func limitRangeDefaults(env Environment) LimitRange {
	return byEnv(env,
		LimitRange{
			DefaultRequestCPU: "50m", DefaultRequestMemory: "64Mi",
			DefaultCPU: "250m", DefaultMemory: "256Mi",
			MaxCPU: "2", MaxMemory: "4Gi",
			DefaultRequestEphemeralStorage: "64Mi", DefaultEphemeralStorage: "512Mi", MaxEphemeralStorage: "4Gi",
		},
		LimitRange{
			DefaultRequestCPU: "100m", DefaultRequestMemory: "128Mi",
			DefaultCPU: "500m", DefaultMemory: "512Mi",
			MaxCPU: "4", MaxMemory: "8Gi",
			DefaultRequestEphemeralStorage: "64Mi", DefaultEphemeralStorage: "512Mi", MaxEphemeralStorage: "8Gi",
		},
		LimitRange{
			DefaultRequestCPU: "100m", DefaultRequestMemory: "128Mi",
			DefaultCPU: "500m", DefaultMemory: "512Mi",
			MaxCPU: "4", MaxMemory: "16Gi",
			DefaultRequestEphemeralStorage: "64Mi", DefaultEphemeralStorage: "512Mi", MaxEphemeralStorage: "16Gi",
		})
}

// storageDefaults are the SSD class and the shared claims per environment: prod keeps the
// volumes of deleted claims.
func storageDefaults(env Environment) Storage {
	return Storage{
		ClassName:       "pynomaly-ssd",
		ReclaimPolicy:   byEnv(env, "Delete", "Delete", "Retain"),
		BackupSize:      byEnv(env, "10Gi", "50Gi", "300Gi"),
		ModelSize:       byEnv(env, "5Gi", "20Gi", "200Gi"),
		ModelAccessMode: "ReadWriteOnce",
		Snapshots:       snapshots(byEnv(env, 3, 7, 14), env == Prod),
	}
}
