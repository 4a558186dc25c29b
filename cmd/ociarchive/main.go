// Command ociarchive writes container images as one OCI image archive that containerd imports
// (`ctr images import`), from layer tarballs made here and a spec of each image's
// configuration. It is how the real node of the local cluster gets images without a registry:
// scripts/node-images.sh builds the layers from Debian's packages and this repository's programs.
//
//	ociarchive -spec images.json -layer debian=rootfs.tar -layer app=app.tar -o images.tar
//
// Layers are stored uncompressed (an image layer may be a plain tar): nothing is sent over a
// network, and the node unpacks them once, however many images share them.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Spec is the file -spec names: every image the node gets.
type Spec struct {
	Images []Image `json:"images"`
}

// Image is one image: its reference, its layers (names given with -layer, bottom first) and the
// process configuration a registry image would carry.
type Image struct {
	// Setting is the stack setting (images.<setting>) that selects this image.
	Setting    string   `json:"setting"`
	Ref        string   `json:"ref"`
	Layers     []string `json:"layers"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	User       string   `json:"user,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
}

type layerFlags map[string]string

func (l layerFlags) String() string { return fmt.Sprint(map[string]string(l)) }

func (l layerFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("-layer %q: want NAME=PATH", v)
	}
	l[name] = path
	return nil
}

func main() {
	layers := layerFlags{}
	spec := flag.String("spec", "", "the images (JSON)")
	out := flag.String("o", "", "the archive to write")
	flag.Var(layers, "layer", "NAME=PATH of a layer tarball (repeatable)")
	flag.Parse()
	if err := run(*spec, *out, layers); err != nil {
		fmt.Fprintln(os.Stderr, "ociarchive:", err)
		os.Exit(1)
	}
}

func run(specPath, out string, layers map[string]string) error {
	if specPath == "" || out == "" {
		return fmt.Errorf("-spec and -o are required")
	}
	b, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	f, err := os.Create(out + ".partial")
	if err != nil {
		return err
	}
	if err := Write(f, spec, layers); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(out+".partial", out)
}
