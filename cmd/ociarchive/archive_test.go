package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readArchive is the archive's files by name; a name written twice fails the test.
func readArchive(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		require.NoError(t, err)
		_, dup := files[h.Name]
		require.False(t, dup, "%s is in the archive twice", h.Name)
		files[h.Name], err = io.ReadAll(tr)
		require.NoError(t, err)
	}
}

func blob(t *testing.T, files map[string][]byte, digest string, into any) []byte {
	t.Helper()
	b, ok := files["blobs/sha256/"+digest[len("sha256:"):]]
	require.True(t, ok, "blob %s is missing", digest)
	sum := sha256.Sum256(b)
	require.Equal(t, digest, "sha256:"+hex.EncodeToString(sum[:]), "a blob's name is its content's digest")
	if into != nil {
		require.NoError(t, json.Unmarshal(b, into))
	}
	return b
}

// Two images over one shared layer and one of their own: each is named in the index as
// containerd reads it, its manifest lists its layers bottom first, its config carries the
// process settings and the layers' diff IDs, and the shared layer is stored once.
func TestArchiveHoldsEachImageWithItsLayersAndConfig(t *testing.T) {
	dir := t.TempDir()
	layers := map[string]string{"base": filepath.Join(dir, "base.tar"), "app": filepath.Join(dir, "app.tar")}
	require.NoError(t, os.WriteFile(layers["base"], []byte("base layer bytes"), 0o644))
	require.NoError(t, os.WriteFile(layers["app"], []byte("app layer bytes"), 0o644))
	spec := Spec{Images: []Image{
		{Ref: "example.local/db:1", Layers: []string{"base"}, Entrypoint: []string{"/usr/bin/db"}, User: "101"},
		{Ref: "example.local/app:1", Layers: []string{"base", "app"}, Cmd: []string{"serve"}, Env: []string{"A=1"}},
	}}
	var out bytes.Buffer
	require.NoError(t, Write(&out, spec, layers))
	files := readArchive(t, out.Bytes())
	assert.JSONEq(t, `{"imageLayoutVersion":"1.0.0"}`, string(files["oci-layout"]))

	var index struct{ Manifests []descriptor }
	require.NoError(t, json.Unmarshal(files["index.json"], &index))
	require.Len(t, index.Manifests, 2)
	layerBlobs := 0
	for i, img := range spec.Images {
		m := index.Manifests[i]
		assert.Equal(t, img.Ref, m.Annotations[annotationRef])
		assert.Equal(t, &platform{Architecture: "amd64", OS: "linux"}, m.Platform)
		var manifest struct {
			Config descriptor
			Layers []descriptor
		}
		blob(t, files, m.Digest, &manifest)
		var config struct {
			Config struct {
				Entrypoint, Cmd, Env []string
				User                 string
			}
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		blob(t, files, manifest.Config.Digest, &config)
		require.Len(t, manifest.Layers, len(img.Layers))
		for j, name := range img.Layers {
			want, err := os.ReadFile(layers[name])
			require.NoError(t, err)
			assert.Equal(t, want, blob(t, files, manifest.Layers[j].Digest, nil), "%s layer %d", img.Ref, j)
			assert.Equal(t, manifest.Layers[j].Digest, config.RootFS.DiffIDs[j])
		}
		layerBlobs += len(img.Layers)
		assert.Equal(t, img.Entrypoint, config.Config.Entrypoint)
		assert.Equal(t, img.Cmd, config.Config.Cmd)
		assert.Equal(t, img.User, config.Config.User)
		assert.NotEmpty(t, config.Config.Env, "an image without env still gets a PATH")
	}
	// 2 distinct layers + per image a config and a manifest, + oci-layout and index.json
	assert.Len(t, files, 2+2*2+2, "the shared layer is stored once (%d layer references)", layerBlobs)
}

func TestArchiveRefusesALayerNotGiven(t *testing.T) {
	err := Write(io.Discard, Spec{Images: []Image{{Ref: "example.local/x:1", Layers: []string{"missing"}}}}, nil)
	assert.ErrorContains(t, err, `layer "missing" was not given`)
}
