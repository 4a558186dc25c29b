package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/tests/settingcases"
)

// Every setting (each key, each field of an object key) has a typical value and a bad one in
// tests/settingcases: a setting added without them fails here, and in the end-to-end suite,
// which runs the same cases through the real `pulumi config set --path`.
func TestEverySettingHasCLICases(t *testing.T) {
	good, badValue := map[string]int{}, map[string]int{}
	for _, c := range settingcases.Cases() {
		covered := false
		for _, leaf := range settingcases.Leaves() {
			if settingcases.Covers(c.Path, leaf) {
				covered = true
				if c.Err == "" {
					good[leaf]++
				} else {
					badValue[leaf]++
				}
			}
		}
		assert.True(t, covered, "case %s sets no setting the program reads", c.Name())
	}
	for _, leaf := range settingcases.Leaves() {
		assert.NotZero(t, good[leaf], "%s has no typical value in tests/settingcases", leaf)
		assert.NotZero(t, badValue[leaf], "%s has no bad value in tests/settingcases", leaf)
	}
}

// Each case, stored as the CLI stores it (its documented typing, settingcases.CLITyped), gives
// the value or the exact error the case expects.
func TestCLICasesParse(t *testing.T) {
	for _, c := range settingcases.Cases() {
		t.Run(c.Name(), func(t *testing.T) {
			assert.NoError(t, c.Check(project, caseSource(t, c, nil)))
		})
	}
}

// caseSource is the configuration a case leaves: a copy of its environment's stack file, as the
// end-to-end suite's CLI starts from, with first each of the settings given here, then the
// case's own, set as `pulumi config set --path` sets them.
func caseSource(t *testing.T, c settingcases.Case, first [][2]string) load.Source {
	t.Helper()
	src := load.Source{Values: stackEnv(t, c.Environment(), nil), Secrets: map[string]bool{}}
	objects := map[string]any{}
	for k, v := range src.Values {
		var object map[string]any
		if json.Unmarshal([]byte(v), &object) == nil && object != nil {
			objects[k] = object
		}
	}
	for _, set := range append(append(first, c.Before...), [2]string{c.Path, c.Value}) {
		setPath(t, src, objects, set[0], set[1])
	}
	for _, set := range c.Before {
		if settingcases.IsCredential(set[0]) {
			src.Secrets[set[0]] = true
		}
	}
	if c.Secret {
		// The CLI marks the whole top-level key secret when any field of it is.
		top, _, _ := strings.Cut(c.Path, ".")
		src.Secrets[top] = true
	}
	for k, v := range objects {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		src.Values[k] = string(b)
	}
	return src
}

// setPath does what `pulumi config set --path PATH VALUE` does to a stack's configuration: a
// top-level key takes the value as a string; a deeper path builds objects, with the value typed
// as the CLI types it; a final [0] puts it in a list, and a [0] further up makes a list of one
// object (tolerations.worker[0].key).
func setPath(t *testing.T, src load.Source, objects map[string]any, path, value string) {
	t.Helper()
	steps := strings.Split(path, ".")
	if len(steps) == 1 && !strings.Contains(path, "[") {
		src.Values[path] = value
		return
	}
	var typed any = settingcases.CLITyped(value)
	last := steps[len(steps)-1]
	if name, ok := strings.CutSuffix(last, "[0]"); ok {
		steps[len(steps)-1], typed = name, []any{typed}
	}
	require.NotContains(t, steps[0]+steps[len(steps)-1], "[", "only [0] is simulated, and not on the top-level key: %s", path)
	obj, _ := objects[steps[0]].(map[string]any)
	if obj == nil {
		obj = map[string]any{}
		objects[steps[0]] = obj
	}
	for _, step := range steps[1 : len(steps)-1] {
		name, inList := strings.CutSuffix(step, "[0]")
		require.NotContains(t, name, "[", "only [0] is simulated: %s", path)
		if inList {
			list, _ := obj[name].([]any)
			if len(list) == 0 {
				list = []any{map[string]any{}}
				obj[name] = list
			}
			obj = list[0].(map[string]any)
			continue
		}
		next, _ := obj[name].(map[string]any)
		if next == nil {
			next = map[string]any{}
			obj[name] = next
		}
		obj = next
	}
	obj[steps[len(steps)-1]] = typed
}
