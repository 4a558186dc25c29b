package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// OCI media types and the annotation containerd names an imported image by.
const (
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar"
	annotationRef = "io.containerd.image.name"
	annotationOCI = "org.opencontainers.image.ref.name"
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// epoch is every image's creation time: the same inputs give the same archive.
var epoch = time.Unix(0, 0).UTC()

// Write writes the OCI image layout of spec's images as a tar stream: each layer blob once,
// then per image its config and manifest, then the index that names them.
func Write(w io.Writer, spec Spec, layers map[string]string) error {
	tw := &archive{Writer: tar.NewWriter(w), written: map[string]bool{}}
	blobs := map[string]descriptor{}
	var manifests []descriptor
	for _, img := range spec.Images {
		var descs []descriptor
		for _, name := range img.Layers {
			d, ok := blobs[name]
			if !ok {
				path, found := layers[name]
				if !found {
					return fmt.Errorf("image %s: layer %q was not given (-layer %s=PATH)", img.Ref, name, name)
				}
				var err error
				if d, err = writeFileBlob(tw, path); err != nil {
					return fmt.Errorf("layer %s: %w", name, err)
				}
				blobs[name] = d
			}
			descs = append(descs, d)
		}
		m, err := writeImage(tw, img, descs)
		if err != nil {
			return err
		}
		manifests = append(manifests, m)
	}
	if err := writeFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediaIndex, "manifests": manifests})
	if err := writeFile(tw, "index.json", index); err != nil {
		return err
	}
	return tw.Close()
}

// archive is the tar stream with the names already in it: images that share a config (the API
// and worker images of one program) share its blobs, written once.
type archive struct {
	*tar.Writer
	written map[string]bool
}

// writeImage writes one image's config and manifest and returns the manifest's descriptor,
// annotated with the image's reference.
func writeImage(tw *archive, img Image, layers []descriptor) (descriptor, error) {
	diffIDs := make([]string, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.Digest // uncompressed layers: the diff ID is the blob's digest
	}
	env := img.Env
	if len(env) == 0 {
		env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	config, _ := json.Marshal(map[string]any{
		"created": epoch, "architecture": "amd64", "os": "linux",
		"config": map[string]any{"Entrypoint": img.Entrypoint, "Cmd": img.Cmd, "Env": env,
			"User": img.User, "WorkingDir": img.WorkingDir},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	cd, err := writeBlob(tw, mediaConfig, config)
	if err != nil {
		return descriptor{}, err
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediaManifest, "config": cd, "layers": layers})
	md, err := writeBlob(tw, mediaManifest, manifest)
	if err != nil {
		return descriptor{}, err
	}
	md.Platform = &platform{Architecture: "amd64", OS: "linux"}
	md.Annotations = map[string]string{annotationRef: img.Ref, annotationOCI: img.Ref}
	return md, nil
}

func writeBlob(tw *archive, mediaType string, b []byte) (descriptor, error) {
	sum := sha256.Sum256(b)
	d := descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(b))}
	return d, writeFile(tw, "blobs/sha256/"+hex.EncodeToString(sum[:]), b)
}

// writeFileBlob streams a layer tarball into the archive: hashed in a first pass, copied in a
// second, so a layer of hundreds of megabytes is never held in memory.
func writeFileBlob(tw *archive, path string) (descriptor, error) {
	f, err := os.Open(path)
	if err != nil {
		return descriptor{}, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return descriptor{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return descriptor{}, err
	}
	hexsum := hex.EncodeToString(h.Sum(nil))
	hdr := &tar.Header{Name: "blobs/sha256/" + hexsum, Mode: 0o644, Size: size, ModTime: epoch, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return descriptor{}, err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return descriptor{}, err
	}
	return descriptor{MediaType: mediaLayer, Digest: "sha256:" + hexsum, Size: size}, nil
}

func writeFile(tw *archive, name string, b []byte) error {
	if tw.written[name] {
		return nil
	}
	tw.written[name] = true
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}
