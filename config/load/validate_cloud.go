package load

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pynomaly/pynomaly-platform/config"
)

// cloudNames are kubernetes.cloud's values, as text.
func cloudNames() []string {
	var out []string
	for _, c := range config.Clouds {
		out = append(out, string(c))
	}
	return out
}

// Names of the stores beside S3: a GCS bucket (3-63 lowercase letters, digits, '-', '_', '.'), an
// Azure container (3-63 lowercase letters, digits and single '-') and storage account (3-24
// lowercase letters and digits).
var (
	gcsBucket      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$`)
	azureContainer = regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-[a-z0-9]){2,62}$`)
	azureAccount   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
)

// otherStores checks the GCS and Azure fields of postgres.walArchive, that one store at most is
// named, and that S3's own fields are not set for another store, where they would do nothing.
func (v *validator) otherStores(w config.WALArchive) {
	const key = "postgres.walArchive."
	named := map[string]string{"s3Bucket": w.S3Bucket, "gcsBucket": w.GCSBucket, "azureContainer": w.AzureContainer}
	var set []string
	for _, field := range []string{"s3Bucket", "gcsBucket", "azureContainer"} {
		if named[field] != "" {
			set = append(set, field)
		}
	}
	if len(set) > 1 {
		v.fail(key+set[1], quote(named[set[1]]), "must be empty while postgres.walArchive."+set[0]+" is set: WAL is archived to one store")
	}
	if w.GCSBucket != "" && !gcsBucket.MatchString(w.GCSBucket) {
		v.fail(key+"gcsBucket", quote(w.GCSBucket), "must be a Cloud Storage bucket name: 3 to 63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
	}
	if w.AzureContainer != "" && !azureContainer.MatchString(w.AzureContainer) {
		v.fail(key+"azureContainer", quote(w.AzureContainer), "must be an Azure Blob container name: 3 to 63 lowercase letters, digits and single '-', starting with a letter or digit")
	}
	switch {
	case w.AzureContainer != "" && !azureAccount.MatchString(w.AzureStorageAccount):
		v.fail(key+"azureStorageAccount", quote(w.AzureStorageAccount), "must be the storage account of postgres.walArchive.azureContainer: 3 to 24 lowercase letters and digits")
	case w.AzureContainer == "" && w.AzureStorageAccount != "":
		v.fail(key+"azureStorageAccount", quote(w.AzureStorageAccount), "is only read with postgres.walArchive.azureContainer; set that, or remove this")
	}
	if w.Store() == config.StoreGCS || w.Store() == config.StoreAzure {
		for field, value := range map[string]string{"region": w.Region, "endpoint": w.Endpoint} {
			if value != "" {
				v.fail(key+field, quote(value), "is only read for an S3 store (postgres.walArchive.s3Bucket); remove it")
			}
		}
	}
}

// Identities by cloud: an IAM role's ARN, a Google service account's email.
var identityForms = map[config.Cloud]struct {
	re      *regexp.Regexp
	example string
}{
	config.CloudAWS: {regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`), "an IAM role's ARN, such as arn:aws:iam::123456789012:role/pynomaly-wal"},
	config.CloudGCP: {regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$`), "a Google service account's email, such as pynomaly-wal@my-project.iam.gserviceaccount.com"},
}

// validateIdentity checks the cloud identity: its form for the cloud, the annotation carrying it,
// and that something uses it (an identity no pod logs in with, or one a credentials Secret
// overrides, is never effective).
func validateIdentity(s *config.Settings, v *validator) {
	id, w := s.Identity, s.Postgres.WALArchive
	v.labels("identity.podLabels", id.PodLabels)
	v.ownLabels("identity.podLabels", id.PodLabels)
	if id.AnnotationKey != "" && len(validation.IsQualifiedName(id.AnnotationKey)) > 0 {
		v.fail("identity.annotationKey", quote(id.AnnotationKey), "must be an annotation key, such as eks.amazonaws.com/role-arn")
	}
	if id.ObjectStorage == "" {
		return
	}
	own := s.Kubernetes.Cloud.Preset().ObjectStore
	switch {
	case w.Store() == config.StoreAzure:
		v.fail("identity.objectStorage", quote(id.ObjectStorage), "cannot log WAL-G in to Azure Blob: Spilo hands it an account key, a SAS token "+
			"or a service principal's secret, never the federated token Azure Workload Identity projects; remove this and name "+
			"postgres.walArchive.credentialsSecret (AZURE_STORAGE_ACCESS_KEY)")
	case w.On() && own != "" && w.Store() != own:
		v.fail("identity.objectStorage", quote(id.ObjectStorage), "is a "+string(s.Kubernetes.Cloud)+" identity, which "+w.Store()+
			" does not take: name the store's keys in postgres.walArchive.credentialsSecret instead")
	case !w.On() && s.Environment != config.Prod: // prod's missing archive is its own error
		v.fail("identity.objectStorage", quote(id.ObjectStorage), "is used by WAL archiving only, which is off: name its store in postgres.walArchive, or remove this")
	case w.CredentialsSecret != "":
		v.fail("identity.objectStorage", quote(id.ObjectStorage), "would never be used: postgres.walArchive.credentialsSecret's keys come first; remove one of the two")
	case id.AnnotationKey == "":
		v.fail("identity.annotationKey", `""`, "must name the ServiceAccount annotation that carries identity.objectStorage: kubernetes.cloud other presets none")
	default:
		if form, ok := identityForms[s.Kubernetes.Cloud]; ok && !form.re.MatchString(id.ObjectStorage) {
			v.fail("identity.objectStorage", quote(id.ObjectStorage), "must be "+form.example+" (kubernetes.cloud "+string(s.Kubernetes.Cloud)+")")
		}
	}
}

