package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/foundation"
)

// modelPaths are the MODEL_STORAGE_PATH of each ConfigMap that sets it, by the ConfigMap's name.
func modelPaths(t *testing.T, st *Stack) map[string]string {
	out := map[string]string{}
	for _, cm := range st.OfType(configMapType) {
		if !cm.Has("data") {
			continue
		}
		if p, ok := cm.StringMap(t, "data")["MODEL_STORAGE_PATH"]; ok {
			name := cm.Name + "-" + suffix(cm.Name) // auto-named, as the mock engine names it
			if cm.Has("metadata.name") {
				name = cm.Str(t, "metadata.name")
			}
			out[name] = p
		}
	}
	return out
}

// modelUser is a pod template with main containers that read MODEL_STORAGE_PATH (set, or from a
// ConfigMap that sets it): the path, by container.
type modelUser struct {
	PodTemplate
	paths map[string]string
}

func modelUsers(t *testing.T, st *Stack) []modelUser {
	paths := modelPaths(t, st)
	require.NotEmpty(t, paths, "some ConfigMap sets MODEL_STORAGE_PATH")
	var out []modelUser
	for _, pt := range st.PodTemplates() {
		u := modelUser{pt, map[string]string{}}
		for _, c := range pt.Containers() {
			// Init containers only wait for the databases; the models are the application's.
			if !strings.Contains(c, ".containers.") {
				continue
			}
			path := pt.Owner.Env(t, c)["MODEL_STORAGE_PATH"]
			for i := 0; pt.Owner.Has(fmt.Sprintf("%s.envFrom.%d", c, i)); i++ {
				ref := fmt.Sprintf("%s.envFrom.%d.configMapRef.name", c, i)
				if pt.Owner.Has(ref) && paths[pt.Owner.Str(t, ref)] != "" {
					path = paths[pt.Owner.Str(t, ref)]
				}
			}
			if path != "" {
				u.paths[c] = path
			}
		}
		if len(u.paths) > 0 {
			out = append(out, u)
		}
	}
	return out
}

// Every pod whose application reads MODEL_STORAGE_PATH has it writable, in every environment
// (the root file system is read-only): the shared model claim with ReadWriteMany, which many
// nodes attach; with a claim only one node attaches (ReadWriteOnce, the profiles'), a scratch
// directory of the pod's own, and no pod is held to the claim's node.
func TestModelPathWritableWhereItIsRead(t *testing.T) {
	for _, env := range envs {
		for _, mode := range []string{"", "ReadWriteMany"} {
			c := cfg{}
			if mode != "" {
				c["storage"] = `{"modelAccessMode": "ReadWriteMany", "modelClassName": "efs-sc"}`
			}
			st := deploy(t, env, c)
			shared := mode != ""
			var owners []string
			for _, u := range modelUsers(t, st) {
				r, spec, containers := u.Owner, u.Path, u.paths
				owners = append(owners, r.Name)
				volume, claimed := "", false
				for i := 0; r.Has(fmt.Sprintf("%s.volumes.%d", spec, i)); i++ {
					v := fmt.Sprintf("%s.volumes.%d", spec, i)
					if r.Has(v+".persistentVolumeClaim") && r.Str(t, v+".persistentVolumeClaim.claimName") == foundation.ModelClaimName {
						volume, claimed = r.Str(t, v+".name"), true
					}
					if !shared && r.Has(v+".emptyDir") && r.Str(t, v+".name") == "models" {
						volume = "models"
					}
				}
				require.NotEmpty(t, volume, "%s %s: %s reads MODEL_STORAGE_PATH without a volume there", env, mode, r.Name)
				assert.Equal(t, shared, claimed, "%s %s: %s mounts the model claim", env, mode, r.Name)
				for container, path := range containers {
					mounted := false
					for i := 0; r.Has(fmt.Sprintf("%s.volumeMounts.%d", container, i)); i++ {
						m := fmt.Sprintf("%s.volumeMounts.%d", container, i)
						mounted = mounted || r.Str(t, m+".name") == volume && r.Str(t, m+".mountPath") == path && !r.Bool(m+".readOnly")
					}
					assert.True(t, mounted, "%s %s: %s %s has no writable %s", env, mode, r.Name, container, path)
				}
				assert.False(t, r.Has(spec+".affinity.podAffinity"), "%s %s: %s is held to another pod's node", env, mode, r.Name)
			}
			assert.Subset(t, owners, []string{"pynomaly-api", "pynomaly-worker"}, "%s %s", env, mode)
			pvc := st.One(t, "kubernetes:core/v1:PersistentVolumeClaim", foundation.ModelClaimName)
			want := "ReadWriteOnce"
			if shared {
				want = mode
				assert.Equal(t, "efs-sc", pvc.Str(t, "spec.storageClassName"))
			}
			assert.Equal(t, want, pvc.Str(t, "spec.accessModes.0"), env)
		}
	}
}
