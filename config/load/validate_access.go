package load

import (
	"fmt"
	"github.com/pynomaly/pynomaly-platform/config"
)

func validateAccess(v *validator, a config.Access) {
	for _, l := range []struct {
		key  string
		list []string
	}{{"access.viewers", a.Viewers}, {"access.deployers", a.Deployers}} {
		for i, s := range l.list {
			if _, err := config.ParseSubject(s); err != nil {
				v.fail(fmt.Sprintf("%s[%d]", l.key, i), quote(s), err.Error())
			}
		}
	}
}
