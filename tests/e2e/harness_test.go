//go:build e2e

// Package e2e drives the real Pulumi engine and providers against a real Kubernetes API server
// (scripts/cluster.sh): preview, up, no-change preview, export, a setting change and destroy
// of every stack. Run it with scripts/e2e.sh, which builds the toolchain and starts the cluster.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	repo       string
	kubeconfig string
)

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	repo = filepath.Clean(filepath.Join(wd, "..", ".."))
	kubeconfig = os.Getenv("PYNOMALY_E2E_KUBECONFIG")
	if kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "PYNOMALY_E2E_KUBECONFIG is not set: run scripts/e2e.sh")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// A project holds a source tree's Pulumi program: every file of the tree except version control
// and other dot-directories (.git, .state, .tools), output (bin, the built program; rendered) and
// the tests. Stack files are left out too: a project holds exactly the one its stack uses.
var notProgram = map[string]bool{"bin": true, "rendered": true, "tests": true}

func isStackFile(name string) bool {
	return strings.HasPrefix(name, "Pulumi.") && name != "Pulumi.yaml" &&
		(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"))
}

// copyProgram copies the Pulumi program of the source tree src (a clone's work tree, or a
// commit extracted by checkoutCommit) into dst.
func copyProgram(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return os.MkdirAll(dst, 0o755)
		}
		top := !strings.Contains(rel, string(filepath.Separator))
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || top && notProgram[d.Name()] {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if top && isStackFile(d.Name()) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	}))
	_, err := os.Stat(filepath.Join(dst, "Pulumi.yaml"))
	require.NoError(t, err, "%s holds no Pulumi project", src)
}

// project is a copy of the Pulumi project (the program and one committed stack file) in a
// temporary directory, with its own file backend.
type project struct {
	t       *testing.T
	dir     string
	backend string
	stack   string
}

// newProject is a project of the clone's work tree with its stack file stackFile.
func newProject(t *testing.T, stack, stackFile string) *project {
	t.Helper()
	return newProjectFrom(t, repo, stack, stackFile)
}

// newProjectFrom is a project of the source tree tree, with tree's stack file stackFile as the
// configuration of the stack stack.
func newProjectFrom(t *testing.T, tree, stack, stackFile string) *project {
	t.Helper()
	dir := t.TempDir()
	p := &project{t: t, dir: dir, backend: filepath.Join(dir, ".state"), stack: stack}
	p.useProgram(tree, stackFile)
	require.NoError(t, os.MkdirAll(p.backend, 0o755))
	p.must("stack", "init")
	return p
}

// useProgram makes the project's program and stack configuration those of the source tree
// tree (its stack file stackFile), keeping the project's state: what an upgrade does to a
// deployed stack. Everything but the state is replaced, so no file of a previous program stays.
func (p *project) useProgram(tree, stackFile string) {
	p.t.Helper()
	entries, err := os.ReadDir(p.dir)
	require.NoError(p.t, err)
	for _, e := range entries {
		if e.Name() != ".state" {
			require.NoError(p.t, os.RemoveAll(filepath.Join(p.dir, e.Name())))
		}
	}
	copyProgram(p.t, tree, p.dir)
	s, err := os.ReadFile(filepath.Join(tree, stackFile))
	require.NoError(p.t, err)
	require.NoError(p.t, os.WriteFile(filepath.Join(p.dir, "Pulumi."+p.stack+".yaml"), s, 0o644))
	prebuild(p.t, p.dir)
}

// prebuild compiles the project's program once and makes Pulumi run that binary
// (runtime.options.binary): otherwise the Go language host compiles it on every pulumi command
// (runtime: go, as earlier commits have it), or checks that it is up to date (buildTarget, as
// the working tree has it), neither of which the suite tests.
func prebuild(t *testing.T, dir string) {
	t.Helper()
	// -trimpath: every project is a copy of the program in a directory of its own, and without
	// it the Go cache keys each copy's packages by that directory, so every project compiled the
	// whole module afresh and the cache grew by gigabytes per suite run (it filled the disk).
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join("bin", "pynomaly-platform"), ".")
	build.Dir = dir
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	yaml := filepath.Join(dir, "Pulumi.yaml")
	b, err := os.ReadFile(yaml)
	require.NoError(t, err)
	const binary = "\nruntime:\n  name: go\n  options:\n    binary: bin/pynomaly-platform\n"
	runtime := regexp.MustCompile(`\nruntime: go\n|\nruntime:\n  name: go\n  options:\n(    #.*\n)*    buildTarget: bin/pynomaly-platform\n`)
	require.Regexp(t, runtime, string(b), "Pulumi.yaml declares the go runtime as the program's commits do")
	b = []byte(runtime.ReplaceAllLiteralString(string(b), binary))
	require.NoError(t, os.WriteFile(yaml, b, 0o644))
}

