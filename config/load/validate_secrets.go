package load

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pynomaly/pynomaly-platform/config"
)

// validateSecrets checks where the credentials come from: known sources and credentials, and a
// complete store while any credential is external, whose value the stack must then not set too.
func validateSecrets(s *config.Settings, v *validator) {
	sec := s.Secrets
	v.oneOf("secrets.source", sec.Source, config.SecretSources)
	for _, c := range slices.Sorted(maps.Keys(sec.Sources)) {
		key := "secrets.sources." + c
		if !slices.Contains(config.ExternalCredentials, c) {
			v.fail(key, quote(sec.Sources[c]), "names no credential that may come from a secret manager: the entries are "+strings.Join(config.ExternalCredentials, ", "))
			continue
		}
		v.oneOf(key, sec.Sources[c], config.SecretSources)
	}
	e := sec.External
	const k = "secrets.external."
	v.oneOf(k+"storeKind", e.StoreKind, config.SecretStoreKinds)
	if d, err := time.ParseDuration(e.RefreshInterval); err != nil || d < time.Minute || d > 24*time.Hour {
		v.fail(k+"refreshInterval", quote(e.RefreshInterval), `must be a duration from "1m" to "24h", such as "1h": how soon a value written to the store reaches its Secret (0 would never refresh it)`)
	}
	for _, c := range slices.Sorted(maps.Keys(e.Keys)) {
		switch key, prop, _ := strings.Cut(e.Keys[c], "#"); {
		case !slices.Contains(config.ExternalCredentials, c):
			v.fail(k+"keys."+c, quote(e.Keys[c]), "names no credential that may come from a secret manager: the entries are "+strings.Join(config.ExternalCredentials, ", "))
		case !sec.IsExternal(c):
			v.fail(k+"keys."+c, quote(e.Keys[c]), "must be removed, or "+c+" made external (secrets.source or secrets.sources."+c+"): it is generated, so nothing reads this key")
		case !remoteKey(key) || strings.Contains(e.Keys[c], "#") && !remoteKey(prop):
			v.fail(k+"keys."+c, quote(e.Keys[c]), `must be the credential's key in the store, without spaces, optionally with "#property"`)
		}
	}
	if !sec.AnyExternal() {
		for field, value := range map[string]string{"storeName": e.StoreName, "keyPrefix": e.KeyPrefix, "property": e.Property} {
			if value != "" {
				v.fail(k+field, quote(value), "must be empty while no credential is external (secrets.source, secrets.sources): nothing reads it")
			}
		}
		return
	}
	if !config.DNSSubdomain.MatchString(e.StoreName) || len(e.StoreName) > 253 {
		v.fail(k+"storeName", quote(e.StoreName), "must name the External Secrets Operator's "+e.StoreKind+" the external credentials come from")
	}
	if e.Property != "" && !remoteKey(e.Property) {
		v.fail(k+"property", quote(e.Property), "must be the field of the store's secrets that holds the value, without spaces or #, or empty (the whole secret)")
	}
	if e.KeyPrefix != "" && !remoteKey(e.KeyPrefix) {
		v.fail(k+"keyPrefix", quote(e.KeyPrefix), "must be the start of the credentials' keys in the store, without spaces or #")
	}
	for _, c := range config.ExternalCredentials {
		if sec.IsExternal(c) && s.Credentials.Value(c) != "" {
			v.fail(c, "[secret]", "must not be set while it is external (secrets.source or secrets.sources."+c+"): the store holds it; remove it (pulumi config rm "+c+")")
		}
	}
}

// remoteKey says whether k may be a key (or property) of a secret manager: no spaces, no '#'.
func remoteKey(k string) bool {
	return k != "" && !strings.ContainsAny(k, " \t\n#")
}
