package load

import (
	"encoding/json"
	"fmt"
	"os"

	pconfig "github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pynomaly/pynomaly-platform/config"
)

// LoadFiles reads a stack's configuration as the Pulumi CLI hands it to the program (the stack file's
// values, the project's defaults for keys it does not set) and parses it with Parse.
// Secret values are not decrypted: the program only needs to know they are set and secret.
func LoadFiles(projectFile, stackFile string) (*config.Settings, error) {
	proj, err := workspace.LoadProject(projectFile)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(stackFile); err != nil {
		return nil, fmt.Errorf("stack file: %w", err)
	}
	ps, err := workspace.LoadProjectStack(nil, proj, stackFile)
	if err != nil {
		return nil, err
	}
	name := proj.Name.String()
	src := Source{Values: map[string]string{}, Secrets: map[string]bool{}, Blinded: true}
	for key, v := range ps.Config {
		if key.Namespace() != name {
			continue
		}
		k := key.Name()
		switch {
		case v.Secure() && v.Object(): // kubernetes.kubeconfig given as contents
			if src.Values[k], err = v.Value(pconfig.NewBlindingDecrypter()); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			src.Secrets[k] = true
		case v.Secure():
			src.Values[k], src.Secrets[k] = "[secret]", true
		default:
			if src.Values[k], err = v.Value(pconfig.NopDecrypter); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	for k, t := range proj.Config {
		if _, set := src.Values[k]; set || t.Default == nil {
			continue
		}
		if d, ok := t.Default.(string); ok {
			src.Values[k] = d
			continue
		}
		b, err := json.Marshal(t.Default)
		if err != nil {
			return nil, fmt.Errorf("Pulumi.yaml: default of %s: %w", k, err)
		}
		src.Values[k] = string(b)
	}
	s, err := Parse(name, src)
	if err != nil {
		return nil, fmt.Errorf("%s:\n%w", stackFile, err)
	}
	return s, nil
}
