package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The keys table and the lists Parse fills settings from name the same keys in the same order:
// a key missing from the table would never be read by Load, one missing from Parse would be
// read and dropped.
func TestKeyTableIsWhatParseReads(t *testing.T) {
	var s Settings
	parsed := []string{"environment"}
	for _, k := range scalarKeys(&s) {
		parsed = append(parsed, k.key)
	}
	for _, k := range objectKeys(&s) {
		parsed = append(parsed, k.key)
	}
	for _, k := range credentialKeys(&s.Credentials) {
		parsed = append(parsed, k.key)
	}
	if keys := Keys(); !slices.Equal(keys, parsed) {
		t.Errorf("keys table:\n  %s\nParse reads:\n  %s", strings.Join(keys, ", "), strings.Join(parsed, ", "))
	}
}

// An object key's description names every field the program accepts, nested ones too, so a
// field added to Settings cannot go undocumented (api, worker and images once did).
func TestObjectDescriptionsNameEveryField(t *testing.T) {
	objects := 0
	for _, k := range KeyTable() {
		fields := k.Fields()
		if len(fields) > 0 {
			objects++
		}
		for _, path := range fields {
			for _, name := range strings.Split(path, ".") {
				if !regexp.MustCompile(`\b` + name + `\b`).MatchString(k.Description) {
					t.Errorf("description of %s does not name %s (field %s): %q", k.Name, name, path, k.Description)
				}
			}
		}
	}
	if want := len(objectKeys(&Settings{})); objects != want {
		t.Errorf("%d object keys have fields, want %d", objects, want)
	}
}

// Fields walks embedded and nested structs the way the JSON decoder does.
func TestFieldsOfAnObjectKey(t *testing.T) {
	got := Key{Name: "worker"}.Fields()
	for _, want := range []string{"minReplicas", "resources.cpuLimit", "targetMemoryUtilization", "taskTimeoutSeconds", "queueScaling.targetPerPod"} {
		if !slices.Contains(got, want) {
			t.Errorf("worker fields %v lack %s", got, want)
		}
	}
	if f := (Key{Name: "placement"}).Fields(); f != nil {
		t.Errorf("a plain key has no fields, got %v", f)
	}
}
