package load

import (
	"fmt"

	"github.com/pynomaly/pynomaly-platform/config"
)

// everyoneSubjects are the identities Kubernetes gives to everyone, or to every node or service
// account, of the cluster: a binding to one of them is a binding to all of them.
var everyoneSubjects = map[config.Subject]bool{
	{Kind: "Group", Name: "system:authenticated"}:   true,
	{Kind: "Group", Name: "system:unauthenticated"}: true,
	{Kind: "Group", Name: "system:serviceaccounts"}: true,
	{Kind: "Group", Name: "system:nodes"}:           true,
	{Kind: "User", Name: "system:anonymous"}:        true,
}

func validateAccess(v *validator, a config.Access) {
	for _, l := range []struct {
		key  string
		list []string
	}{{"access.viewers", a.Viewers}, {"access.deployers", a.Deployers}} {
		for i, s := range l.list {
			key := fmt.Sprintf("%s[%d]", l.key, i)
			sub, err := config.ParseSubject(s)
			switch {
			case err != nil:
				v.fail(key, quote(s), err.Error())
			case everyoneSubjects[sub]:
				v.fail(key, quote(s), "must name people, teams or CI identities: Kubernetes puts every user "+
					"(or every node, or every service account) of the cluster in that one, so the binding would grant them all")
			}
		}
	}
}
