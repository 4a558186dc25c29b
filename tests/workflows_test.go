package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
)

// The delivery workflows in .github/workflows, read as GitHub reads them. actionlint (in
// scripts/lint.sh) checks that they are valid workflows, and here the composite actions' steps
// too, which it does not read on its own; these tests check that they do what docs/delivery.md
// promises: a preview of every stack on each pull request, updates in stack order behind their
// environments, a daily drift check, no backend or credential in a workflow file, and cluster
// credentials through each cloud's OIDC federation rather than a stored key.

type workflow struct {
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]job    `yaml:"jobs"`
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
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]any    `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

// action is a composite action of .github/actions.
type action struct {
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []step `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T, name string) action {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", ".github", "actions", name, "action.yml"))
	require.NoError(t, err)
	var a action
	require.NoError(t, yaml.Unmarshal(b, &a), name)
	require.Equal(t, "composite", a.Runs.Using, name)
	return a
}

// workflowFiles are the workflows' names in .github/workflows.
func workflowFiles(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", ".github", "workflows", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	return names
}

// actionNames are the composite actions' directory names in .github/actions.
func actionNames(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", ".github", "actions", "*", "action.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(filepath.Dir(p)))
	}
	return names
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
	// The composite actions pass their inputs on through the environment, never a command line:
	// no expression is expanded inside a script.
	for _, name := range actionNames(t) {
		for i, s := range readAction(t, name).Runs.Steps {
			assert.NotContains(t, s.Run, "${{", "%s: step %d expands an expression inside its script", name, i+1)
		}
	}
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

// clusterLogin is the one step through which a job reaches a stack's cluster. The GitHub
// environment's variable CLOUD picks how: aws, gcp and azure through OIDC federation, other (or
// none) the environment's static secret KUBECONFIG (docs/delivery.md#cloud-credentials-in-ci).
const clusterLogin = "./.github/actions/cluster-login"

// cloudCondition is the `if` that keeps a step of cluster-login to one cloud.
var cloudCondition = regexp.MustCompile(`^steps\.cloud\.outputs\.cloud == '([a-z]+)'$`)

// fromVariable is an expression that reads one of the environment's variables, as cluster-login
// is given them (toJSON(vars)).
var fromVariable = regexp.MustCompile(`^\$\{\{ fromJSON\(inputs\.variables\)\.([A-Z0-9_]+) \}\}$`)

// missingVariable is the error cluster-login's first step reports for a variable its cloud needs.
var missingVariable = regexp.MustCompile(`^variable ([A-Z0-9_]+) is not set`)

// cloudLogin is an official action a cloud's login uses, with the inputs that must come from
// variables.
type cloudLogin struct {
	action string
	inputs []string
}

// cloudLogins are the official actions each cloud's login goes through, in order, with the inputs
// that name the federated identity and the cluster.
var cloudLogins = map[string][]cloudLogin{
	"aws": {{"aws-actions/configure-aws-credentials", []string{"role-to-assume", "aws-region"}}},
	"gcp": {
		{"google-github-actions/auth", []string{"workload_identity_provider", "service_account"}},
		{"google-github-actions/get-gke-credentials", []string{"cluster_name", "location"}},
	},
	"azure": {
		{"azure/login", []string{"client-id", "tenant-id", "subscription-id"}},
		{"azure/use-kubelogin", nil},
		{"azure/aks-set-context", []string{"resource-group", "cluster-name"}},
	},
}

// cloudKubeconfigCommands are the scripts that write or convert a cloud's kubeconfig, after its
// actions: the EKS kubeconfig runs `aws eks get-token` with the role's session, and an Entra ID
// cluster's takes its tokens from the Azure CLI's federated login.
var cloudKubeconfigCommands = map[string]*regexp.Regexp{
	"aws":   regexp.MustCompile(`aws eks update-kubeconfig --name "\$CLUSTER" --region "\$REGION"`),
	"azure": regexp.MustCompile(`kubelogin convert-kubeconfig -l (azurecli|workloadidentity)`),
}

// staticCloudKeys name long-lived cloud credentials (access keys, service account keys, client
// secrets) and the inputs that take one: no workflow or action names any.
var staticCloudKeys = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws-access-key-id", "aws-secret-access-key",
	"GOOGLE_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS", "credentials_json",
	"AZURE_CREDENTIALS", "AZURE_CLIENT_SECRET", "client-secret", "creds:",
}

