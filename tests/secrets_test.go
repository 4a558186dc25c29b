package tests

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	secretType   = "kubernetes:core/v1:Secret"
	passwordType = "random:index/randomPassword:RandomPassword"
	bytesType    = "random:index/randomBytes:RandomBytes"
)

// The Secrets of the seed, one per component, and the keys inside each. Values in the
// "generated" set come from a RandomPassword; the rest are fixed user names.
var wantSecrets = map[string]struct {
	keys      []string
	generated map[string]string // key -> RandomPassword logical name
}{
	"pynomaly-postgres-credentials": {
		keys: []string{"app-password", "app-password-scram-sha-256", "app-username", "monitor-password", "monitor-password-scram-sha-256",
			"monitor-username", "patroni-api-password", "patroni-api-username",
			"pgbouncer-userlist", "replication-password", "replication-username", "superuser-password", "superuser-username"},
		generated: map[string]string{
			"superuser-password": "postgres-superuser-password", "replication-password": "postgres-replication-password",
			"app-password": "postgres-app-password", "patroni-api-password": "patroni-api-password",
			"monitor-password": "postgres-monitor-password",
		},
	},
	"pynomaly-redis-credentials": {
		keys: []string{"admin-password", "exporter-password", "password", "replication-password", "sentinel-password"},
		generated: map[string]string{
			"password": "redis-password", "replication-password": "redis-replication-password", "sentinel-password": "redis-sentinel-password",
			"exporter-password": "redis-exporter-password", "admin-password": "redis-admin-password",
		},
	},
	"pynomaly-influxdb-credentials": {
		keys: []string{"admin-password", "admin-token", "admin-username", "reader-password", "reader-username"},
		generated: map[string]string{
			"admin-password": "influxdb-admin-password", "admin-token": "influxdb-admin-token",
			"reader-password": "influxdb-reader-password",
		},
	},
	"pynomaly-grafana-credentials": {keys: []string{"admin-password", "admin-user"}, generated: map[string]string{"admin-password": "grafana-admin-password"}},
	"pynomaly-api-credentials":     {keys: []string{"secret-key"}, generated: map[string]string{"secret-key": "api-secret-key"}},
}

func TestSecretsTier(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			var tier []*Resource
			for _, r := range st.ChildrenOf(st.Component(t, "Secrets")) {
				if r.Type == secretType {
					tier = append(tier, r)
				}
			}
			assert.Len(t, tier, len(wantSecrets))
			assert.Len(t, st.OfType(passwordType), 15, "one generated value per credential")

			for name, w := range wantSecrets {
				s := st.One(t, secretType, name)
				assert.Equal(t, name, s.Str(t, "metadata.name"))
				assert.Equal(t, "pynomaly-data-science", s.Str(t, "metadata.namespace"))
				assert.Equal(t, "Opaque", s.Str(t, "type"))
				data := s.StringMap(t, "stringData")
				keys := make([]string, 0, len(data))
				for k := range data {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				assert.Equal(t, w.keys, keys, name)
				for key, logical := range w.generated {
					assert.True(t, s.IsSecret(t, "stringData."+key), "%s %s must be a secret in state", name, key)
					pw := st.One(t, passwordType, logical)
					assert.Equal(t, fakeSecret(logical, int(pw.Inputs["length"].NumberValue())), data[key],
						"%s %s comes from RandomPassword %s", name, key, logical)
					assert.True(t, st.DependsOn(s, pw), "%s waits for %s", name, logical)
				}
				assert.True(t, st.DependsOn(s, st.One(t, namespaceType, "pynomaly-data-science")))
			}
			// PgBouncer's auth file carries the application user and its generated password.
			pg := st.One(t, secretType, "pynomaly-postgres-credentials")
			assert.Equal(t, `"pynomaly" "`+fakeSecret("postgres-app-password", 32)+`"`+"\n", pg.StringMap(t, "stringData")["pgbouncer-userlist"])
			for _, pw := range st.OfType(passwordType) {
				assert.GreaterOrEqual(t, pw.Inputs["length"].NumberValue(), 32.0, pw.Name)
				assert.False(t, pw.Inputs["special"].BoolValue(), "%s: letters and digits only", pw.Name)
				// Generated once: whatever keepers a deployed value has, it is never generated again.
				assert.Equal(t, []string{"keepers"}, pw.IgnoreChanges, pw.Name)
			}
		})
	}
}