// validateScheduling checks tolerations, priority classes, the ServiceAccounts' extras and the
// pull Secrets. Which components the entries name is the plan's to say (validateComponentEntries).
func validateScheduling(s *config.Settings, v *validator) {
	for _, name := range slices.Sorted(maps.Keys(s.Tolerations)) {
		for i, t := range s.Tolerations[name] {
			v.toleration(fmt.Sprintf("tolerations.%s[%d]", name, i), t)
		}
	}
	names := s.PriorityClasses.Names
	for _, name := range slices.Sorted(maps.Keys(names)) {
		switch class := names[name]; {
		case !config.DNSSubdomain.MatchString(class) || len(class) > 253:
			v.fail("priorityClasses.names."+name, quote(class), "must be the name of a PriorityClass (lowercase letters, digits, '-' and '.')")
		case strings.HasPrefix(class, "system-"):
			v.fail("priorityClasses.names."+name, quote(class), "must not be a system- class: those are for the cluster's own critical pods, which the platform's would then preempt")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.ServiceAccounts)) {
		meta, key := s.ServiceAccounts[name], "serviceAccounts."+name
		for _, a := range slices.Sorted(maps.Keys(meta.Annotations)) {
			if len(validation.IsQualifiedName(a)) > 0 {
				v.fail(labelPath(key+".annotations", a), quote(meta.Annotations[a]), quote(a)+" is not an annotation key: an optional prefix (a DNS subdomain) and '/', then a name")
			}
		}
		v.labels(key+".labels", meta.Labels)
		v.ownLabels(key+".labels", meta.Labels)
	}
	seen := map[string]bool{}
	for i, name := range s.Images.PullSecrets {
		key := fmt.Sprintf("images.pullSecrets[%d]", i)
		switch {
		case !config.DNSSubdomain.MatchString(name) || len(name) > 253:
			v.fail(key, quote(name), "must be the name of a Secret in the namespace (lowercase letters, digits, '-' and '.')")
		case seen[name]:
			v.fail(key, quote(name), "is named twice")
		}
		seen[name] = true
	}
}

// Taint effects and toleration operators, as Kubernetes has them.
var (
	taintEffects        = []string{"", "NoSchedule", "PreferNoSchedule", "NoExecute"}
	tolerationOperators = []string{"", "Equal", "Exists"}
)

// toleration checks one toleration as the API server would, and refuses one that tolerates every
// taint of every node: the pods could then land on control-plane and system nodes.
func (v *validator) toleration(key string, t config.Toleration) {
	if !slices.Contains(tolerationOperators, t.Operator) {
		v.fail(key+".operator", quote(t.Operator), "must be Equal (the default when empty) or Exists")
	}
	if !slices.Contains(taintEffects, t.Effect) {
		v.fail(key+".effect", quote(t.Effect), "must be NoSchedule, PreferNoSchedule, NoExecute, or empty for every effect")
	}
	switch {
	case t.Key == "" && t.Operator == "Exists":
		v.fail(key+".key", `""`, "must name a taint: an empty key with operator Exists tolerates every taint, the control plane's and the system pools' too")
	case t.Key == "":
		v.fail(key+".key", `""`, "must name the taint tolerated (with operator Equal, the default, the key is required)")
	case len(validation.IsQualifiedName(t.Key)) > 0:
		v.fail(key+".key", quote(t.Key), "must be a taint key: an optional prefix (a DNS subdomain) and '/', then a name, such as pool or pynomaly.io/pool")
	}
	if t.Operator == "Exists" && t.Value != "" {
		v.fail(key+".value", quote(t.Value), "must be empty with operator Exists (it matches the key alone)")
	}
	if len(validation.IsValidLabelValue(t.Value)) > 0 {
		v.fail(key+".value", quote(t.Value), "must be a taint value: at most 63 letters, digits, '-', '_' and '.'")
	}
}

// ownLabels refuses the program's own label keys in labels a stack adds: selectors and policies
// rely on them, and a pod template that changed them would no longer match its selector.
func (v *validator) ownLabels(key string, labels map[string]string) {
	for _, l := range slices.Sorted(maps.Keys(labels)) {
		if l == "app" || l == "component" || strings.HasPrefix(l, "app.kubernetes.io/") {
			v.fail(labelPath(key, l), quote(labels[l]), "must not be one of the program's own labels (app, component, app.kubernetes.io/*), which selectors and policies rely on")
		}
	}
}

// labels checks a map of label keys and values.
func (v *validator) labels(key string, labels map[string]string) {
	for _, l := range slices.Sorted(maps.Keys(labels)) {
		if len(validation.IsQualifiedName(l)) > 0 || len(validation.IsValidLabelValue(labels[l])) > 0 {
			v.fail(labelPath(key, l), quote(labels[l]), "must be a Kubernetes label: a qualified key and a value of at most 63 letters, digits, '-', '_' and '.'")
		}
	}
}
