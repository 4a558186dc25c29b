package config

import (
	"bytes"
	"encoding/json"
	"strings"
)

// What a credential shows in the view: whether the stack sets one, never its value.
const (
	CredentialGenerated = "generated"
	CredentialSet       = "set (secret)"
)

// KubeconfigContents stands for a kubeconfig given as contents: they hold the cluster's
// credentials, so the view shows only that contents were given.
const KubeconfigContents = "(kubeconfig contents, not shown)"

// ViewJSON is the stack's effective settings as one JSON object: every key of the keys table, in
// its order, with the value the program uses (the profile's, unless the stack overrides it), and
// objects with every field in the order Settings declares them. It is what `pulumi config set`
// would have to say to get the same result from an empty stack file.
//
// No credential value is in it: a credential is "generated" or "set (secret)", and a kubeconfig
// given as contents is KubeconfigContents (a WAL archive endpoint URL with a password is refused
// by validation). The view is exported as a plain (non-secret) stack output and printed by
// scripts/settings.sh, so that rule is what makes both safe.
func (s *Settings) ViewJSON() []byte {
	c := *s
	c.Kubernetes.Kubeconfig = redactKubeconfig(c.Kubernetes.Kubeconfig)
	values := map[string]any{}
	for _, k := range keyTable {
		switch dst := k.at(&c).(type) {
		case *Credential:
			values[k.Name] = CredentialGenerated
			if OperatorOnly[k.Name] {
				values[k.Name] = "" // nothing is generated: unset means none
			}
			if *dst != "" {
				values[k.Name] = CredentialSet
			}
		case *string:
			values[k.Name] = *dst
		default:
			values[k.Name] = dst
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, key := range Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(key)
		value, err := json.Marshal(values[key])
		if err != nil { // plain strings, numbers, booleans and maps of strings: cannot fail
			panic(err)
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// View is ViewJSON decoded: objects as map[string]any, numbers as float64.
func (s *Settings) View() map[string]any {
	var v map[string]any
	if err := json.Unmarshal(s.ViewJSON(), &v); err != nil {
		panic(err)
	}
	return v
}

// redactKubeconfig keeps a path and hides contents (which carry certificates and tokens).
func redactKubeconfig(k string) string {
	if IsKubeconfigContents(k) {
		return KubeconfigContents
	}
	return k
}

// IsKubeconfigContents says whether a kubeconfig setting holds a file's contents (YAML or JSON)
// rather than its path: a path has no line break, no brace and no apiVersion field.
func IsKubeconfigContents(k string) bool {
	return strings.ContainsAny(k, "\n{") || strings.Contains(k, "apiVersion")
}

// OperatorOnly are the credential keys nothing generates: secrets only the operator has.
var OperatorOnly = map[string]bool{"alertmanagerWebhookUrl": true}
