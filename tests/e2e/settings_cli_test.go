//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/tests/settingcases"
)

// Every setting as people type it, through the real CLI: for each case of tests/settingcases
// (a typical and a bad value of every key and every field), `pulumi config set --path KEY VALUE`
// on a copy of a committed stack file, then the configuration as the CLI hands it to the program
// (`pulumi config --json --show-secrets`, which reads that file), parsed by load.Parse: the
// value the settings view shows, or the exact error. No cluster is involved.
func TestSettingsThroughTheCLI(t *testing.T) {
	const project = "pynomaly-platform"
	covered := map[string]bool{}
	for _, c := range settingcases.Cases() {
		for _, leaf := range settingcases.Leaves() {
			if settingcases.Covers(c.Path, leaf) {
				covered[leaf+"/"+fmt.Sprint(c.Err == "")] = true
			}
		}
	}
	for _, leaf := range settingcases.Leaves() {
		assert.True(t, covered[leaf+"/true"], "%s has no typical value in tests/settingcases", leaf)
		assert.True(t, covered[leaf+"/false"], "%s has no bad value in tests/settingcases", leaf)
	}

	// The CLI needs a project and a stack (for --secret, the stack's secrets provider writes its
	// salt into the file given with --config-file); the program itself never runs.
	dir := t.TempDir()
	pulumiYAML, err := os.ReadFile(filepath.Join(repo, "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), pulumiYAML, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".state"), 0o755))
	cli := func(args ...string) (string, error) {
		// The stack's flags go before a "--" that ends the flags.
		flags := []string{"--stack", "cli", "--non-interactive"}
		i := len(args)
		for j, a := range args {
			if a == "--" {
				i = j
				break
			}
		}
		args = append(append(append([]string{}, args[:i]...), flags...), args[i:]...)
		cmd := exec.Command("pulumi", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+filepath.Join(dir, ".state"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cli("stack", "init")
	require.NoError(t, err, out)

	var mu sync.Mutex
	sem := make(chan struct{}, 4)
	for i, c := range settingcases.Cases() {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			file := filepath.Join(dir, fmt.Sprintf("case-%03d.yaml", i))
			committed, err := os.ReadFile(filepath.Join(repo, "Pulumi."+c.Environment()+".yaml"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(file, committed, 0o644))
			// A new slice: the cases run in parallel and may share Before's backing array.
			for _, set := range slices.Concat(c.Before, [][2]string{{c.Path, c.Value}}) {
				mode := "--plaintext"
				if c.Secret && set[0] == c.Path || set[0] != c.Path && settingcases.IsCredential(set[0]) {
					mode = "--secret"
				}
				// "--" ends the flags, so a value such as -8 is a value.
				out, err := cli("config", "set", "--path", mode, "--config-file", file, set[0], "--", set[1])
				require.NoError(t, err, "pulumi config set --path %s %s %q:\n%s", mode, set[0], set[1], out)
			}
			out, err := cli("config", "--json", "--show-secrets", "--config-file", file)
			require.NoError(t, err, out)
			var shown map[string]struct {
				Value  string `json:"value"`
				Secret bool   `json:"secret"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &shown), out)
			src := load.Source{Values: map[string]string{}, Secrets: map[string]bool{}}
			for k, v := range shown {
				name, ok := strings.CutPrefix(k, project+":")
				require.True(t, ok, "key %s outside the project", k)
				src.Values[name], src.Secrets[name] = v.Value, v.Secret
			}
			if err := c.Check(project, src); err != nil {
				stackFile, _ := os.ReadFile(file)
				mu.Lock()
				defer mu.Unlock()
				assert.NoError(t, err, "the stack file the CLI wrote:\n%s", stackFile)
			}
		})
	}
}

// A key the program does not read stops `pulumi preview` before anything is declared, naming the
// nearest key it does: Pulumi hands the program every key of its stack and checks none of them.
func TestUnknownKeyStopsPreview(t *testing.T) {
	p := newProject(t, "unknown", "Pulumi.dev.yaml")
	p.must("config", "set", "--path", "kubernetes.renderYamlToDirectory", filepath.Join(p.dir, "rendered"))
	p.must("config", "set", "apii", "3")
	out, err := p.run("preview")
	require.Error(t, err, "a stack with an unknown key previewed:\n%s", out)
	assert.Contains(t, out, `stack setting pynomaly-platform:apii = "3": is not a setting of this program; did you mean api?`)
	assert.NotContains(t, out, "Namespace", "nothing is declared")
	_, statErr := os.Stat(filepath.Join(p.dir, "rendered"))
	assert.True(t, os.IsNotExist(statErr), "nothing is rendered")
}
