package config

import (
	"reflect"
	"strings"
)

// Secrets controls where credentials come from and their rotation.
type Secrets struct {
	// Rotation are the credentials' generations: raising one rotates that credential, raising
	// All rotates every one that rotates without an outage (see Rotate credentials in
	// docs/operations.md).
	Rotation Rotation `json:"rotation"`
	// Source is where the operator's credentials (the keys ExternalCredentials names) come from:
	// generated (by the program, kept in state) or external (an ExternalSecret of the External
	// Secrets Operator copies them from secrets.external.store; the program never sees them).
	Source string `json:"source"`
	// Sources override Source per credential: an entry per key of ExternalCredentials
	// (postgresAppPassword: external).
	Sources map[string]string `json:"sources"`
	// External is the secret manager the external credentials come from.
	External ExternalSecrets `json:"external"`
}

// ExternalSecrets names the External Secrets Operator's store and the remote keys.
type ExternalSecrets struct {
	// StoreKind is ClusterSecretStore or SecretStore (one of the platform's namespace).
	StoreKind string `json:"storeKind"`
	// StoreName is the store's name; required when a credential is external.
	StoreName string `json:"storeName"`
	// RefreshInterval is how often the operator re-reads the store (a duration, 1m to 24h): a
	// value written to a remote key reaches the Secret within it. A rotation does not wait for
	// it: its pulumi up asks for a sync.
	RefreshInterval string `json:"refreshInterval"`
	// KeyPrefix starts every remote key: a credential's is KeyPrefix + its name
	// (pynomaly/prod/postgresAppPassword), and its second rotation slot's that and "-b".
	KeyPrefix string `json:"keyPrefix"`
	// Keys replace a credential's remote key (KeyPrefix + name); "key#property" reads one
	// property of a structured secret (a Vault KV entry, a JSON secret).
	Keys map[string]string `json:"keys"`
	// Property is read from every key that names none: the field a structured secret keeps the
	// value in (value, for `vault kv put KEY value=...`). Empty: the whole secret, a plain
	// string (AWS Secrets Manager's, GCP Secret Manager's, Azure Key Vault's).
	Property string `json:"property"`
}

// Credential sources.
const (
	SourceGenerated = "generated"
	SourceExternal  = "external"
)

// SecretSources are the sources secrets.source accepts.
var SecretSources = []string{SourceGenerated, SourceExternal}

// SecretStoreKinds are the stores secrets.external.storeKind accepts.
var SecretStoreKinds = []string{"ClusterSecretStore", "SecretStore"}

// ExternalCredentials are the credentials an external secret manager may hold: the operator's
// keys (pulumi config set --secret NAME). The others (Patroni's REST API, the Redis users of
// replication, Sentinel, the exporter and the retirement job, InfluxDB's reader) are passwords
// between the platform's own components, generated and never typed by anyone.
var ExternalCredentials = []string{
	"postgresSuperuserPassword", "postgresReplicationPassword", "postgresMonitorPassword", "postgresAppPassword",
	"redisPassword", "influxdbAdminPassword", "influxdbAdminToken", "grafanaAdminPassword", "apiSecretKey",
}

// SourceOf is credential's source: its entry in Sources, else Source.
func (s Secrets) SourceOf(credential string) string {
	if src, ok := s.Sources[credential]; ok {
		return src
	}
	return s.Source
}

// IsExternal says whether credential comes from the external store.
func (s Secrets) IsExternal(credential string) bool { return s.SourceOf(credential) == SourceExternal }

// AnyExternal says whether any credential comes from the external store.
func (s Secrets) AnyExternal() bool {
	for _, c := range ExternalCredentials {
		if s.IsExternal(c) {
			return true
		}
	}
	return false
}

// RemoteRef is where credential's value of a rotation slot is in the store: its key and, for a
// structured secret, the property. Slot b's key is slot a's and "-b".
func (s Secrets) RemoteRef(credential string, slotB bool) (key, property string) {
	key = s.External.KeyPrefix + credential
	if k, ok := s.External.Keys[credential]; ok {
		key = k
	}
	key, property, found := strings.Cut(key, "#")
	if !found {
		property = s.External.Property
	}
	if slotB {
		key += "-b"
	}
	return key, property
}

func secretsDefaults(Environment) Secrets {
	return Secrets{Source: SourceGenerated, Sources: map[string]string{},
		External: ExternalSecrets{StoreKind: "ClusterSecretStore", RefreshInterval: "1h", Keys: map[string]string{}}}
}

// Rotation counts rotations. A credential's generation is All plus its own counter; generation 0
// is the credential as first generated. Each rotation generates the next generation while the
// previous one stays valid until every client has moved to the new one.
type Rotation struct {
	// All rotates every credential that rotates without an outage, once per raise.
	All int `json:"all"`
	// PostgresApp rotates the application's database login, once per raise.
	PostgresApp int `json:"postgresApp"`
	// Redis rotates the Redis password, once per raise.
	Redis int `json:"redis"`
}

// PostgresAppGeneration is the application login's generation; an operator-set password is the
// operator's to change, so it stays at generation 0.
func (s *Settings) PostgresAppGeneration() int {
	if s.Credentials.PostgresAppPassword != "" {
		return 0
	}
	return s.Secrets.Rotation.All + s.Secrets.Rotation.PostgresApp
}

// RedisGeneration is the Redis password's generation, as PostgresAppGeneration.
func (s *Settings) RedisGeneration() int {
	if s.Credentials.RedisPassword != "" {
		return 0
	}
	return s.Secrets.Rotation.All + s.Secrets.Rotation.Redis
}

// Credential is a secret value. Its String form is redacted so it cannot leak through logs or
// error messages by accident.
type Credential string

func (Credential) String() string { return "[secret]" }

// GoString keeps %#v from printing the value as well.
func (c Credential) GoString() string { return c.String() }

// Credentials replace generated values when set. Empty means "generate one" (the webhook URL:
// no webhook).
type Credentials struct {
	PostgresSuperuserPassword   Credential `json:"postgresSuperuserPassword"`
	PostgresReplicationPassword Credential `json:"postgresReplicationPassword"`
	PostgresAppPassword         Credential `json:"postgresAppPassword"`
	// PostgresMonitorPassword is the metrics exporter's login; a standby stack takes the
	// primary's, whose roles it replays.
	PostgresMonitorPassword Credential `json:"postgresMonitorPassword"`
	RedisPassword           Credential `json:"redisPassword"`
	InfluxDBAdminPassword   Credential `json:"influxdbAdminPassword"`
	InfluxDBAdminToken      Credential `json:"influxdbAdminToken"`
	GrafanaAdminPassword    Credential `json:"grafanaAdminPassword"`
	APISecretKey            Credential `json:"apiSecretKey"`
	// AlertmanagerWebhookURL is no generated value but a secret the operator alone has: the URL
	// Alertmanager's webhook receiver posts every alert to (such URLs often carry a token).
	AlertmanagerWebhookURL Credential `json:"alertmanagerWebhookUrl"`
}

// Value is the credential of a key (its JSON name, postgresAppPassword), "" when unset or unknown.
func (c Credentials) Value(key string) Credential {
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); name == key {
			return v.Field(i).Interface().(Credential)
		}
	}
	return ""
}