// workflowSecrets are the only secrets the workflows read: the stack's backend and passphrase, the
// static kubeconfig of a cluster outside the three clouds, and the job's own token. Another one
// is another long-lived credential to keep and rotate: add it here only with the reason.
var workflowSecrets = []string{"GITHUB_TOKEN", "KUBECONFIG", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"}

// Every job that runs pulumi against a cluster logs in through cluster-login, with the variables
// of its GitHub environment; cluster-login logs in to each of AWS, Google Cloud and Azure through
// the cloud's OIDC federation, chosen by CLOUD, and reads the static kubeconfig only when CLOUD
// is other or unset; no workflow names a static cloud key, and only the jobs that log in hold
// the OIDC token's permission.
func TestCloudLoginIsFederated(t *testing.T) {
	a := readAction(t, "cluster-login")
	assert.True(t, a.Inputs["variables"].Required)
	assert.False(t, a.Inputs["kubeconfig"].Required, "a cloud's environment has no kubeconfig secret")
	check, byCloud := loginSteps(t, a)
	assert.ElementsMatch(t, []string{"aws", "gcp", "azure", "other"}, slices.Collect(maps.Keys(byCloud)))
	for cloud, logins := range cloudLogins {
		read := checkCloudSteps(t, cloud, byCloud[cloud], logins)
		checkCloudVariables(t, check, cloud, read)
	}
}

// loginSteps are cluster-login's first step, which reads CLOUD and the chosen cloud's variables,
// and its other steps by the cloud they are kept to (every step but the last check is kept to one
// cloud by the first step's output).
func loginSteps(t *testing.T, a action) (check step, byCloud map[string][]step) {
	t.Helper()
	steps := a.Runs.Steps
	require.NotEmpty(t, steps)
	check = steps[0]
	require.Equal(t, "cloud", check.ID, "the first step chooses the cloud")
	assert.Equal(t, map[string]string{
		"VARIABLES":      "${{ inputs.variables }}",
		"HAS_KUBECONFIG": "${{ inputs.kubeconfig != '' }}",
	}, check.Env, "it reads the variables, and only whether there is a kubeconfig")
	byCloud = map[string][]step{}
	for _, s := range steps[1:] {
		m := cloudCondition.FindStringSubmatch(s.If)
		if m == nil {
			assert.Empty(t, s.If, "a step kept to a cloud by anything but its choice: %q", s.If)
			assert.True(t, s.Uses == "" && s.With == nil && s.Env == nil, "a step for every cloud logs in to none: %+v", s)
			continue
		}
		byCloud[m[1]] = append(byCloud[m[1]], s)
	}
	return check, byCloud
}

// checkCloudSteps holds one cloud's steps to its logins, in order, pinned, given variables only,
// then its kubeconfig command; it returns the variables they read.
func checkCloudSteps(t *testing.T, cloud string, cs []step, logins []cloudLogin) map[string]bool {
	t.Helper()
	at := -1
	for _, want := range logins {
		i := slices.IndexFunc(cs, func(s step) bool { return strings.HasPrefix(s.Uses, want.action+"@") })
		if !assert.GreaterOrEqual(t, i, 0, "%s: no %s step", cloud, want.action) {
			continue
		}
		assert.Greater(t, i, at, "%s: %s runs after the steps before it in %v", cloud, want.action, logins)
		at = i
		s := cs[i]
		assert.Regexp(t, `@v\d+(\.\d+){0,2}$`, s.Uses, "pinned to a release tag, as the repository's other actions")
		for _, in := range want.inputs {
			assert.Regexp(t, fromVariable, s.With[in], "%s: %s's %s comes from a variable", cloud, want.action, in)
		}
	}
	if cmd, ok := cloudKubeconfigCommands[cloud]; ok {
		i := slices.IndexFunc(cs, func(s step) bool { return cmd.MatchString(s.Run) })
		assert.Greater(t, i, at, "%s: %s, after its login", cloud, cmd)
	}
	// Every value a cloud's steps are given is one of its variables or a literal, never a secret.
	read := map[string]bool{}
	for _, s := range cs {
		values := map[string]string{}
		for k, v := range s.With {
			values["with "+k] = fmt.Sprint(v)
		}
		for k, v := range s.Env {
			values["env "+k] = v
		}
		for k, v := range values {
			if !strings.Contains(v, "${{") {
				continue
			}
			if m := fromVariable.FindStringSubmatch(v); assert.NotNil(t, m, "%s: %s%s: %s %s", cloud, s.Uses, s.Run, k, v) {
				read[m[1]] = true
			}
		}
	}
	return read
}

// checkCloudVariables runs the first step as the cloud's environment would: it asks for exactly
// the variables the cloud's steps read, refuses each one missing by name, and reports a kubeconfig
// secret left beside a cloud login.
func checkCloudVariables(t *testing.T, check step, cloud string, read map[string]bool) {
	t.Helper()
	_, errs, _ := runCloudCheck(t, check, map[string]string{"CLOUD": cloud}, false)
	var asked []string
	for _, e := range errs {
		if m := missingVariable.FindStringSubmatch(e); m != nil {
			asked = append(asked, m[1])
		}
	}
	assert.ElementsMatch(t, slices.Collect(maps.Keys(read)), asked, "%s: the variables checked are the variables read", cloud)
	all := map[string]string{"CLOUD": cloud}
	for _, v := range asked {
		all[v] = "set"
	}
	got, errs, warnings := runCloudCheck(t, check, all, true)
	assert.Equal(t, cloud, got)
	assert.Empty(t, errs)
	assert.NotEmpty(t, warnings, "%s: a kubeconfig secret beside a cloud login is reported, to be deleted", cloud)
	for _, v := range asked {
		one := maps.Clone(all)
		delete(one, v)
		got, errs, _ := runCloudCheck(t, check, one, false)
		assert.Empty(t, got, "%s without %s", cloud, v)
		assert.Len(t, errs, 1, "%s without %s: one error, naming it", cloud, v)
	}
}

// The static kubeconfig: for other or no CLOUD, read by one step only; a misspelt cloud is an
// error, never the static path.
func TestStaticKubeconfigOnlyForOther(t *testing.T) {
	a := readAction(t, "cluster-login")
	check, _ := loginSteps(t, a)
	for _, vars := range []map[string]string{{}, {"CLOUD": ""}, {"CLOUD": "other"}} {
		got, errs, _ := runCloudCheck(t, check, vars, true)
		assert.Equal(t, "other", got, "%v", vars)
		assert.Empty(t, errs, "%v", vars)
	}
	for _, bad := range []string{"AWS", "eks", "gke"} {
		got, errs, _ := runCloudCheck(t, check, map[string]string{"CLOUD": bad}, true)
		assert.Empty(t, got, bad)
		assert.NotEmpty(t, errs, bad)
	}
	var static []step
	for _, s := range a.Runs.Steps[1:] {
		if strings.Contains(fmt.Sprint(s.With, s.Env, s.If), "inputs.kubeconfig") {
			static = append(static, s)
		}
	}
	require.Len(t, static, 1, "one step reads the kubeconfig input")
	assert.Equal(t, "steps.cloud.outputs.cloud == 'other'", static[0].If, "the static kubeconfig only for other")
	assert.Equal(t, "${{ inputs.kubeconfig }}", static[0].Env["KUBECONFIG_DATA"], "through the environment")
}

// Each job that runs pulumi logs in first, in its environment, and holds id-token: write; no
// other job does, and no workflow grants it to all its jobs.
func TestOnlyTheJobsThatLogInHoldTheOIDCToken(t *testing.T) {
	var loginJobs []string
	for _, name := range workflowFiles(t) {
		w := readWorkflow(t, name)
		assert.NotContains(t, w.Permissions, "id-token", "%s: the OIDC token only for the jobs that log in", name)
		logins := 0
		for jobName, j := range w.Jobs {
			where := name + " " + jobName
			if checkJobLogin(t, where, j) {
				loginJobs = append(loginJobs, where)
				logins++
			}
		}
		b, err := os.ReadFile(filepath.Join("..", ".github", "workflows", name))
		require.NoError(t, err)
		assert.Equal(t, logins, strings.Count(string(b), "secrets.KUBECONFIG"), "%s: the static kubeconfig only goes to %s", name, clusterLogin)
	}
	assert.ElementsMatch(t, []string{"deploy-stack.yml up", "drift.yml drift", "pull-request.yml preview"}, loginJobs)
}

// checkJobLogin holds one job to the rule, and says whether it logs in itself.
func checkJobLogin(t *testing.T, where string, j job) bool {
	t.Helper()
	login := slices.IndexFunc(j.Steps, func(s step) bool { return s.Uses == clusterLogin })
	pulumi := slices.IndexFunc(j.Steps, func(s step) bool { return strings.HasPrefix(s.Uses, "pulumi/actions@") })
	if pulumi >= 0 {
		require.GreaterOrEqual(t, login, 0, "%s runs pulumi against a cluster without %s", where, clusterLogin)
		assert.Less(t, login, pulumi, "%s logs in before pulumi", where)
	}
	if login >= 0 {
		assert.NotEmpty(t, j.Environment, "%s: the variables that pick the login are its environment's", where)
		assert.Equal(t, map[string]any{
			"variables":  "${{ toJSON(vars) }}",
			"kubeconfig": "${{ secrets.KUBECONFIG }}",
		}, j.Steps[login].With, where)
	}
	// A job calling a workflow whose job logs in grants it the token: a called workflow's job
	// holds no permission its caller's job lacks.
	callsLogin := false
	if called, ok := strings.CutPrefix(j.Uses, "./.github/workflows/"); ok {
		for _, cj := range readWorkflow(t, called).Jobs {
			callsLogin = callsLogin || slices.ContainsFunc(cj.Steps, func(s step) bool { return s.Uses == clusterLogin })
		}
	}
	if login >= 0 || callsLogin {
		assert.Equal(t, "write", j.Permissions["id-token"], "%s: the OIDC token its login trades", where)
		assert.Equal(t, "read", j.Permissions["contents"], where)
	} else {
		assert.NotContains(t, j.Permissions, "id-token", "%s does not log in", where)
	}
	return login >= 0
}

// No static cloud key anywhere in the workflows and actions, and no secret but the known ones.
func TestNoStaticCloudKeyInTheWorkflows(t *testing.T) {
	secretRef := regexp.MustCompile(`secrets\.([A-Za-z0-9_]+)`)
	var files []string
	for _, name := range workflowFiles(t) {
		files = append(files, filepath.Join("..", ".github", "workflows", name))
	}
	for _, name := range actionNames(t) {
		files = append(files, filepath.Join("..", ".github", "actions", name, "action.yml"))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, key := range staticCloudKeys {
			assert.False(t, strings.Contains(string(b), key), "%s names %s, a static cloud credential: log in through cluster-login's OIDC federation", f, key)
		}
		for _, m := range secretRef.FindAllStringSubmatch(string(b), -1) {
			assert.Contains(t, workflowSecrets, m[1], "%s: secret %s", f, m[1])
		}
	}
}

// runCloudCheck runs cluster-login's first step as the runner would (bash -eo pipefail), with the
// environment's variables and whether the environment has a kubeconfig secret. It returns the
// cloud the step chose (empty when it failed) and the errors and warnings it reported.
func runCloudCheck(t *testing.T, s step, variables map[string]string, kubeconfig bool) (cloud string, errs, warnings []string) {
	t.Helper()
	dir := t.TempDir()
	script, output := filepath.Join(dir, "step.sh"), filepath.Join(dir, "output")
	require.NoError(t, os.WriteFile(script, []byte(s.Run), 0o600))
	require.NoError(t, os.WriteFile(output, nil, 0o600))
	vars, err := json.Marshal(variables)
	require.NoError(t, err)
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Env = append(os.Environ(), "VARIABLES="+string(vars), "HAS_KUBECONFIG="+strconv.FormatBool(kubeconfig), "GITHUB_OUTPUT="+output)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	for _, l := range strings.Split(string(out), "\n") {
		if e, ok := strings.CutPrefix(l, "::error::"); ok {
			errs = append(errs, e)
		} else if w, ok := strings.CutPrefix(l, "::warning::"); ok {
			warnings = append(warnings, w)
		}
	}
	if runErr != nil {
		require.NotEmpty(t, errs, "%v: the step failed without saying why: %s", variables, stderr.String())
		return "", errs, warnings
	}
	require.Empty(t, errs, "%v: errors reported, and the step succeeded", variables)
	b, err := os.ReadFile(output)
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "cloud="); ok {
			cloud = v
		}
	}
	return cloud, errs, warnings
}

