package load

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pynomaly/pynomaly-platform/config"
)

// Every field of Settings a stack can set is reached by exactly one key of the table, so a field
// added to Settings without a key (never read) or a key aimed at a field another key fills
// cannot pass.
func TestEveryFieldHasOneKey(t *testing.T) {
	var s config.Settings
	owner := map[uintptr]string{}
	for _, k := range config.KeyTable() {
		p := reflect.ValueOf(k.In(&s)).Pointer()
		if other, dup := owner[p]; dup {
			t.Errorf("%s and %s fill the same field", k.Name, other)
		}
		owner[p] = k.Name
	}
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || (config.JSONName(f) == "" && f.Name != "Environment") {
			continue
		}
		fields := []reflect.Value{v.Field(i)}
		if f.Type == reflect.TypeOf(config.Credentials{}) { // one top-level key per credential
			fields = fields[:0]
			for j := range f.Type.NumField() {
				fields = append(fields, v.Field(i).Field(j))
			}
		}
		for _, fv := range fields {
			if _, ok := owner[fv.Addr().Pointer()]; !ok {
				t.Errorf("Settings.%s (%s) has no key in the keys table", f.Name, fv.Type())
			}
		}
	}
}

// A key is a plain string, an object or a credential, and its description says which fields an
// object takes, nested ones in braces.
func TestKeyKinds(t *testing.T) {
	byName := map[string]config.Key{}
	for _, k := range config.KeyTable() {
		byName[k.Name] = k
	}
	if k := byName["placement"]; k.Object() || k.Credential() || k.Fields() != nil {
		t.Errorf("placement is a plain key: object %v, credential %v, fields %v", k.Object(), k.Credential(), k.Fields())
	}
	if k := byName["redisPassword"]; k.Object() || !k.Credential() {
		t.Errorf("redisPassword is a credential")
	}
	got := byName["worker"].Fields()
	for _, want := range []string{"minReplicas", "resources.cpuLimit", "targetMemoryUtilization", "taskTimeoutSeconds", "queueScaling.targetPerPod"} {
		if !slices.Contains(got, want) {
			t.Errorf("worker fields %v lack %s", got, want)
		}
	}
	if d := byName["worker"].Description(); !strings.Contains(d, "queueScaling {enabled, metricName, targetPerPod}") {
		t.Errorf("worker's description does not list queueScaling's fields: %q", d)
	}
	// A map: an object whose entries the stack names (which ones, the stack's plan says).
	if k := byName["nodeSelectors"]; !k.Object() || !k.Map() || k.Fields() != nil || byName["worker"].Map() {
		t.Errorf("nodeSelectors is an object of entries, worker one of fields: object %v, map %v, fields %v", k.Object(), k.Map(), k.Fields())
	}
	if d := byName["nodeSelectors"].Description(); !strings.Contains(d, "Entries: default, or the component label of pods the stack runs") {
		t.Errorf("nodeSelectors' description does not say what its entries are: %q", d)
	}
}

// A key the program does not read stops the stack, named with the nearest one it does; an
// object's unknown field the same.
func TestUnknownKeysAreRefused(t *testing.T) {
	cases := []struct {
		values map[string]string
		want   []string
	}{ // a case without "did you mean" among its wants must not have one
		{map[string]string{"apii": `{"minReplicas":2}`}, []string{"stack setting p:apii = ", "is not a setting", "did you mean api?"}},
		{map[string]string{"LogLevel": "info"}, []string{"p:LogLevel", "did you mean logLevel?"}},
		{map[string]string{"grafanaPassword": "x"}, []string{"p:grafanaPassword", "did you mean grafanaAdminPassword?"}},
		{map[string]string{"nothingLikeIt": "x"}, []string{"p:nothingLikeIt", "is not a setting of this program (docs/settings.md"}},
		{map[string]string{"api": `{"maxReplica":3}`}, []string{"p:api", `unknown field "maxReplica"; did you mean maxReplicas?`}},
	}
	for _, c := range cases {
		c.values["environment"] = "dev"
		_, err := Parse("p", Source{Values: c.values})
		if err == nil {
			t.Errorf("%v: accepted", c.values)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", c.values, err, w)
			}
		}
		if !strings.Contains(strings.Join(c.want, " "), "did you mean") && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%v: nothing is near, yet %q", c.values, err)
		}
	}
}

// Load finds the keys Pulumi would hand the program unread in the engine's configuration: those
// under the project's prefix only.
func TestUnknownKeysOfTheEngineConfiguration(t *testing.T) {
	got := unknownKeys("p", `{"p:api":"{}","p:apii":"{}","p:zzz":"1","kubernetes:context":"x","q:apii":"1"}`)
	if want := []string{"apii", "zzz"}; !slices.Equal(got, want) {
		t.Errorf("unknownKeys = %v, want %v", got, want)
	}
	if got := unknownKeys("p", ""); got != nil {
		t.Errorf("no configuration: %v", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"api", "api", 0}, {"apii", "api", 1}, {"kitten", "sitting", 3}, {"", "abc", 3}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
