//go:build e2e

package e2e

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Upgrade safety: every stack deployed by the base commit's program (tests/e2e/upgrade-base,
// the last landed main; PYNOMALY_UPGRADE_BASE overrides it) is previewed and updated with the
// working tree's program (PYNOMALY_UPGRADE_TREE: another source tree). No credential, Secret,
// StatefulSet, claim or the Namespace may be replaced or deleted, and the generated credentials
// in the cluster stay the same. A pure refactor replaces and deletes nothing at all.
func TestUpgrade(t *testing.T) {
	// staging and prod declare cert-manager objects (tls.internal).
	installCRDs(t, "edge", certManagerCRDs[:2])
	commit := upgradeBase(t)
	base := checkoutCommit(t, commit)
	tree := os.Getenv("PYNOMALY_UPGRADE_TREE")
	if tree == "" {
		tree = repo
	}
	subject, _ := exec.Command("git", "-C", repo, "log", "-1", "--format=%h %s", commit).Output()
	t.Logf("upgrade from %s to the program in %s", strings.TrimSpace(string(subject)), tree)
	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) { upgradeStack(t, base, tree, env) })
	}
}

// protectedKinds may never be replaced or deleted by an upgrade: a replaced RandomPassword is a
// new credential, a replaced Secret, StatefulSet or claim loses data or breaks what uses it,
// and a replaced Namespace takes everything in it along.
var protectedKinds = map[string]bool{
	"random:index/randomPassword:RandomPassword": true,
	"kubernetes:core/v1:Secret":                  true,
	"kubernetes:apps/v1:StatefulSet":             true,
	"kubernetes:core/v1:PersistentVolumeClaim":   true,
	"kubernetes:core/v1:Namespace":               true,
}

// destructiveOps are the preview operations that replace or delete an object, or drop it from
// the state. The JSON preview shows a replacement as one "replace" step; the others are there
// for --show-replacement-steps and for resources that were read or imported.
var destructiveOps = map[string]bool{
	"replace": true, "create-replacement": true, "delete-replaced": true, "delete": true,
	"discard": true, "discard-replaced": true, "read-replacement": true, "import-replacement": true,
}

// rollingReplacements are objects the program replaces by design to roll what uses them: an
// auto-named ConfigMap whose content changed (its consumers roll onto the new one) and a Job
// whose template changed (it runs again). Any other replacement is unexpected.
var rollingReplacements = map[string]bool{"kubernetes:core/v1:ConfigMap": true, "kubernetes:batch/v1:Job": true}

// movedConfiguration is a ConfigMap the new program no longer declares because what it held
// moved (Alertmanager's configuration went into a Secret, for its webhook URL): configuration
// the pods are given anew, never data.
func movedConfiguration(s previewStep) bool {
	return s.Type() == "kubernetes:core/v1:ConfigMap" && s.Op == "delete"
}

func upgradeStack(t *testing.T, base, tree, env string) {
	start := time.Now()
	stackFile := "Pulumi." + env + ".yaml"
	p := newProjectFrom(t, base, env, stackFile)
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			teardown(t, p)
		}
	})

	// 1. The base program deploys the stack as main did (its preflight, like the tree's, skips
	// the metrics API the local cluster lacks).
	p.onLocalCluster()
	p.must("up", "--yes", "--skip-preview")
	before := clusterCredentials(t)
	require.GreaterOrEqual(t, len(before), 8, "the base deployment holds the generated credentials")
	deployed := time.Now()

	// 2. The working tree's program and committed stack file, previewed on that state.
	p.useProgram(tree, stackFile)
	p.onLocalCluster()
	steps, out, err := p.preview("--show-sames")
	previewed := time.Now()
	var changes, destructive, protected, unprotected []string
	for _, s := range steps {
		if s.Op == "same" && !protectionDropped(s) {
			continue
		}
		line := s.String()
		if len(s.ReplaceReasons) > 0 {
			line += " (replace: " + strings.Join(s.ReplaceReasons, ", ") + ")"
		} else if changed := s.Changed(); len(changed) > 0 {
			line += " (" + strings.Join(changed, ", ") + ")"
		}
		if protectionDropped(s) {
			line += " (protect dropped)"
		}
		changes = append(changes, line)
		if destructiveOps[s.Op] && !(rollingReplacements[s.Type()] && s.Op == "replace") && !movedConfiguration(s) {
			destructive = append(destructive, line)
			if protectedKinds[s.Type()] {
				protected = append(protected, line)
			}
		}
		if protectionDropped(s) {
			unprotected = append(unprotected, s.Type()+"::"+s.Name())
		}
	}
	listed := "none"
	if len(changes) > 0 {
		listed = "\n  " + strings.Join(changes, "\n  ")
	}
	t.Logf("%s: steps of the working tree's program on the base's state (%d resources), other than same: %s",
		env, len(steps), listed)
	assert.Empty(t, protected, "%s: upgrading from the base would replace or delete credentials, Secrets, StatefulSets, claims "+
		"or the Namespace (a changed name, type or parent needs pulumi.Aliases; a changed immutable field needs a migration)", env)
	assert.Empty(t, destructive, "%s: the upgrade replaces or deletes more than the ConfigMaps and Jobs meant to roll", env)
	assert.Empty(t, unprotected, "%s: the upgrade drops protect from these resources", env)
	require.NoError(t, err, "%s: pulumi preview of the working tree's program on the base's state failed:\n%s", env, out)

	// 3. The upgrade applied: the cluster keeps every generated credential.
	p.must("up", "--yes", "--skip-preview")
	upgraded := time.Now()
	after := clusterCredentials(t)
	var changed, added []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			changed = append(changed, k+" (gone)")
		} else if w != v {
			changed = append(changed, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			added = append(added, k)
		}
	}
	sort.Strings(changed)
	sort.Strings(added)
	assert.Empty(t, changed, "%s: credentials in the cluster changed by the upgrade (Secret/key)", env)
	if len(added) > 0 {
		t.Logf("%s: credentials added by the upgrade: %s", env, strings.Join(added, ", "))
	}

	destroy(t, p, env)
	destroyed = true
	t.Logf("%s: base deployed in %s, preview %s, upgrade %s, destroy %s: %s in all", env,
		deployed.Sub(start).Round(time.Second), previewed.Sub(deployed).Round(time.Second),
		upgraded.Sub(previewed).Round(time.Second), time.Since(upgraded).Round(time.Second),
		time.Since(start).Round(time.Second))
}

