package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"gopkg.in/yaml.v3"
)

// stackValues are the settings a test runs env with: the committed stack file
// (Pulumi.<env>.yaml, as the CLI hands it to the program, objects as JSON) with c set over it as
// `pulumi config set --path` would, object fields merged and c's values winning. Tests so run
// the stacks as they are deployed: prod's, for one, names the WAL archive prod cannot run without.
func stackValues(env string, c cfg) (map[string]string, error) {
	values := map[string]string{}
	if env != "" {
		b, err := os.ReadFile(filepath.Join("..", "Pulumi."+env+".yaml"))
		if errors.Is(err, fs.ErrNotExist) {
			// An environment without a stack file (one the program refuses) runs bare.
			b, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		var file struct {
			Config map[string]any `yaml:"config"`
		}
		if err := yaml.Unmarshal(b, &file); err != nil {
			return nil, fmt.Errorf("Pulumi.%s.yaml: %w", env, err)
		}
		for k, v := range file.Config {
			key := strings.TrimPrefix(k, project+":")
			if s, ok := v.(string); ok {
				values[key] = s
				continue
			}
			j, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("Pulumi.%s.yaml: %s: %w", env, k, err)
			}
			values[key] = string(j)
		}
	}
	for k, v := range c {
		values[k] = mergeJSON(values[k], v)
	}
	return values, nil
}

// mergeJSON sets over's fields over base's where both are JSON objects; otherwise over wins.
func mergeJSON(base, over string) string {
	var b, o map[string]any
	if json.Unmarshal([]byte(base), &b) != nil || json.Unmarshal([]byte(over), &o) != nil || b == nil || o == nil {
		return over
	}
	merge(b, o)
	j, _ := json.Marshal(b)
	return string(j)
}

func merge(base, over map[string]any) {
	for k, v := range over {
		bm, bok := base[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook {
			merge(bm, om)
			continue
		}
		base[k] = v
	}
}

// stackEnv is stackValues with the environment set, for load.Parse; it fails the test on an
// unreadable stack file.
func stackEnv(t *testing.T, env string, c cfg) map[string]string {
	t.Helper()
	values, err := stackValues(env, c)
	require.NoError(t, err)
	values["environment"] = env
	return values
}
