package config

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// ParseSubject reads user:NAME, group:NAME or serviceaccount:NAMESPACE/NAME. User and group
// names are whatever the cluster's authenticator says (an e-mail, an OIDC group, an IAM ARN), so
// they are only refused when empty or holding spaces or control characters.
func ParseSubject(s string) (Subject, error) {
	kind, name, _ := strings.Cut(s, ":")
	switch kind {
	case "user", "group":
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return Subject{}, fmt.Errorf("%s, with a NAME without spaces", subjectForms)
		}
		return Subject{Kind: map[string]string{"user": "User", "group": "Group"}[kind], Name: name}, nil
	case "serviceaccount":
		ns, sa, _ := strings.Cut(name, "/")
		if !DNSLabel.MatchString(ns) || len(ns) > 63 || !DNSSubdomain.MatchString(sa) || len(sa) > 253 {
			return Subject{}, fmt.Errorf("%s; a service account's namespace and name are DNS names", subjectForms)
		}
		return Subject{Kind: "ServiceAccount", Name: sa, Namespace: ns}, nil
	}
	return Subject{}, fmt.Errorf("%s", subjectForms)
}

// Subjects are a list's parsed subjects; Validate has refused any it cannot parse.
func Subjects(list []string) []Subject {
	var out []Subject
	for _, s := range list {
		if sub, err := ParseSubject(s); err == nil {
			out = append(out, sub)
		}
	}
	return out
}

// Subject is one person, group or CI identity of an access list, as a RoleBinding names it.
type Subject struct {
	// Kind is User, Group or ServiceAccount.
	Kind, Name string
	// Namespace is a ServiceAccount's own namespace (CI may run elsewhere).
	Namespace string
}

const subjectForms = "must be user:NAME, group:NAME or serviceaccount:NAMESPACE/NAME"

var DNSLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// DNSSubdomain is the rule for cluster-scoped names such as a StorageClass.
var DNSSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
