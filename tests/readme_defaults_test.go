package tests

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
)

// The dev, staging and prod columns of the README's settings table are the profiles' values, as
// the effective settings view (scripts/settings.sh, the stack output "settings") shows them.
// A row names one or more settings in its first column; its cells list their values in that
// order, joined by " / ". After changing a profile, rewrite the columns with
//
//	go test ./tests -run ReadmeDefaults -update
//
// Rendering: `value` for strings and numbers, none for an empty string or list, on/off for
// switches, `cpuRequest`/`memoryRequest`/`ephemeralStorageRequest` →
// `cpuLimit`/`memoryLimit`/`ephemeralStorageLimit` for resources, `k: v, ...`
// for maps and other objects, "generated" for credentials. When staging and prod have dev's
// values, their cells say "same" (words such as none and generated are repeated).
func TestReadmeDefaultsAreTheProfiles(t *testing.T) {
	views := map[string]map[string]any{}
	for _, env := range envs {
		s, err := config.Parse(project, config.Source{Values: stackEnv(t, env, nil)})
		require.NoError(t, err)
		views[env] = s.View()
	}
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	readme := string(b)
	head, section, found := strings.Cut(readme, "\n## Settings\n")
	require.True(t, found, "README has no Settings section")
	lines := strings.Split(section, "\n")
	rows := 0
	for i, line := range lines {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		require.GreaterOrEqual(t, len(cells), 5, "settings row %q: key | dev | staging | prod | what", line)
		paths := rowPaths(views["dev"], cells[0])
		var want [3]string
		for e, env := range envs {
			var parts []string
			for _, p := range paths {
				v, ok := lookupView(views[env], p)
				if !assert.True(t, ok, "README's settings row %q names %s, which the settings do not have", cells[0], p) {
					continue
				}
				parts = append(parts, renderDefault(v))
			}
			want[e] = joinDefaults(parts)
		}
		if want[1] == want[0] && want[2] == want[0] && strings.Contains(want[0], "`") {
			want[1], want[2] = "same", "same"
		}
		rows++
		if *update {
			cells[1], cells[2], cells[3] = want[0], want[1], want[2]
			lines[i] = strings.ReplaceAll("| "+strings.Join(cells, " | ")+" |", "|  |", "| |")
			continue
		}
		for e, env := range envs {
			assert.Equal(t, want[e], cells[1+e], "README's settings row %s, %s column (go test ./tests -run ReadmeDefaults -update rewrites it)", cells[0], env)
		}
	}
	require.Greater(t, rows, 20, "settings rows found")
	if *update {
		require.NoError(t, os.WriteFile("../README.md", []byte(head+"\n## Settings\n"+strings.Join(lines, "\n")), 0o644))
	}
}

// rowPaths are the settings a row's first column names: `quota.pods` / `persistentVolumeClaims`
// is quota.pods and quota.persistentVolumeClaims (a field of the object the previous name is in,
// where it has one: `images.api` / `worker` is images.worker); otherwise a name is a key or
// starts with one.
func rowPaths(view map[string]any, first string) []string {
	keys := config.Keys()
	var paths []string
	parent := ""
	for _, code := range codeSpans(first) {
		top, _, _ := strings.Cut(code, ".")
		_, relative := lookupView(view, parent+"."+code)
		if !(parent != "" && relative) && slices.Contains(keys, top) {
			paths = append(paths, code)
			if i := strings.LastIndex(code, "."); i >= 0 {
				parent = code[:i]
			} else {
				parent = ""
			}
			continue
		}
		paths = append(paths, parent+"."+code)
	}
	return paths
}

// lookupView finds a dotted path in the settings view.
func lookupView(view map[string]any, path string) (any, bool) {
	var v any = view
	for _, step := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[step]; !ok {
			return nil, false
		}
	}
	return v, true
}

// renderDefault is one value as the table shows it.
func renderDefault(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case bool:
		if x {
			return "on"
		}
		return "off"
	case float64:
		return "`" + strconv.FormatFloat(x, 'f', -1, 64) + "`"
	case string:
		switch x {
		case "":
			return "none"
		case config.CredentialGenerated:
			return x
		}
		return "`" + x + "`"
	case []any:
		if len(x) == 0 {
			return "none"
		}
		var items []string
		for _, e := range x {
			items = append(items, renderDefault(e))
		}
		return strings.Join(items, ", ")
	case map[string]any:
		if r, ok := resourcesCell(x); ok {
			return r
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var pairs []string
		for _, k := range keys {
			pairs = append(pairs, k+": "+yamlScalar(x[k]))
		}
		if len(pairs) == 0 {
			return "none"
		}
		return "`" + strings.Join(pairs, ", ") + "`"
	}
	return fmt.Sprint(v)
}

// resourcesCell is a container's requests and limits: `50m`/`128Mi`/`64Mi` →
// `250m`/`256Mi`/`512Mi` (CPU, memory, ephemeral storage).
func resourcesCell(m map[string]any) (string, bool) {
	var r [6]string
	for i, k := range []string{"cpuRequest", "memoryRequest", "ephemeralStorageRequest", "cpuLimit", "memoryLimit", "ephemeralStorageLimit"} {
		s, ok := m[k].(string)
		if !ok {
			return "", false
		}
		r[i] = s
	}
	if len(m) != len(r) {
		return "", false
	}
	return fmt.Sprintf("`%s`/`%s`/`%s` → `%s`/`%s`/`%s`", r[0], r[1], r[2], r[3], r[4], r[5]), true
}

// yamlScalar quotes a string that YAML would read as something else.
func yamlScalar(v any) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprint(v)
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil || s == "true" || s == "false" || s == "" {
		return strconv.Quote(s)
	}
	return s
}

// joinDefaults joins a row's values; settings that are all generated, or all none, say it once.
func joinDefaults(parts []string) string {
	if len(parts) > 1 && !strings.Contains(parts[0], "`") {
		same := true
		for _, p := range parts[1:] {
			same = same && p == parts[0]
		}
		if same {
			return parts[0]
		}
	}
	return strings.Join(parts, " / ")
}
