package tests

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/require"
)

// A resource's identity in Pulumi is its URN: stack, project, the type chain of its parents, its
// own type and its name. Renaming a resource, changing its type or moving it under another
// parent makes the engine delete the old one and create a new one, which for a RandomPassword
// is a rotation the database never hears of, and for a StatefulSet or a claim is lost data.
// The golden files pin every identity of every environment; an intended move needs an alias in
// the program and a regenerated golden file (go test ./tests -run Golden -update), both in the
// same reviewed change.

var update = flag.Bool("update", false, "rewrite the golden files of TestGoldenResourceIdentities")

func TestGoldenResourceIdentities(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			got := identities(deploy(t, env, nil))
			path := filepath.Join("testdata", "golden", env+".txt")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644))
			}
			b, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./tests -run Golden -update to create it")
			want := strings.Split(strings.TrimSpace(string(b)), "\n")
			if added, removed := difference(got, want), difference(want, got); len(added)+len(removed) > 0 {
				t.Errorf("resource identities of %s changed: each line below is a resource the engine would "+
					"create (+) or delete (-). Add an alias for a moved resource, or run with -update if the "+
					"change is meant.\n%s", env, diffText(added, removed))
			}
		})
	}
}

// identities lists every resource as "type name (parent type)", sorted: the parts of its URN
// that the program controls. The test's own probe is left out.
func identities(st *Stack) []string {
	var out []string
	for _, r := range st.Resources {
		if r.Type == outputsProbe {
			continue
		}
		parent := "stack"
		if p := resource.URN(r.Parent); p != "" && p.QualifiedType() != resource.RootStackType {
			parent = string(p.QualifiedType())
		}
		out = append(out, fmt.Sprintf("%s %s (%s)", r.Type, r.Name, parent))
	}
	slices.Sort(out)
	return out
}

func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func diffText(added, removed []string) string {
	var b strings.Builder
	for _, r := range removed {
		b.WriteString("- " + r + "\n")
	}
	for _, a := range added {
		b.WriteString("+ " + a + "\n")
	}
	return b.String()
}

// snapshot writes every resource's identity and inputs, as JSON, to dir/<env>.json when
// PYNOMALY_SNAPSHOT_DIR is set: a refactoring compares the snapshots of before and after.
func TestSnapshotInputs(t *testing.T) {
	dir := os.Getenv("PYNOMALY_SNAPSHOT_DIR")
	if dir == "" {
		t.Skip("PYNOMALY_SNAPSHOT_DIR not set")
	}
	for _, env := range envs {
		st := deploy(t, env, nil)
		m := map[string]any{}
		for _, r := range st.Resources {
			m[r.Type+" "+r.Name] = map[string]any{"inputs": r.Inputs.Mappable(), "parent": r.Parent, "protect": r.Protect,
				"retain": r.RetainOnDelete, "dbr": r.DeleteBeforeReplace, "timeout": r.CreateTimeout, "deps": r.Dependencies}
		}
		b, err := json.MarshalIndent(m, "", " ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, env+".json"), b, 0o644))
	}
}