// onLocalCluster points the stack at the suite's local cluster. Its nodes run nothing,
// metrics-server included, so the program's preflight skips the metrics API there.
func (p *project) onLocalCluster() {
	p.t.Helper()
	p.must("config", "set", "--path", "kubernetes.kubeconfig", kubeconfig)
	p.must("config", "set", "--path", "kubernetes.skipPreflight[0]", "metrics-api")
	if p.isProd() {
		prodPrerequisites(p.t)
	}
}

// isProd says whether the project's stack file is a prod stack's.
func (p *project) isProd() bool {
	b, err := os.ReadFile(filepath.Join(p.dir, "Pulumi."+p.stack+".yaml"))
	require.NoError(p.t, err)
	return strings.Contains(string(b), "\n  pynomaly-platform:environment: prod\n")
}

// prodPrerequisites are what prod's stack file needs of a cluster beyond Kubernetes itself, as a
// cluster administrator installs them before the first deployment: cert-manager's, the Gateway
// API's, Envoy Gateway's and the CSI snapshot controller's definitions, the GatewayClass, and
// EKS's pod identity webhook (no controller runs here: the preflight checks they exist, the API
// server checks the objects against their schemas; the webhook's configuration has no webhook,
// so it changes no pod). Installed once; a test that removes some installs them again.
func prodPrerequisites(t *testing.T) {
	t.Helper()
	all := append(slices.Clone(edgeCRDs), "clusterissuers.cert-manager.io", "volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotclasses.snapshot.storage.k8s.io")
	if _, err := kubectl(t, append([]string{"get", "crd"}, all...)...); err == nil {
		if _, err := kubectl(t, "get", "gatewayclass/eg", "mutatingwebhookconfiguration/pod-identity-webhook"); err == nil {
			return
		}
	}
	installCRDs(t, "edge", edgeCRDs)
	installCRDs(t, "snapshots", []string{"volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotclasses.snapshot.storage.k8s.io"})
	installEntryClasses(t)
	webhook := filepath.Join(t.TempDir(), "identity-webhook.yaml")
	require.NoError(t, os.WriteFile(webhook, []byte("apiVersion: admissionregistration.k8s.io/v1\n"+
		"kind: MutatingWebhookConfiguration\nmetadata: {name: pod-identity-webhook}\nwebhooks: []\n"), 0o644))
	mustKubectl(t, "apply", "--server-side", "--field-manager", "pynomaly-e2e", "-f", webhook)
}

// command is the pulumi CLI in the project, on its stack and backend.
func (p *project) command(args ...string) *exec.Cmd {
	cmd := exec.Command("pulumi", append(args, "--stack", p.stack, "--non-interactive")...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+p.backend)
	return cmd
}

// start starts the pulumi CLI in the project; the caller waits for it.
func (p *project) start(args ...string) (*exec.Cmd, *bytes.Buffer) {
	p.t.Helper()
	cmd := p.command(args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(p.t, cmd.Start())
	return cmd, out
}

// run runs the pulumi CLI in the project and returns its combined output.
func (p *project) run(args ...string) (string, error) {
	p.t.Helper()
	cmd := p.command(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	p.t.Logf("pulumi %s: %s (%v)", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), errText(err))
	return out.String(), err
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// setSecret sets key with --secret, its value on the CLI's standard input: neither the command
// line nor the test's log shows it.
func (p *project) setSecret(key, value string) {
	p.t.Helper()
	cmd := p.command("config", "set", "--secret", key)
	cmd.Stdin = strings.NewReader(value)
	out, err := cmd.CombinedOutput()
	p.t.Logf("pulumi config set --secret %s (value on stdin): %v", key, errText(err))
	require.NoError(p.t, err, "pulumi config set --secret %s:\n%s", key, out)
}

func (p *project) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	require.NoError(p.t, err, "pulumi %s:\n%s", strings.Join(args, " "), out)
	return out
}

// discoveryNoise are kubectl's log lines about an aggregated API that does not answer: the
// metrics adapter's, whose pods never run in this cluster. They say nothing of the command.
var discoveryNoise = regexp.MustCompile(`(?m)^E[0-9]{4} .*(couldn't get resource list|unable to retrieve the complete list).*\n?`)

// kubectl runs the kubectl built with the cluster.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return discoveryNoise.ReplaceAllString(string(out), ""), err
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectl(t, args...)
	require.NoError(t, err, "kubectl %s:\n%s", strings.Join(args, " "), out)
	return out
}

