package tests

import (
	"path/filepath"
	"slices"
	"testing"

	pconfig "github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
)

// Pulumi.yaml is read by Pulumi's own loader (which checks it against the project schema) and
// declares every key the program reads, and nothing else.
func TestProjectFileDeclaresEverySetting(t *testing.T) {
	proj, err := workspace.LoadProject(filepath.Join("..", "Pulumi.yaml"))
	require.NoError(t, err)
	assert.Equal(t, project, proj.Name.String())
	assert.Equal(t, "go", proj.Runtime.Name())

	var declared []string
	for k, v := range proj.Config {
		declared = append(declared, k)
		assert.NotEmpty(t, v.Description, "%s needs a description", k)
		assert.NotNil(t, v.Type, "%s needs a type", k)
	}
	want := config.Keys()
	slices.Sort(declared)
	slices.Sort(want)
	assert.Equal(t, want, declared)
	assert.Nil(t, proj.Config["environment"].Default, "environment has no default: every stack must name one")
}

// Each committed stack file names its environment and passes validation as it stands.
func TestStackFilesAreValid(t *testing.T) {
	proj, err := workspace.LoadProject(filepath.Join("..", "Pulumi.yaml"))
	require.NoError(t, err)
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			ps, err := workspace.LoadProjectStack(nil, proj, filepath.Join("..", "Pulumi."+env+".yaml"))
			require.NoError(t, err)
			values := map[string]string{}
			for k, v := range ps.Config {
				require.Equal(t, project, k.Namespace(), "key %s outside the project", k)
				require.False(t, v.Secure(), "%s: secrets are set per stack with --secret, not committed", k)
				plain, err := v.Value(pconfig.NopDecrypter)
				require.NoError(t, err)
				values[k.Name()] = plain
			}
			assert.Equal(t, env, values["environment"])
			s, err := load.Parse(project, load.Source{Values: values})
			require.NoError(t, err)
			assert.Equal(t, config.Environment(env), s.Environment)
		})
	}
}
