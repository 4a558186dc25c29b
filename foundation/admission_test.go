package foundation

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// What an image must start with to pass the image-sources policy, from the images a stack names:
// a tag or a digest of the same repository; a digest only where the setting pins one; a
// registry's port is not a tag.
func TestImagePrefixes(t *testing.T) {
	for _, tc := range []struct {
		images []string
		want   []string
	}{
		{[]string{"redis:7.4.3-alpine"}, []string{"redis@sha256:", "redis:"}},
		{[]string{"registry.local:5000/pynomaly/api:2.3.1", "registry.local:5000/pynomaly/api:2.3.2"},
			[]string{"registry.local:5000/pynomaly/api@sha256:", "registry.local:5000/pynomaly/api:"}},
		{[]string{"ghcr.io/zalando/spilo-17@sha256:0123", "ghcr.io/zalando/spilo-17:4.0-p2"}, []string{"ghcr.io/zalando/spilo-17@sha256:"}},
		{[]string{"localhost/pynomaly/nginx"}, []string{"localhost/pynomaly/nginx@sha256:", "localhost/pynomaly/nginx:"}},
	} {
		assert.Equal(t, tc.want, imagePrefixes(tc.images), "%v", tc.images)
	}
}
