package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

const (
	storageClassType = "kubernetes:storage.k8s.io/v1:StorageClass"
	claimType        = "kubernetes:core/v1:PersistentVolumeClaim"
)

func TestStorageTier(t *testing.T) {
	want := map[string]struct {
		reclaim, backup, models string
		protect                 bool
	}{
		"dev":     {"Delete", "10Gi", "5Gi", false},
		"staging": {"Delete", "50Gi", "20Gi", false},
		"prod":    {"Retain", "300Gi", "200Gi", true},
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			w := want[env]

			sc := st.One(t, storageClassType, "pynomaly-ssd")
			assert.Equal(t, "pynomaly-ssd", sc.Str(t, "metadata.name"))
			assert.Equal(t, "ebs.csi.aws.com", sc.Str(t, "provisioner"))
			assert.Equal(t, map[string]string{"type": "gp3", "encrypted": "true"}, sc.StringMap(t, "parameters"))
			assert.Equal(t, true, sc.Inputs["allowVolumeExpansion"].BoolValue())
			assert.Equal(t, w.reclaim, sc.Str(t, "reclaimPolicy"))
			assert.Equal(t, "WaitForFirstConsumer", sc.Str(t, "volumeBindingMode"))
			assert.True(t, sc.DeleteBeforeReplace, "a fixed-name, immutable class must be deleted before it is replaced")

			for name, size := range map[string]string{"pynomaly-backups": w.backup, "pynomaly-models": w.models} {
				pvc := st.One(t, claimType, name)
				assert.Equal(t, name, pvc.Str(t, "metadata.name"))
				assert.Equal(t, "pynomaly-data-science", pvc.Str(t, "metadata.namespace"))
				assert.Equal(t, size, pvc.Str(t, "spec.resources.requests.storage"), name)
				assert.Equal(t, "ReadWriteOnce", pvc.Str(t, "spec.accessModes.0"), name)
				assert.Equal(t, "pynomaly-ssd", pvc.Str(t, "spec.storageClassName"), name)
				assert.Equal(t, "true", pvc.StringMap(t, "metadata.annotations")["pulumi.com/skipAwait"], name)
				assert.Equal(t, w.protect, pvc.Protect, "%s protect", name)
				assert.Equal(t, w.protect, pvc.RetainOnDelete, "%s retainOnDelete", name)
				assert.True(t, st.DependsOn(pvc, sc), "%s waits for its StorageClass", name)
				assert.True(t, st.DependsOn(pvc, st.One(t, namespaceType, "pynomaly-data-science")), "%s waits for the namespace", name)
			}
		})
	}
}

// An existing class replaces ours: nothing cluster-scoped is created and the claims use it.
func TestExistingStorageClass(t *testing.T) {
	st := deploy(t, "prod", cfg{"storage": `{"existingClass": "premium-rwo", "modelClassName": "filestore", "modelAccessMode": "ReadWriteMany"}`})
	assert.Empty(t, st.OfType(storageClassType))
	assert.Equal(t, "premium-rwo", st.One(t, claimType, "pynomaly-backups").Str(t, "spec.storageClassName"))
	models := st.One(t, claimType, "pynomaly-models")
	assert.Equal(t, "filestore", models.Str(t, "spec.storageClassName"))
	assert.Equal(t, "ReadWriteMany", models.Str(t, "spec.accessModes.0"))
}
