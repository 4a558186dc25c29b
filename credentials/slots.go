package credentials

import "fmt"

// Generations are the current generations of the rotating credentials.
type Generations struct {
	PostgresApp int
	Redis       int
}

// Slot is where a generation's values are: a for even generations, b for odd ones.
type Slot int

// SlotOf is generation g's slot.
func SlotOf(g int) Slot { return Slot(g % 2) }

func (s Slot) String() string { return [...]string{"a", "b"}[s] }

// suffix keeps slot a's keys and names what they were before rotation existed: an upgrade
// changes no key, login or pod template.
func (s Slot) suffix(sep string) string {
	if s == 0 {
		return ""
	}
	return sep + s.String()
}

// Kept are the generations a rotation at g keeps: g and, after a first rotation, g-1.
func Kept(g int) []int {
	if g == 0 {
		return []int{0}
	}
	return []int{g, g - 1}
}

// PostgresAppLogin is the application's login of a slot. PostgreSQL holds one password per role,
// so each slot has its own login: slot a's is the role that owns the database and its objects
// (the one login before rotation existed); slot b's is a member of it that acts as it (ALTER
// ROLE ... SET role), so whatever it creates is owned by the same role.
func PostgresAppLogin(s Slot) string { return PostgresAppUser + s.suffix("_") }

// PostgresAppUserKeyOf, PostgresAppPasswordKeyOf and PostgresAppVerifierKeyOf are a slot's keys
// in the postgres credentials Secret.
func PostgresAppUserKeyOf(s Slot) string { return PostgresAppUserKey + s.suffix("-") }

func PostgresAppPasswordKeyOf(s Slot) string { return PostgresAppPasswordKey + s.suffix("-") }

func PostgresAppVerifierKeyOf(s Slot) string {
	return fmt.Sprintf("app-password%s-scram-sha-256", s.suffix("-"))
}

// RedisPasswordKeyOf is a slot's key in the redis credentials Secret.
func RedisPasswordKeyOf(s Slot) string { return RedisPasswordKey + s.suffix("-") }

// GenerationAnnotation on a pod template is the generation of the credentials its pods hold, so
// the template changes, and the pods roll, with a rotation even where the keys it names do not
// (the pooler's user list, a rotation that returns to a slot).
const GenerationAnnotation = "pynomaly.io/credentials-generation"

// PostgresAppGenerationLabel and RedisGenerationLabel on a client's pods are the generations of
// the credentials they hold: the retirement waits until no pod carries the previous one.
const (
	PostgresAppGenerationLabel = "pynomaly.io/postgres-app-generation"
	RedisGenerationLabel       = "pynomaly.io/redis-generation"
)

// GenerationLabels are the labels of a client pod holding generations g.
func GenerationLabels(g Generations) map[string]string {
	return map[string]string{PostgresAppGenerationLabel: fmt.Sprint(g.PostgresApp), RedisGenerationLabel: fmt.Sprint(g.Redis)}
}

// SettledSecret records, per rotating credential, the generation every server is to hold
// alone: written once every client rolled, just before the retirement jobs. It holds no secret;
// it is a Secret because this stack's provider updates Secrets in place, while it replaces a
// changed ConfigMap (deleted, then created under its fixed name), and a Redis pod starting in
// between would read no settled generation. A Redis pod that starts later
// accepts only that generation; one that starts mid-rotation accepts the previous one as well.
// Generations are no secret.
const (
	SettledSecret   = "pynomaly-credentials-settled"
	SettledRedisKey = "redis-generation"
	// SettledRedisUsersKey is there once the Redis servers hold the per-client users alone
	// (redis/acl.go), with the version of those users, RedisUsersVersion. A stack deployed
	// before them has a settled generation and no users: its pods' one user, default, is
	// still what every client logs in as, until the retirement job moves them to the users.
	SettledRedisUsersKey = "redis-users"
	RedisUsersVersion    = "1"
)

const (
	PostgresAppUser = "pynomaly"
	// PostgresMonitorUser is the metrics exporter's login: a member of pg_monitor, which reads
	// the statistics views and settings and nothing of the application's data.
	PostgresMonitorUser = "pynomaly_monitor"
)