// No generated or operator-given credential appears anywhere in plain text: not in a
// ConfigMap, not in any non-secret input, not in the stack outputs.
func TestNoCredentialInPlainText(t *testing.T) {
	const given = "OperatorChosenPassword42"
	for _, env := range envs {
		st := deploy(t, env, cfg{"postgresAppPassword": given}, "postgresAppPassword")
		for _, r := range st.Resources {
			walkPlain(resource.NewProperty(r.Inputs), func(s string) {
				assert.NotContains(t, s, "GENERATED", "%s: %s %s holds a generated credential in plain text", env, r.Type, r.Name)
				assert.NotContains(t, s, given, "%s: %s %s holds the operator's credential in plain text", env, r.Type, r.Name)
			})
		}
		walkPlain(resource.NewProperty(st.Outputs), func(s string) {
			assert.NotContains(t, s, "GENERATED", "%s: a stack output holds a credential", env)
		})
	}
}

// walkPlain calls f on every string that is not inside a secret.
func walkPlain(v resource.PropertyValue, f func(string)) {
	switch {
	case v.IsSecret():
		return
	case v.IsString():
		f(v.StringValue())
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			walkPlain(e, f)
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			walkPlain(e, f)
		}
	}
}

// A value set with `pulumi config set --secret` replaces the generated one and stays secret.
func TestOperatorCredentialOverridesGeneratedOne(t *testing.T) {
	st := deploy(t, "prod", cfg{"redisPassword": "OperatorRedisPassword99"}, "redisPassword")
	for _, pw := range st.OfType(passwordType) {
		assert.NotEqual(t, "redis-password", pw.Name, "no password is generated for an operator-given one")
	}
	assert.Len(t, st.OfType(passwordType), 14)
	redis := st.One(t, secretType, "pynomaly-redis-credentials")
	assert.True(t, redis.IsSecret(t, "stringData.password"))
	assert.Equal(t, "OperatorRedisPassword99", redis.StringMap(t, "stringData")["password"])
}

func TestSecretNamesAreExportedNotValues(t *testing.T) {
	st := deploy(t, "dev", nil)
	names, ok := st.Outputs["secretNames"]
	require.True(t, ok)
	got := map[string]string{}
	for k, v := range names.ObjectValue() {
		assert.False(t, v.IsSecret())
		got[string(k)] = v.StringValue()
	}
	assert.Equal(t, map[string]string{
		"postgres": "pynomaly-postgres-credentials", "redis": "pynomaly-redis-credentials",
		"influxdb": "pynomaly-influxdb-credentials", "grafana": "pynomaly-grafana-credentials",
		"api": "pynomaly-api-credentials",
	}, got)
	for k := range st.Outputs {
		assert.False(t, strings.Contains(strings.ToLower(string(k)), "password"), "output %s", k)
	}
}

// The setup job hands PostgreSQL the application password's SCRAM verifier, not the password:
// it is a secret of the postgres Secret, salted with a generated salt that the rotation keeper
// renews.
func TestAppPasswordVerifier(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		pg := st.One(t, secretType, "pynomaly-postgres-credentials")
		salt := st.One(t, bytesType, "postgres-app-password-salt")
		assert.Equal(t, 16.0, salt.Inputs["length"].NumberValue(), "PostgreSQL's own salt length")
		assert.Equal(t, []string{"keepers"}, salt.IgnoreChanges)
		assert.True(t, pg.IsSecret(t, "stringData.app-password-scram-sha-256"), env)
		assert.True(t, st.DependsOn(pg, salt), "%s: the Secret waits for the salt", env)
		v := pg.StringMap(t, "stringData")["app-password-scram-sha-256"]
		wantSalt := base64.StdEncoding.EncodeToString([]byte(fakeSecret("postgres-app-password-salt", 16)))
		assert.True(t, strings.HasPrefix(v, "SCRAM-SHA-256$4096:"+wantSalt+"$"), "%s: %s", env, v)
	}
}

// Prod keeps its credentials as it keeps its data: a destroy or a replacement is refused, and a
// Secret removed from the program stays in the cluster, so volumes kept after a teardown can
// still be opened. Other environments can be torn down whole.
func TestCredentialsProtectedLikeTheData(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		tier := st.Component(t, "Secrets")
		n := 0
		for _, r := range st.ChildrenOf(tier) {
			n++
			assert.Contains(t, []string{secretType, passwordType, bytesType}, r.Type)
			assert.Equal(t, env == "prod", r.Protect, "%s: %s %s protect", env, r.Type, r.Name)
			assert.Equal(t, env == "prod", r.RetainOnDelete, "%s: %s %s retainOnDelete", env, r.Type, r.Name)
		}
		// The SCRAM verifiers' salts: the application login's and the exporter's.
		assert.Len(t, st.OfType(bytesType), 2, env)
		assert.Equal(t, len(wantSecrets)+len(st.OfType(passwordType))+len(st.OfType(bytesType)), n, "%s: every credential of the tier", env)
		// The data they open is protected the same way: the databases' claims live in the
		// namespace (TestStatefulSetsGrowTheirClaimsInPlace).
		assert.Equal(t, env == "prod", st.One(t, "kubernetes:core/v1:Namespace", "pynomaly-data-science").Protect, "%s: the namespace of the claims", env)
	}
}
