package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
)

// The delivery workflows in .github/workflows, read as GitHub reads them. actionlint (in
// scripts/lint.sh) checks that they are valid workflows; these tests check that they do what
// docs/delivery.md promises: a preview of every stack on each pull request, updates in stack
// order behind their environments, a daily drift check, and no backend or credential in a
// workflow file.

type workflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]job `yaml:"jobs"`
}

type job struct {
	Needs       any                             `yaml:"needs"`
	Uses        string                          `yaml:"uses"`
	With        map[string]any                  `yaml:"with"`
	Environment string                          `yaml:"environment"`
	Strategy    struct{ Matrix map[string]any } `yaml:"strategy"`
	Steps       []step                          `yaml:"steps"`
	Permissions map[string]string               `yaml:"permissions"`
}

type step struct {
	Uses string         `yaml:"uses"`
	Run  string         `yaml:"run"`
	With map[string]any `yaml:"with"`
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", ".github", "workflows", name))
	require.NoError(t, err)
	var w workflow
	require.NoError(t, yaml.Unmarshal(b, &w), name)
	return w
}

// pulumiStep is the job's one pulumi/actions step.
func pulumiStep(t *testing.T, j job) step {
	t.Helper()
	var found []step
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "pulumi/actions@") {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "one pulumi/actions step")
	assert.Equal(t, "pulumi/actions@v6", found[0].Uses)
	return found[0]
}

