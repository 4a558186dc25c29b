package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/components"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
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

// Every pod whose application reads MODEL_STORAGE_PATH mounts the model claim there, in every
// environment: the root file system is read-only, and API, workers and migrations share the
// models. With a claim only one node attaches (ReadWriteOnce, the profiles'), those pods run on
// one node; with ReadWriteMany they spread.
func TestModelClaimMountedWhereItsPathIsRead(t *testing.T) {
	for _, env := range envs {
		for _, mode := range []string{"", "ReadWriteMany"} {
			c := cfg{}
			if mode != "" {
				c["storage"] = `{"modelAccessMode": "ReadWriteMany", "modelClassName": "efs-sc"}`
			}
			st := deploy(t, env, c)
			oneNode := mode == ""
			users := modelUsers(t, st)
			var owners []string
			for _, u := range users {
				r, spec, containers := u.Owner, u.Path, u.paths
				owners = append(owners, r.Name)
				volume := ""
				for i := 0; r.Has(fmt.Sprintf("%s.volumes.%d", spec, i)); i++ {
					v := fmt.Sprintf("%s.volumes.%d", spec, i)
					if r.Has(v+".persistentVolumeClaim") && r.Str(t, v+".persistentVolumeClaim.claimName") == components.ModelClaimName {
						volume = r.Str(t, v+".name")
					}
				}
				require.NotEmpty(t, volume, "%s %s: %s reads MODEL_STORAGE_PATH without the model claim", env, mode, r.Name)
				for container, path := range containers {
					mounted := false
					for i := 0; r.Has(fmt.Sprintf("%s.volumeMounts.%d", container, i)); i++ {
						m := fmt.Sprintf("%s.volumeMounts.%d", container, i)
						mounted = mounted || r.Str(t, m+".name") == volume && r.Str(t, m+".mountPath") == path && !r.Bool(m+".readOnly")
					}
					assert.True(t, mounted, "%s %s: %s %s does not mount the claim writable at %s", env, mode, r.Name, container, path)
				}
				labels := r.StringMap(t, spec[:len(spec)-len(".spec")]+".metadata.labels")
				assert.Equal(t, oneNode, labels[kube.SharedNodeLabel] == components.ModelClaimName, "%s %s: %s shared-node label", env, mode, r.Name)
				term := spec + ".affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution.0"
				assert.Equal(t, oneNode, r.Has(term), "%s %s: %s on the claim's node", env, mode, r.Name)
				if oneNode && r.Has(term) {
					assert.Equal(t, "kubernetes.io/hostname", r.Str(t, term+".topologyKey"))
					assert.Equal(t, components.ModelClaimName, r.StringMap(t, term+".labelSelector.matchLabels")[kube.SharedNodeLabel])
				}
			}
			assert.Subset(t, owners, []string{"pynomaly-api", "pynomaly-worker"}, "%s %s", env, mode)
			pvc := st.One(t, "kubernetes:core/v1:PersistentVolumeClaim", components.ModelClaimName)
			want := "ReadWriteOnce"
			if mode != "" {
				want = mode
				assert.Equal(t, "efs-sc", pvc.Str(t, "spec.storageClassName"))
			}
			assert.Equal(t, want, pvc.Str(t, "spec.accessModes.0"), env)
		}
	}
}
