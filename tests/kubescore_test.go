package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// kube-score (github.com/zegl/kube-score, built by scripts/tools.sh) reads every environment's
// manifests, as the program declares them, and reports no CRITICAL finding beyond the exceptions
// listed, each with its reason, in kubeScoreExceptions. An exception that no longer matches a
// finding fails too, so the list only ever holds what is still true.
const kubeScoreExceptions = "testdata/kube-score-exceptions.yaml"

// kubeScoreArgs are the checks' settings: the Kubernetes version the platform targets (it
// selects the deprecated-API check), and the optional seccomp check, which every pod meets.
var kubeScoreArgs = []string{"score", "--output-format", "json", "--kubernetes-version", "v1.35",
	"--enable-optional-test", "container-seccomp-profile"}

// scoredKinds are the kinds whose every object kube-score must have scored.
var scoredKinds = []string{"Deployment", "StatefulSet", "Job", "CronJob", "Service",
	"PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"}

func TestKubeScoreFindsNothingCriticalBeyondTheExceptions(t *testing.T) {
	bin := builtTool(t, "kube-score")
	exceptions := readKubeScoreExceptions(t)
	used := map[[2]int]map[string]bool{} // (entry, object) -> environments it matched in
	for _, env := range envs {
		// With the snapshot schedule, which is off until a class is named.
		st := deploy(t, env, cfg{"storage": snapshotClass})
		scored := runKubeScore(t, bin, st.WriteManifests(t, t.TempDir()))
		assertEveryWorkloadScored(t, env, st, scored)
		var critical, warning, excepted int
		for _, f := range findings(scored) {
			if f.grade != gradeCritical {
				warning++
				continue
			}
			critical++
			if e, o := exceptions.match(env, f); e >= 0 {
				excepted++
				if used[[2]int{e, o}] == nil {
					used[[2]int{e, o}] = map[string]bool{}
				}
				used[[2]int{e, o}][env] = true
				continue
			}
			t.Errorf("%s: kube-score CRITICAL %s on %s: %s (fix it, or list it with its reason in %s)",
				env, f.check, f.where(), f.summary, kubeScoreExceptions)
		}
		t.Logf("%s: %d objects scored; %d CRITICAL (%d of them listed exceptions), %d WARNING", env, len(scored), critical, excepted, warning)
	}
	for i, e := range exceptions {
		for j, object := range e.Objects {
			for _, env := range e.environments() {
				if !used[[2]int{i, j}][env] {
					t.Errorf("%s: the exception %s on %s matches nothing in %s: remove it (or the environment)",
						kubeScoreExceptions, e.Check, object, env)
				}
			}
		}
	}
}

// The exceptions file is itself held to a shape: every entry names a check, objects as
// Kind/name, known environments, and says why.
func TestKubeScoreExceptionsAreExplained(t *testing.T) {
	for _, e := range readKubeScoreExceptions(t) {
		assert.NotEmpty(t, e.Check, "an exception without a check")
		assert.NotEmpty(t, e.Objects, "%s: an exception without objects", e.Check)
		for _, o := range e.Objects {
			assert.Regexp(t, `^[A-Za-z]+/[a-z0-9-]+$`, o, "%s: objects are Kind/name", e.Check)
		}
		for _, env := range e.Environments {
			assert.Contains(t, envs, env, "%s: environment", e.Check)
		}
		assert.Greater(t, len(strings.Fields(e.Reason)), 8, "%s on %v: the reason must say why", e.Check, e.Objects)
	}
}

// builtTool is the checker scripts/tools.sh built into the tools cache (kube-score, actionlint),
// or one on PATH.
func builtTool(t *testing.T, name string) string {
	t.Helper()
	tools := os.Getenv("PYNOMALY_TOOLS")
	if tools == "" {
		cache, err := os.UserCacheDir()
		require.NoError(t, err)
		tools = filepath.Join(cache, "pynomaly-platform", "tools")
	}
	if p := filepath.Join(tools, "bin", name); fileExists(p) {
		return p
	}
	p, err := exec.LookPath(name)
	require.NoError(t, err, "%s not found: scripts/tools.sh builds it (scripts/test.sh does)", name)
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// runKubeScore scores the files. kube-score exits 1 when it finds anything critical; its report
// is on stdout either way.
func runKubeScore(t *testing.T, bin string, files []string) []scoredObject {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, append(slices.Clone(kubeScoreArgs), files...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		require.NoError(t, err, "kube-score: %s", stderr.String())
	}
	var scored []scoredObject
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &scored), "kube-score's report: %s", stderr.String())
	return scored
}