// committedStacks are the stacks with a committed stack file: Pulumi.<stack>.yaml at the root
// that git tracks, or would add (not ignored). A stack file git ignores is a local stack's, such
// as a render stack's of scripts/quickstart.sh, and no workflow's business. Outside a git work
// tree (an exported tree) every stack file there is.
func committedStacks(t *testing.T) []string {
	var files []string
	inTree := exec.Command("git", "rev-parse", "--is-inside-work-tree")
	inTree.Dir = ".."
	if out, err := inTree.Output(); err == nil && strings.TrimSpace(string(out)) == "true" {
		cmd := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "Pulumi.*.yaml")
		cmd.Dir = ".."
		out, err := cmd.Output()
		require.NoError(t, err, "git ls-files")
		files = strings.Fields(string(out))
	} else {
		t.Log("not in a git work tree: every Pulumi.*.yaml counts as a committed stack file")
		var err error
		files, err = filepath.Glob(filepath.Join("..", "Pulumi.*.yaml"))
		require.NoError(t, err)
	}
	var stacks []string
	for _, f := range files {
		stacks = append(stacks, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	require.NotEmpty(t, stacks)
	return slices.Compact(slices.Sorted(slices.Values(stacks)))
}

func TestPullRequestsPreviewEveryStack(t *testing.T) {
	w := readWorkflow(t, "pull-request.yml")
	require.Contains(t, w.On, "pull_request")
	assert.Contains(t, runs(w.Jobs["unit"]), "bash scripts/test.sh --unit", "the unit suite, as the README runs it")

	preview := w.Jobs["preview"]
	assert.Equal(t, "unit", preview.Needs, "no preview of a change that fails its unit suite")
	assert.ElementsMatch(t, committedStacks(t), matrixList(preview, "stack"))
	assert.Equal(t, "write", preview.Permissions["pull-requests"], "the preview is posted as a comment")
	s := pulumiStep(t, preview)
	assert.Equal(t, "preview", s.With["command"])
	assert.Equal(t, "${{ matrix.stack }}", s.With["stack-name"])
	assert.Equal(t, true, s.With["diff"])
	assert.Equal(t, true, s.With["comment-on-pr"])
	assert.Equal(t, true, s.With["edit-pr-comment"], "one comment per stack, kept up to date")

	// docs/delivery.md gives the same command: pulumi preview --diff for the stack.
	delivery, err := os.ReadFile("../docs/delivery.md")
	require.NoError(t, err)
	assert.Contains(t, string(delivery), "pulumi preview --diff --stack "+"<stack>")
}

func TestMergesDeployInStackOrderBehindEnvironments(t *testing.T) {
	w := readWorkflow(t, "deploy.yml")
	push, ok := w.On["push"].(map[string]any)
	require.True(t, ok, "deploys on push")
	assert.Equal(t, []any{"main"}, push["branches"])

	order := []string{"dev", "staging", "prod"}
	prev := "unit"
	assert.Contains(t, runs(w.Jobs["unit"]), "bash scripts/test.sh --unit")
	// Prod also waits for the end-to-end suite, which runs the drills and the real node.
	assert.Contains(t, runs(w.Jobs["end-to-end"]), "bash scripts/e2e.sh")
	assert.Equal(t, "unit", w.Jobs["end-to-end"].Needs)
	for _, stack := range order {
		j, ok := w.Jobs[stack]
		require.True(t, ok, "a job for %s", stack)
		want := any(prev)
		if stack == "prod" {
			want = []any{prev, "end-to-end", "scan"}
		}
		assert.Equal(t, want, j.Needs, "%s updates only after %v succeeded", stack, want)
		assert.Equal(t, "./.github/workflows/deploy-stack.yml", j.Uses)
		assert.Equal(t, stack, j.With["stack"])
		prev = stack
	}
	assert.ElementsMatch(t, committedStacks(t), order)

	up := readWorkflow(t, "deploy-stack.yml").Jobs["up"]
	assert.Equal(t, "${{ inputs.stack }}", up.Environment, "the stack's GitHub environment holds its approvals and secrets")
	s := pulumiStep(t, up)
	assert.Equal(t, "up", s.With["command"])
	assert.Equal(t, "${{ inputs.stack }}", s.With["stack-name"])
}

func TestDriftIsCheckedDaily(t *testing.T) {
	w := readWorkflow(t, "drift.yml")
	require.Contains(t, w.On, "schedule")
	j := w.Jobs["drift"]
	assert.ElementsMatch(t, committedStacks(t), matrixList(j, "stack"))
	s := pulumiStep(t, j)
	assert.Equal(t, "preview", s.With["command"])
	assert.Equal(t, true, s.With["refresh"], "compares with what the cluster holds, not only with the state")
	assert.Equal(t, true, s.With["expect-no-changes"], "fails on drift")
}

// Backend, passphrase and kubeconfig come from secrets; no workflow names a backend, a local
// state or a literal passphrase.
func TestWorkflowsTakeCredentialsOnlyFromSecrets(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", ".github", "*", "*.yml"))
	require.NoError(t, err)
	more, err := filepath.Glob(filepath.Join("..", ".github", "actions", "*", "action.yml"))
	require.NoError(t, err)
	files = append(files, more...)
	require.GreaterOrEqual(t, len(files), 5)
	credential := regexp.MustCompile(`(?m)^[ \t]*(cloud-url|backend-url|passphrase|kubeconfig|PULUMI_CONFIG_PASSPHRASE|PULUMI_ACCESS_TOKEN|PULUMI_BACKEND_URL):[ \t]*(\S.*)$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		text := string(b)
		for _, m := range credential.FindAllStringSubmatch(text, -1) {
			assert.Regexp(t, `^\$\{\{ (secrets|inputs)\.[A-Za-z_-]+ \}\}$`, m[2], "%s: %s", f, m[0])
		}
		for _, bad := range []string{"file://", "s3://", "pynomaly-local-only"} {
			assert.NotContains(t, text, bad, f)
		}
	}
	// The composite action passes its inputs on through the environment, never a command line.
	b, err := os.ReadFile(filepath.Join("..", ".github", "actions", "stack-access", "action.yml"))
	require.NoError(t, err)
	assert.NotRegexp(t, `run:[^\n]*\$\{\{ inputs\.`, string(b))
	assert.False(t, slices.ContainsFunc(strings.Split(string(b), "\n"), func(l string) bool {
		return strings.Contains(l, "${{ inputs.") && !strings.Contains(l, ": ${{ inputs.")
	}), "an input expanded inside a script")
}

// runs is every run: block of the job.
// matrixList is a job's matrix dimension given as a list.
func matrixList(j job, name string) []string {
	var out []string
	list, _ := j.Strategy.Matrix[name].([]any)
	for _, v := range list {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func runs(j job) string {
	var b strings.Builder
	for _, s := range j.Steps {
		b.WriteString(s.Run + "\n")
	}
	return b.String()
}

// The deploy workflow scans exactly what prod runs before prod's update: the image list comes from
// cmd/settings --images, which reads the program's plan of the stack, and that list is every
// image of every pod template the program declares, in each stack.
func TestScannedImagesAreTheDeployedImages(t *testing.T) {
	w := readWorkflow(t, "deploy.yml")
	assert.Contains(t, runs(w.Jobs["images"]), "go run ./cmd/settings --images prod")
	scan := w.Jobs["scan"]
	assert.Equal(t, "images", scan.Needs)
	assert.Equal(t, "${{ fromJSON(needs.images.outputs.list) }}", scan.Strategy.Matrix["image"])
	var scanner step
	for _, s := range scan.Steps {
		if strings.HasPrefix(s.Uses, "aquasecurity/trivy-action@") {
			scanner = s
		}
	}
	assert.Equal(t, "${{ matrix.image }}", scanner.With["image-ref"])
	assert.Equal(t, "CRITICAL", scanner.With["severity"])
	assert.Equal(t, "1", scanner.With["exit-code"], "a critical finding fails the scan")
	assert.Equal(t, ".trivyignore", scanner.With["trivyignores"])
	_, err := os.Stat("../.trivyignore")
	assert.NoError(t, err, "the allow-list file the scan reads")

	bin := filepath.Join(t.TempDir(), "settings")
	build := exec.Command("go", "build", "-o", bin, "./cmd/settings")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, env := range envs {
		list := exec.Command(bin, "--images", env)
		list.Dir = ".."
		out, err := list.Output()
		require.NoError(t, err, env)
		var deployed []string
		for _, p := range deploy(t, env, nil).PodTemplates() {
			for _, c := range p.Containers() {
				deployed = append(deployed, p.Owner.Str(t, c+".image"))
			}
		}
		slices.Sort(deployed)
		assert.Equal(t, slices.Compact(deployed), strings.Fields(string(out)), "%s: the scanned images are the deployed ones", env)
	}
}

// Renovate proposes updates weekly: Go modules, GitHub Actions and the images the profiles pin.
// renovate.json is valid against Renovate's own schema (scripts/test.sh fetches it from
// Renovate's npm package), names no option the schema does not know, and its image pattern finds
// exactly the images the profiles pin.
func TestUpdateAutomationIsValidAndFindsEveryPinnedImage(t *testing.T) {
	path := os.Getenv("PYNOMALY_RENOVATE_SCHEMA")
	require.NotEmpty(t, path, "PYNOMALY_RENOVATE_SCHEMA: run scripts/test.sh, which fetches Renovate's schema")
	schemaFile, err := os.Open(path)
	require.NoError(t, err)
	defer schemaFile.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(schemaFile)
	require.NoError(t, err)
	const url = "https://docs.renovatebot.com/renovate-schema.json"
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource(url, schemaDoc))
	schema, err := c.Compile(url)
	require.NoError(t, err)
	raw, err := os.ReadFile("../renovate.json")
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	require.NoError(t, schema.Validate(doc))
	known := schemaDoc.(map[string]any)["properties"].(map[string]any)
	for k := range doc.(map[string]any) {
		_, ok := known[k]
		assert.True(t, ok || k == "$schema", "renovate.json: %s is no option of Renovate's", k)
	}

	var cfg struct {
		Schedule        []string `json:"schedule"`
		EnabledManagers []string `json:"enabledManagers"`
		CustomManagers  []struct {
			ManagerFilePatterns []string `json:"managerFilePatterns"`
			MatchStrings        []string `json:"matchStrings"`
			DatasourceTemplate  string   `json:"datasourceTemplate"`
		} `json:"customManagers"`
	}
	require.NoError(t, json.Unmarshal(raw, &cfg))
	assert.Equal(t, []string{"before 6am on monday"}, cfg.Schedule, "weekly")
	assert.Subset(t, cfg.EnabledManagers, []string{"gomod", "github-actions", "custom.regex"})
	require.Len(t, cfg.CustomManagers, 1)
	m := cfg.CustomManagers[0]
	assert.Equal(t, "docker", m.DatasourceTemplate)
	const imagesFile = "config/settings_images.go"
	require.Len(t, m.ManagerFilePatterns, 1)
	assert.Regexp(t, strings.Trim(m.ManagerFilePatterns[0], "/"), imagesFile, "the pattern names the profiles' images")
	src, err := os.ReadFile("../" + imagesFile)
	require.NoError(t, err)
	found := map[string]bool{}
	for _, ms := range m.MatchStrings {
		re := regexp.MustCompile(ms)
		for _, g := range re.FindAllStringSubmatch(string(src), -1) {
			found[g[re.SubexpIndex("depName")]+":"+g[re.SubexpIndex("currentValue")]] = true
		}
	}
	pinned := map[string]bool{}
	for _, env := range config.Environments {
		p, _ := config.Profile(env)
		v := reflect.ValueOf(p.Images)
		for i := range v.NumField() {
			if image := v.Field(i).String(); strings.Contains(image, ":") {
				pinned[image] = true
			}
		}
	}
	assert.Equal(t, pinned, found, "renovate.json's pattern finds every pinned image and nothing else")
}