// actionlint (scripts/lint.sh) reads the workflows, and checks the inputs they give a local
// action against its metadata, but never the action's own steps. Here each composite action's
// steps, set as the one job of a workflow, go through it: the inputs they give the actions
// actionlint knows, their expressions (an input the action does not declare), and their scripts
// (with shellcheck, when it is on PATH, as lint.sh has it).
func TestCompositeActionsPassActionlint(t *testing.T) {
	bin := builtTool(t, "actionlint")
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck is not on PATH: the actions' scripts are not checked (scripts/lint.sh installs it)")
	}
	dir := t.TempDir()
	workflows := filepath.Join(dir, ".github", "workflows")
	require.NoError(t, os.MkdirAll(workflows, 0o755))
	var files []string
	for _, name := range actionNames(t) {
		b, err := os.ReadFile(filepath.Join("..", ".github", "actions", name, "action.yml"))
		require.NoError(t, err)
		var doc struct {
			Inputs map[string]any `yaml:"inputs"`
			Runs   struct {
				Steps []any `yaml:"steps"`
			} `yaml:"runs"`
		}
		require.NoError(t, yaml.Unmarshal(b, &doc), name)
		inputs := map[string]any{}
		for in := range doc.Inputs {
			inputs[in] = map[string]any{"type": "string", "required": false}
		}
		wf, err := yaml.Marshal(map[string]any{
			"name":        "action " + name,
			"on":          map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
			"permissions": map[string]any{"contents": "read"},
			"jobs":        map[string]any{"steps": map[string]any{"runs-on": "ubuntu-24.04", "steps": doc.Runs.Steps}},
		})
		require.NoError(t, err)
		f := filepath.Join(workflows, name+".yml")
		require.NoError(t, os.WriteFile(f, wf, 0o644))
		files = append(files, f)
	}
	cmd := exec.Command(bin, append([]string{"-color=false"}, files...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "actionlint over the steps of .github/actions/<name>/action.yml (as <name>.yml):\n%s", out)
}