// engineEvent is the part of a Pulumi engine event the suite reads.
type engineEvent struct {
	Sequence         int `json:"sequence"`
	ResourcePreEvent *struct {
		Metadata struct {
			Op  string `json:"op"`
			URN string `json:"urn"`
		} `json:"metadata"`
	} `json:"resourcePreEvent"`
	ResOutputsEvent *struct {
		Metadata struct {
			Op  string `json:"op"`
			URN string `json:"urn"`
		} `json:"metadata"`
	} `json:"resOutputsEvent"`
}

func readEvents(t *testing.T, path string) []engineEvent {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var events []engineEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var e engineEvent
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		events = append(events, e)
	}
	require.NoError(t, sc.Err())
	return events
}

// finished returns the sequence number at which the resource whose URN ends with suffix was
// done (its outputs recorded), and started the one at which its step began; -1 if absent.
func finished(events []engineEvent, suffix string) int {
	for _, e := range events {
		if e.ResOutputsEvent != nil && strings.HasSuffix(e.ResOutputsEvent.Metadata.URN, suffix) {
			return e.Sequence
		}
	}
	return -1
}

func started(events []engineEvent, suffix string) int {
	for _, e := range events {
		if e.ResourcePreEvent != nil && strings.HasSuffix(e.ResourcePreEvent.Metadata.URN, suffix) {
			return e.Sequence
		}
	}
	return -1
}

// previewStep is one step of `pulumi preview --json`.
type previewStep struct {
	Op             string   `json:"op"`
	URN            string   `json:"urn"`
	DiffReasons    []string `json:"diffReasons"`
	ReplaceReasons []string `json:"replaceReasons"`
	DetailedDiff   map[string]struct {
		Kind string `json:"kind"`
	} `json:"detailedDiff"`
	OldState *stepState `json:"oldState"`
	NewState *stepState `json:"newState"`
}

type stepState struct {
	Protect bool `json:"protect"`
	Inputs  struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	} `json:"inputs"`
}

// Type is the resource type of the step (the last one of its URN's type chain).
func (s previewStep) Type() string {
	parts := strings.Split(s.URN, "::")
	if len(parts) < 2 {
		return s.URN
	}
	typ := parts[len(parts)-2]
	return typ[strings.LastIndex(typ, "$")+1:]
}

// Name is the resource's logical name.
func (s previewStep) Name() string {
	return s.URN[strings.LastIndex(s.URN, "::")+2:]
}

// Changed are the properties the step changes: its detailed diff's paths (with the kind of
// change where it is not a plain update), else its diff reasons.
func (s previewStep) Changed() []string {
	if len(s.DetailedDiff) == 0 {
		return s.DiffReasons
	}
	var paths []string
	for path, d := range s.DetailedDiff {
		if d.Kind != "update" {
			path += " " + d.Kind
		}
		paths = append(paths, path)
	}
	sort.Strings(paths)
	return paths
}

// String is "op type::name".
func (s previewStep) String() string {
	return s.Op + " " + s.Type() + "::" + s.Name()
}

// previewDigest is what `pulumi preview --json` prints.
type previewDigest struct {
	Steps       []previewStep `json:"steps"`
	Diagnostics []struct {
		Message  string `json:"message"`
		Severity string `json:"severity"`
	} `json:"diagnostics"`
}

// parsePreview reads the JSON document of `pulumi preview --json` from its output (which may
// carry the CLI's messages around it).
func parsePreview(t *testing.T, out string) previewDigest {
	t.Helper()
	for i := strings.Index(out, "{"); i >= 0; {
		if i == 0 || out[i-1] == '\n' {
			var digest previewDigest
			if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&digest); err == nil {
				return digest
			}
		}
		next := strings.Index(out[i+1:], "{")
		if next < 0 {
			break
		}
		i += 1 + next
	}
	require.FailNow(t, "no preview JSON in the output", out)
	return previewDigest{}
}

// preview runs `pulumi preview --json` and returns its steps ("same" only with --show-sames)
// and the CLI's messages: its stderr and the preview's errors. A failed preview still returns
// the steps its JSON holds.
func (p *project) preview(args ...string) ([]previewStep, string, error) {
	p.t.Helper()
	cmd := p.command(append([]string{"preview", "--json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	p.t.Logf("pulumi preview --json %s: %s (%v)", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), errText(err))
	if err != nil && !strings.Contains(stdout.String(), `"steps"`) {
		return nil, stdout.String() + stderr.String(), err
	}
	digest := parsePreview(p.t, stdout.String())
	msgs := stderr.String()
	for _, d := range digest.Diagnostics {
		if d.Severity == "error" {
			msgs += d.Message + "\n"
		}
	}
	return digest.Steps, msgs, err
}
