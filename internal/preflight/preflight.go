// Package preflight checks, before a stack declares anything, that its cluster has what the
// stack will need from it: a Kubernetes version, APIs that other projects install (the metrics
// API, cert-manager, the Gateway API, the Prometheus Operator) and objects the settings name
// (an IngressClass, a GatewayClass, an issuer, a StorageClass). A missing piece would otherwise
// show up half-way through `pulumi up`, as a rejected object or an await that never ends.
package preflight

import (
	"fmt"
	"strconv"
	"strings"
)

// Cluster is what the checks ask of a cluster; Connect reaches a real one, tests give a fake.
type Cluster interface {
	// Version is the API server's major and minor version.
	Version() (major, minor int, err error)
	// Serves says whether the API server serves resource (plural) in groupVersion ("v1" for the
	// core group, "cert-manager.io/v1" otherwise).
	Serves(groupVersion, resource string) (bool, error)
	// Has says whether the named object exists; namespace is empty for cluster-scoped objects.
	Has(groupVersion, resource, namespace, name string) (bool, error)
	// Get reads the named object (namespace empty for a cluster-scoped one); found is false when
	// it does not exist.
	Get(groupVersion, resource, namespace, name string) (object map[string]any, found bool, err error)
	// ClaimRequests are the storage requests of the PersistentVolumeClaims in namespace, by
	// claim name (none when the namespace does not exist yet).
	ClaimRequests(namespace string) (map[string]string, error)
}

// Requirement is one thing a stack needs from its cluster.
type Requirement struct {
	// Check names it, for kubernetes.skipPreflight.
	Check string
	// Why is the setting or part of the stack that needs it.
	Why string
	// Fix tells the operator how to provide it.
	Fix string

	// One of: MinVersion ("1.27"); an API (GroupVersion + Resource); or, with Name also set,
	// one object of that API.
	MinVersion             string
	GroupVersion, Resource string
	Namespace, Name        string
	// HeldBy, with Name, turns the requirement around: the object is one the stack creates and
	// the cluster has only one of, so it must be absent or the stack's own. HeldBy says who else
	// holds the object as the cluster has it ("" when the stack does).
	HeldBy func(object map[string]any) string
}

// what names the requirement in a message.
func (r Requirement) what() string {
	switch {
	case r.MinVersion != "":
		return "Kubernetes " + r.MinVersion + " or newer"
	case r.Name != "":
		where := ""
		if r.Namespace != "" {
			where = " in namespace " + r.Namespace
		}
		return fmt.Sprintf("%s %q (%s)%s", r.Resource, r.Name, r.GroupVersion, where)
	default:
		return fmt.Sprintf("the %s API (%s)", r.Resource, r.GroupVersion)
	}
}

// Run checks every requirement and returns one message per missing piece, in the order given.
// An object is not looked for when its API is not served: the API's own requirement, listed
// before it, says what to install.
func Run(c Cluster, reqs []Requirement) ([]string, error) {
	var missing []string
	for _, r := range reqs {
		ok, detail, err := check(c, r)
		if err != nil {
			return nil, fmt.Errorf("cluster preflight, %s: %w", r.what(), err)
		}
		if !ok && r.HeldBy != nil {
			missing = append(missing, fmt.Sprintf("cluster preflight [%s]: %s is held by %s; %s needs it for itself. %s",
				r.Check, r.what(), detail, r.Why, r.Fix))
		} else if !ok {
			missing = append(missing, fmt.Sprintf("cluster preflight [%s]: %s is missing%s; %s needs it. %s",
				r.Check, r.what(), detail, r.Why, r.Fix))
		}
	}
	return missing, nil
}

func check(c Cluster, r Requirement) (ok bool, detail string, err error) {
	if r.MinVersion != "" {
		major, minor, err := c.Version()
		if err != nil {
			return false, "", err
		}
		wantMajor, wantMinor, err := ParseVersion(r.MinVersion)
		if err != nil {
			return false, "", err
		}
		detail = fmt.Sprintf(" (the cluster runs %d.%d)", major, minor)
		return major > wantMajor || major == wantMajor && minor >= wantMinor, detail, nil
	}
	served, err := c.Serves(r.GroupVersion, r.Resource)
	switch {
	case err != nil:
		return false, "", err
	case r.Name == "":
		return served, "", nil
	case !served:
		// An object of an API the cluster does not serve is reported through the API's own
		// requirement; here it counts as present.
		return true, "", nil
	}
	if r.HeldBy != nil {
		object, found, err := c.Get(r.GroupVersion, r.Resource, r.Namespace, r.Name)
		if err != nil || !found {
			return true, "", err
		}
		holder := r.HeldBy(object)
		return holder == "", holder, nil
	}
	ok, err = c.Has(r.GroupVersion, r.Resource, r.Namespace, r.Name)
	return ok, "", err
}

// Field is the string at keys in an object Get read ("" when it is not there).
func Field(object map[string]any, keys ...string) string {
	var v any = object
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// ParseVersion reads "1.27" (or a server's "1", "27+" pieces joined) as major and minor.
func ParseVersion(v string) (major, minor int, err error) {
	a, b, found := strings.Cut(v, ".")
	if !found {
		return 0, 0, fmt.Errorf("version %q is not MAJOR.MINOR", v)
	}
	if major, err = strconv.Atoi(a); err != nil {
		return 0, 0, fmt.Errorf("version %q: %w", v, err)
	}
	// Managed clusters report minors such as "27+".
	if minor, err = strconv.Atoi(strings.TrimRight(b, "+")); err != nil {
		return 0, 0, fmt.Errorf("version %q: %w", v, err)
	}
	return major, minor, nil
}
