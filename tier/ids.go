package tier

// Names and numbers more than one tier uses.
const (
	// DataClaimTemplate is the claim template of the StatefulSets whose volume is named for its
	// data: each replica's claim is data-<set>-<ordinal>.
	DataClaimTemplate = "data"
	// BackupMountPath is where the jobs that write backups mount the backup claim.
	BackupMountPath = "/backup"
	// BackupClaimGID is the backup claim's group: every job that writes to it runs in it. It is
	// the PostgreSQL clients' user (10000 and more is a range no account of the node uses).
	BackupClaimGID = 10070
	// NobodyUID is the user the exporters' and monitoring's images run as.
	NobodyUID = 65534
)

const CertManagerAPIVersion = "cert-manager.io/v1"
