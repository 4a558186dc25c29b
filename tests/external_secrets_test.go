package tests

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

const externalSecretType = "kubernetes:external-secrets.io/v1:ExternalSecret"

// externalSource is a stack's secrets setting with every operator's credential from a store.
func externalSource(extra string) cfg {
	return cfg{"secrets": `{"source": "external", "external": {"storeName": "vault", "keyPrefix": "pynomaly/prod/"}` + extra + `}`}
}

// generatedPasswords are the logical names of the RandomPasswords a stack generates.
func generatedPasswords(st *Stack) []string {
	var names []string
	for _, pw := range st.OfType(passwordType) {
		names = append(names, pw.Name)
	}
	slices.Sort(names)
	return names
}

// With every operator's credential external, the program generates only the passwords between
// its own components, leaves the store's keys out of the Secrets it declares, and has one
// ExternalSecret per Secret that fills exactly those keys from the named store, merged into it.
func TestExternalCredentialsComeOnlyFromTheStore(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, externalSource(""))
			assert.Equal(t, []string{"influxdb-reader-password", "patroni-api-password", "redis-admin-password",
				"redis-exporter-password", "redis-replication-password", "redis-sentinel-password"}, generatedPasswords(st),
				"only the passwords nobody types are generated")
			assert.Empty(t, st.OfType(bytesType), "no SCRAM salt: the verifiers of external passwords are the setup job's")
			externals := st.OfType(externalSecretType)
			require.Len(t, externals, len(wantSecrets))
			sources := settings(t, env, externalSource("")).Secrets
			for _, es := range externals {
				target := es.Str(t, "spec.target.name")
				filled := credentials.ExternalKeys(target, sources, credentials.Generations{})
				secret := st.One(t, secretType, target)
				for key := range declaredData(t, secret) {
					assert.NotContains(t, filled, key, "%s declares %s, which the store fills", target, key)
				}
				want := map[string]string{}
				for key, credential := range filled {
					want[key] = "pynomaly/prod/" + credential
				}
				assert.Equal(t, want, remoteRefs(t, es), target)
				assert.Equal(t, "Merge", es.Str(t, "spec.target.creationPolicy"), "merged into the declared Secret")
				assert.Equal(t, "vault", es.Str(t, "spec.secretStoreRef.name"))
				assert.Equal(t, "ClusterSecretStore", es.Str(t, "spec.secretStoreRef.kind"))
				assert.Equal(t, "condition=Ready", es.StringMap(t, "metadata.annotations")["pulumi.com/waitFor"], "the engine waits for the values")
				assert.True(t, st.DependsOn(es, secret), "%s merges into the declared Secret, which must be there", target)
			}
			job := st.One(t, jobType, postgres.SetupJob)
			env := job.Env(t, job.Container(t, podSpec, "postgres-setup"))
			assert.Equal(t, "secret:pynomaly-postgres-credentials/app-password", env["APP_PASSWORD"])
			assert.Equal(t, "secret:pynomaly-postgres-credentials/monitor-password", env["MONITOR_PASSWORD"])
			assert.NotContains(t, env, "APP_PASSWORD_VERIFIER")
		})
	}
}

// Every pod that reads a Secret the store fills waits for its ExternalSecret, so none starts
// before the values are there: over every pod template, so a new workload is held to it too.
func TestPodsWaitForTheStoresValues(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, externalSource(""))
		externals := map[string]*Resource{}
		for _, es := range st.OfType(externalSecretType) {
			externals[es.Str(t, "spec.target.name")] = es
		}
		checked, volumes := 0, 0
		for _, p := range st.PodTemplates() {
			for what, secretName := range secretsRead(t, p) {
				if es := externals[secretName]; es != nil {
					checked++
					if strings.HasPrefix(what, "volume") {
						volumes++
					}
					assert.True(t, st.DependsOn(p.Owner, es), "%s: %s %s reads %s before the store filled it", env, p.Owner.Type, p.Owner.Name, what)
				}
			}
		}
		assert.Greater(t, checked, 10, env)
		assert.Positive(t, volumes, "%s: the pooler's user list is a volume of its Secret", env)
	}
}

// A credential of secrets.sources comes from the store, the others are generated as before; a
// rotation reads the new slot from its own key (KEY-b), and the sync annotation changes with it.
func TestOneExternalCredentialRotates(t *testing.T) {
	c := cfg{"secrets": `{"sources": {"postgresAppPassword": "external"}, "external": {"storeName": "vault", "keys": {"postgresAppPassword": "db/app#password"}}, "rotation": {"postgresApp": 1}}`}
	st := deploy(t, "staging", c)
	assert.NotContains(t, generatedPasswords(st), "postgres-app-password")
	assert.Contains(t, generatedPasswords(st), "postgres-superuser-password")
	es := st.One(t, externalSecretType, credentials.PostgresSecretName+"-external")
	assert.Len(t, st.OfType(externalSecretType), 1)
	refs := map[string]string{}
	for i := range 2 {
		p := "spec.data." + itoa(i)
		refs[es.Str(t, p+".secretKey")] = es.Str(t, p+".remoteRef.key") + "#" + es.Str(t, p+".remoteRef.property")
	}
	assert.Equal(t, map[string]string{"app-password-b": "db/app-b#password", "app-password": "db/app#password"}, refs)
	assert.Equal(t, "postgresApp=1,redis=0", es.StringMap(t, "metadata.annotations")[credentials.SyncAnnotation])

	filled := fillFromStore(t, st, map[string]string{"db/app": "StoreGenerationZero0123", "db/app-b": "StoreGenerationOne01234"})
	assert.Equal(t, `"pynomaly_b" "StoreGenerationOne01234"`+"\n"+`"pynomaly" "StoreGenerationZero0123"`+"\n",
		filled[credentials.PostgresPoolerUserlistKey], "the pooler's user list, as the operator's template renders it")
}

