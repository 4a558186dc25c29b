package tests

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
)

// guideCommands are the command lines of the operations guide, docs/operations.md (its fenced
// bash blocks), without their trailing comments.
func guideCommands(t *testing.T) []string {
	b, err := os.ReadFile("../docs/operations.md")
	require.NoError(t, err)
	guide := string(b)
	require.True(t, strings.HasPrefix(guide, "# Operations\n"), "docs/operations.md is not the operations guide")
	var lines []string
	for _, block := range regexp.MustCompile("(?s)```bash\n(.*?)```").FindAllStringSubmatch(guide, -1) {
		for _, line := range strings.Split(block[1], "\n") {
			if i := strings.Index(line, "  #"); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line != "" {
				lines = append(lines, line)
			}
		}
	}
	require.NotEmpty(t, lines)
	return lines
}

// Every command of the operations guide names what exists: the repository's scripts, the keys
// and fields the program reads, and (in a prod stack with every optional object on) the objects, containers
// and Secret keys its kubectl commands address. A renamed object or key fails here, not on call.
func TestOperationsGuideNamesRealThings(t *testing.T) {
	lines := guideCommands(t)
	// Every optional object on: mid-rotation (the retirement jobs) and with volume snapshots.
	st := deploy(t, "prod", cfg{"secrets": `{"rotation": {"all": 1}}`, "storage": snapshotClass})
	kinds := map[string]string{
		"statefulset": statefulSetType, "deployment": deploymentType, "job": jobType,
		"cronjob": cronJobType, "svc": serviceType, "secret": secretType,
	}
	named := func(kind, name string) *Resource {
		for _, r := range st.OfType(kinds[kind]) {
			if r.Str(t, "metadata.name") == name {
				return r
			}
		}
		return nil
	}
	fields := map[string][]string{}
	for _, k := range config.KeyTable() {
		for _, f := range k.Fields() {
			fields[k.Name] = append(fields[k.Name], strings.Split(f, ".")...)
		}
	}
	var scripts, keys, objects int
	for _, line := range lines {
		for _, m := range regexp.MustCompile(`bash (scripts/[a-z-]+\.sh)`).FindAllStringSubmatch(line, -1) {
			_, err := os.Stat(filepath.Join("..", m[1]))
			assert.NoError(t, err, "the guide runs %s", m[1])
			scripts++
		}
		if m := regexp.MustCompile(`pulumi config set (?:--path )?([A-Za-z.]+)`).FindStringSubmatch(line); m != nil {
			parts := strings.Split(m[1], ".")
			_, isKey := fields[parts[0]]
			assert.True(t, isKey, "the guide sets %s, which is no key", m[1])
			for _, p := range parts[1:] {
				assert.Contains(t, fields[parts[0]], p, "the guide sets %s, which the program does not read", m[1])
			}
			keys++
		}
		for _, m := range regexp.MustCompile(`\b(statefulset|deployment|job|cronjob|svc|secret)[/ ](pynomaly-[a-z-]+)`).FindAllStringSubmatch(line, -1) {
			r := named(m[1], m[2])
			if !assert.NotNil(t, r, "the guide addresses %s/%s, which prod does not declare: %s", m[1], m[2], line) {
				continue
			}
			objects++
			if c := regexp.MustCompile(` -c ([a-z-]+)`).FindStringSubmatch(line); c != nil {
				r.Container(t, "spec.template.spec", c[1])
			}
			if k := regexp.MustCompile(`\{\.data\.([a-z-]+)\}`).FindStringSubmatch(line); k != nil {
				var keysOf []string
				for _, field := range []string{"stringData", "data"} {
					if r.Has(field) {
						keysOf = append(keysOf, slices.Collect(maps.Keys(r.StringMap(t, field)))...)
					}
				}
				assert.Contains(t, keysOf, k[1], "the guide reads key %s of Secret %s", k[1], m[2])
			}
		}
	}
	assert.Positive(t, scripts, "scripts named")
	assert.Positive(t, keys, "settings named")
	assert.Positive(t, objects, "objects named")
}
