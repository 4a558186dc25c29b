package tests

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	admissionPolicyType  = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
	admissionBindingType = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
)

// Every image of every pod template, in every environment and with images of other registries
// (the real node's), is one the image-sources policy allows: the policy comes from the plan, so
// a workload added later is covered without new code; and the real node's settings reach it.
// Each policy is bound, denying, to the stack's namespace only.
func TestAdmissionPoliciesAdmitTheStack(t *testing.T) {
	variants := map[string]cfg{"dev": nil, "staging": nil, "prod": nil,
		"prod/local images": {"images": `{"api": "localhost:5000/pynomaly/api:dev", "redis": "registry.local/redis@sha256:` + strings.Repeat("ab", 32) + `"}`}}
	for name, c := range variants {
		env, _, _ := strings.Cut(name, "/")
		st := deploy(t, env, c)
		policies := st.OfType(admissionPolicyType)
		require.Len(t, policies, 3, name)
		allowed := allowedImagePrefixes(t, st.One(t, admissionPolicyType, "pynomaly-data-science.image-sources"))
		images := 0
		for _, p := range st.PodTemplates() {
			if p.NodeAgent(t) {
				continue // the policies bind the platform's namespace, not the node agents'
			}
			for _, path := range p.Containers() {
				image := p.Owner.Str(t, path+".image")
				images++
				assert.True(t, startsWithAny(image, allowed), "%s: %s's image %s is not allowed by %v", name, p.Owner.Name, image, allowed)
			}
		}
		assert.Greater(t, images, 10, name)
		for _, p := range policies {
			b := st.One(t, admissionBindingType, p.Name)
			assert.Equal(t, p.Str(t, "metadata.name"), b.Str(t, "spec.policyName"), name)
			assert.Equal(t, map[string]string{"kubernetes.io/metadata.name": "pynomaly-data-science"},
				b.StringMap(t, "spec.matchResources.namespaceSelector.matchLabels"), name)
			assert.Equal(t, "Deny", b.Str(t, "spec.validationActions.0"), name)
			assert.False(t, b.Has("spec.validationActions.1"), name)
		}
	}
	// A digest in the settings allows that repository by digest only.
	st := deploy(t, "prod", cfg{"images": `{"redis": "registry.local/redis@sha256:` + strings.Repeat("ab", 32) + `"}`})
	allowed := allowedImagePrefixes(t, st.One(t, admissionPolicyType, "pynomaly-data-science.image-sources"))
	assert.False(t, startsWithAny("registry.local/redis:7.4", allowed), "a tag of a repository pinned by digest")
	assert.False(t, startsWithAny("redis:7.4.3-alpine", allowed), "the committed redis image, no longer named")
}

// allowedImagePrefixes reads the image-sources policy's "allowed" variable: a CEL list of strings.
func allowedImagePrefixes(t *testing.T, policy *Resource) []string {
	t.Helper()
	for i := 0; policy.Has(variablePath(i)); i++ {
		if policy.Str(t, variablePath(i)+".name") == "allowed" {
			var out []string
			for _, m := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(policy.Str(t, variablePath(i)+".expression"), -1) {
				out = append(out, m[1])
			}
			return out
		}
	}
	require.FailNow(t, "the image-sources policy has no allowed variable")
	return nil
}

func variablePath(i int) string { return "spec.variables." + string(rune('0'+i)) }

func startsWithAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
