package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
)

// The README's settings table names every key the program reads.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	readme := string(b)
	for _, k := range config.Keys() {
		assert.True(t, strings.Contains(readme, "`"+k+"`") || strings.Contains(readme, "`"+k+"."),
			"README does not document %s", k)
	}
}