// assertEveryWorkloadScored checks that kube-score read every object of the kinds it scores
// that the stack declares, so a finding cannot hide behind an object it never saw.
func assertEveryWorkloadScored(t *testing.T, env string, st *Stack, scored []scoredObject) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range scored {
		seen[o.TypeMeta.Kind+"/"+o.ObjectMeta.Name] = true
	}
	for _, m := range st.Manifests(t) {
		if slices.Contains(scoredKinds, m.Kind) {
			assert.True(t, seen[m.Kind+"/"+m.Name], "%s: kube-score did not score %s/%s", env, m.Kind, m.Name)
		}
	}
}

// scoredObject is one object of kube-score's JSON report (output version v2).
type scoredObject struct {
	TypeMeta   struct{ Kind string } `json:"type_meta"`
	ObjectMeta struct{ Name string } `json:"object_meta"`
	Checks     []struct {
		Check struct {
			ID string `json:"id"`
		} `json:"check"`
		Grade    int  `json:"grade"`
		Skipped  bool `json:"skipped"`
		Comments []struct {
			Path    string `json:"path"`
			Summary string `json:"summary"`
		} `json:"comments"`
	} `json:"checks"`
}

// kube-score's grades (scorecard.Grade).
const (
	gradeCritical = 1
	gradeWarning  = 5
)

// finding is one comment of a failed check: on an object, and for container checks on one of
// its containers.
type finding struct {
	check, object, container, summary string
	grade                             int
}

func (f finding) where() string {
	if f.container == "" {
		return f.object
	}
	return f.object + " container " + f.container
}

// findings are the report's critical and warning findings, in a stable order.
func findings(scored []scoredObject) []finding {
	var out []finding
	for _, o := range scored {
		for _, c := range o.Checks {
			if c.Skipped || c.Grade > gradeWarning {
				continue
			}
			object := o.TypeMeta.Kind + "/" + o.ObjectMeta.Name
			if len(c.Comments) == 0 {
				out = append(out, finding{check: c.Check.ID, object: object, grade: c.Grade})
			}
			for _, cm := range c.Comments {
				out = append(out, finding{check: c.Check.ID, object: object, container: cm.Path, summary: cm.Summary, grade: c.Grade})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// kubeScoreException is one entry of the exceptions file.
type kubeScoreException struct {
	Check string `yaml:"check"`
	// Objects are Kind/name.
	Objects []string `yaml:"objects"`
	// Container narrows a container check to one container; empty for the whole object.
	Container string `yaml:"container"`
	// Environments where it holds; empty for all three.
	Environments []string `yaml:"environments"`
	Reason       string   `yaml:"reason"`
}

func (e kubeScoreException) environments() []string {
	if len(e.Environments) == 0 {
		return envs
	}
	return e.Environments
}

type kubeScoreExceptionList []kubeScoreException

func readKubeScoreExceptions(t *testing.T) kubeScoreExceptionList {
	t.Helper()
	b, err := os.ReadFile(kubeScoreExceptions)
	require.NoError(t, err)
	var list kubeScoreExceptionList
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&list), kubeScoreExceptions)
	return list
}

// match returns the entry and object index of the exception that covers f in env, or -1.
func (l kubeScoreExceptionList) match(env string, f finding) (int, int) {
	for i, e := range l {
		if e.Check != f.check || !slices.Contains(e.environments(), env) || (e.Container != "" && e.Container != f.container) {
			continue
		}
		if j := slices.Index(e.Objects, f.object); j >= 0 {
			return i, j
		}
	}
	return -1, -1
}