// storeFor is a store with a distinct value for every remote key the stack's ExternalSecrets read.
func storeFor(t *testing.T, st *Stack) map[string]string {
	store := map[string]string{}
	for _, es := range st.OfType(externalSecretType) {
		for _, key := range slices.Sorted(maps.Values(remoteRefs(t, es))) {
			store[key] = fmt.Sprintf("Store%02dValue%s", len(store), strings.Repeat("x", 20))
		}
	}
	return store
}

// fillFromStore does what the External Secrets Operator does with the stack's ExternalSecrets
// and a store of values by remote key: each one's keys and its template's merged into the
// Secret the program declared (the stack's inputs, which podEnv reads). It returns the postgres
// Secret's data. The end-to-end suite runs the operator itself on the same objects.
func fillFromStore(t *testing.T, st *Stack, store map[string]string) map[string]string {
	t.Helper()
	var postgresData map[string]string
	for _, es := range st.OfType(externalSecretType) {
		secret := st.One(t, secretType, es.Str(t, "spec.target.name"))
		data := declaredData(t, secret)
		fetched := map[string]string{}
		for secretKey, remoteKey := range remoteRefs(t, es) {
			value, ok := store[remoteKey]
			require.True(t, ok, "the store has no %s", remoteKey)
			fetched[secretKey] = value
		}
		maps.Copy(data, fetched)
		if tmpl, ok := es.Get("spec.target.template.data"); ok {
			for key, text := range tmpl.ObjectValue() {
				var out strings.Builder
				require.NoError(t, template.Must(template.New(string(key)).Funcs(sprigReplace).Parse(text.StringValue())).Execute(&out, fetched))
				data[string(key)] = out.String()
			}
		}
		props := resource.PropertyMap{}
		for k, v := range data {
			props[resource.PropertyKey(k)] = resource.NewStringProperty(v)
		}
		secret.Inputs["stringData"] = resource.NewObjectProperty(props)
		if secret.Name == credentials.PostgresSecretName {
			postgresData = data
		}
	}
	return postgresData
}

// A stack may not both set a credential and take it from the store.
func TestExternalCredentialSetTooIsRefused(t *testing.T) {
	_, err := run("dev", cfg{"secrets": `{"source": "external", "external": {"storeName": "vault"}}`, "redisPassword": "OperatorChosenPassword42"}, "redisPassword")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redisPassword")
	assert.Contains(t, err.Error(), "must not be set while it is external")
}

// sprigReplace is the one function of ESO's template library (sprig) the templates use.
var sprigReplace = template.FuncMap{"replace": func(old, new, src string) string { return strings.ReplaceAll(src, old, new) }}

// declaredData is what the program declares in a Secret (nothing when every key is the store's).
func declaredData(t *testing.T, secret *Resource) map[string]string {
	if !secret.Has("stringData") {
		return map[string]string{}
	}
	return secret.StringMap(t, "stringData")
}

// A rotation back to slot a (generation 1 to 2) leaves the ExternalSecret's keys as they were:
// only its generations annotation changes, and that change replaces it (deleted first, as its
// name is fixed), so the engine's wait for Ready sees the operator's sync of slot a's new value,
// not the Ready of the previous generation while slot a still holds the retired one.
func TestRotationBackToSlotAWaitsForAFreshSync(t *testing.T) {
	at := func(g int) *Resource {
		st := deploy(t, "prod", externalSource(`, "rotation": {"all": `+itoa(g)+`}`))
		return st.One(t, externalSecretType, credentials.PostgresSecretName+"-external")
	}
	one, two := at(1), at(2)
	assert.Equal(t, remoteRefs(t, one), remoteRefs(t, two), "the same keys of both slots at generations 1 and 2")
	assert.NotEqual(t, one.StringMap(t, "metadata.annotations")[credentials.SyncAnnotation], two.StringMap(t, "metadata.annotations")[credentials.SyncAnnotation])
	assert.Contains(t, two.ReplaceOnChanges, "metadata.annotations")
	assert.True(t, two.DeleteBeforeReplace)
	assert.Equal(t, "Retain", two.Str(t, "spec.target.deletionPolicy"), "its Secret outlives the replacement")
}

// remoteRefs are an ExternalSecret's Secret keys and the store's keys they come from.
func remoteRefs(t *testing.T, es *Resource) map[string]string {
	refs := map[string]string{}
	list, _ := es.Get("spec.data")
	for i := range list.ArrayValue() {
		p := "spec.data." + itoa(i)
		refs[es.Str(t, p+".secretKey")] = es.Str(t, p+".remoteRef.key")
	}
	return refs
}

// secretsRead are the Secrets a pod template reads, by what reads them: its containers'
// environment and its volumes (a Secret's, or a projected volume's sources).
func secretsRead(t *testing.T, p PodTemplate) map[string]string {
	read := map[string]string{}
	for _, c := range p.Containers() {
		for name, ref := range p.Owner.Env(t, c) {
			if secretName, _, ok := strings.Cut(strings.TrimPrefix(ref, "secret:"), "/"); ok && strings.HasPrefix(ref, "secret:") {
				read["env "+name] = secretName
			}
		}
	}
	for _, v := range p.SecretVolumes(t) {
		what := "volume " + v.Volume
		if v.Source >= 0 {
			what += " source " + itoa(v.Source)
		}
		read[what] = v.Secret
	}
	return read
}
