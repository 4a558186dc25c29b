package config

// Secrets controls generated credentials.
type Secrets struct {
	// Rotation are the credentials' generations: raising one rotates that credential, raising
	// All rotates every one that rotates without an outage (see Rotate credentials in
	// docs/operations.md).
	Rotation Rotation `json:"rotation"`
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