// protectionDropped: the step takes protect off a resource that had it. A StatefulSet that is
// now deleted by orphaning its pods is not counted: it is unprotected so that a larger claim can
// re-create it, and it holds no data (its claims do, kept by the retention policy, in the
// protected namespace).
func protectionDropped(s previewStep) bool {
	if s.OldState == nil || s.NewState == nil || !s.OldState.Protect || s.NewState.Protect {
		return false
	}
	orphaned := s.NewState.Inputs.Metadata.Annotations["pulumi.com/deletionPropagationPolicy"] == "orphan"
	return !(s.Type() == "kubernetes:apps/v1:StatefulSet" && orphaned)
}

// clusterProject is env's committed stack on the local cluster. Until done is called, the test's
// end tears it down (a failure leaves the namespace empty for the next test).
func clusterProject(t *testing.T, env string) (p *project, done func()) {
	p = newProject(t, env, "Pulumi."+env+".yaml")
	finished := false
	t.Cleanup(func() {
		if !finished {
			teardown(t, p)
		}
	})
	p.onLocalCluster()
	return p, func() { finished = true }
}

// teardown removes what a failed test left in the cluster, so the next stack starts
// from an empty namespace. Best effort: it reports, never fails.
func teardown(t *testing.T, p *project) {
	t.Logf("tearing down the %s stack after a failure", p.stack)
	p.run("state", "unprotect", "--all", "--yes")
	p.run("destroy", "--yes", "--skip-preview")
	kubectl(t, "delete", "namespace", namespace, "--ignore-not-found", "--wait=false")
	kubectl(t, "delete", "storageclass", "pynomaly-ssd", "--ignore-not-found")
	kubectl(t, "delete", "volumesnapshotclass", namespace+"-snapshots", "--ignore-not-found")
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if out, err := kubectl(t, "get", "namespace", namespace, "-o", "name"); err != nil && strings.Contains(out, "NotFound") {
			return
		}
	}
	t.Logf("namespace %s is still there: later tests may fail", namespace)
}

var fullHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// upgradeBase is the commit the upgrade starts from, as a full hash.
func upgradeBase(t *testing.T) string {
	rev := os.Getenv("PYNOMALY_UPGRADE_BASE")
	if rev == "" {
		b, err := os.ReadFile(filepath.Join(repo, "tests", "e2e", "upgrade-base"))
		require.NoError(t, err)
		rev = strings.TrimSpace(string(b))
		require.Regexp(t, fullHash, rev, "tests/e2e/upgrade-base holds one full commit hash")
	}
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--verify", "--quiet", rev+"^{commit}").Output()
	if err != nil {
		shallow, _ := exec.Command("git", "-C", repo, "rev-parse", "--is-shallow-repository").Output()
		t.Fatalf("the upgrade base %s is not a commit of this clone (%s; shallow clone: %s): fetch it "+
			"(git fetch origin main, or git fetch --unshallow), or set PYNOMALY_UPGRADE_BASE to a commit the clone has",
			rev, errText(err), strings.TrimSpace(string(shallow)))
	}
	return strings.TrimSpace(string(out))
}

// checkoutCommit extracts the files of commit into a temporary directory (git archive: the
// clone's work tree and index are not touched).
func checkoutCommit(t *testing.T, commit string) string {
	dir := t.TempDir()
	cmd := exec.Command("git", "-C", repo, "archive", "--format=tar", commit)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	archive, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	extractErr := untar(archive, dir)
	_, _ = io.Copy(io.Discard, archive)
	require.NoError(t, cmd.Wait(), "git archive %s: %s", commit, stderr.String())
	require.NoError(t, extractErr, "extracting %s", commit)
	return dir
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(target, dir+string(filepath.Separator)) {
			return fmt.Errorf("archive entry %q outside the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			var f *os.File
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if f, err = os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777|0o600); err == nil {
				_, err = io.Copy(f, tr)
				err = errors.Join(err, f.Close())
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, target)
		}
		if err != nil {
			return err
		}
	}
}
