package redis

import (
	"fmt"
	"strings"
)

// Redis users. Each client logs in as a user of its own that holds only the commands, keys and
// channels it uses, so a stolen application password cannot run ACL, CONFIG, REPLICAOF or
// FLUSHALL, nor read the other role's keys. The rules hold no secret: they go to the ConfigMap,
// and the start-up script adds each user's password from the Secret (startup.sh).
const (
	// AppUser is the API's and the workers' (the rotating password, secrets.rotation.redis).
	AppUser = "pynomaly"
	// ReplicationUser is what a replica authenticates to its primary with (masteruser).
	ReplicationUser = "replication"
	// SentinelUser is what the Sentinels authenticate with, to Redis and to each other, and what
	// the start-up script asks the peers' Sentinels for the primary with.
	SentinelUser = "sentinel"
	// ExporterUser is the metrics exporter's.
	ExporterUser = "exporter"
	// AdminUser is the rotation's retirement job's: it moves the running servers to the users
	// and takes a previous password away.
	AdminUser = "admin"
	// ProbeUser is Redis's default user: what a connection is before it authenticates. It may
	// PING and nothing else, so the probes need no password.
	ProbeUser = "default"
)

// CacheKeyPrefix starts every key the application writes to the cache (the contract's
// REDIS_CACHE_KEY_PREFIX); the application's user may touch no other key there.
const CacheKeyPrefix = "pynomaly:"

// User is one Redis or Sentinel user: its name and ACL rules, without a password.
type User struct{ Name, Rules string }

// appCommands are the application's: reads and writes of its keys, MULTI/EXEC and Lua scripts
// (the queue's requeue), the connection's own commands; -@dangerous takes back what those
// categories hold that could hurt the server (FLUSHALL, KEYS, CLIENT KILL, DEBUG, ...), and
// -@admin the server's own settings (CONFIG, ACL, REPLICAOF are in both).
const appCommands = "-@all +@connection +@read +@write +@transaction +@scripting -@dangerous -@admin -function"

// Users are the users of a role's Redis server. The queue's exporter may read the task list
// (its length is the queue depth the alerts and the autoscaler read), nothing else.
func Users(role Role) []User {
	keys := map[Role]string{
		Queue: fmt.Sprintf("~%s ~%s:*", TaskQueueName, TaskQueueName),
		Cache: "~" + CacheKeyPrefix + "*",
	}[role]
	exporterKeys := "resetkeys"
	if role == Queue {
		exporterKeys = "%R~" + TaskQueueName
	}
	return []User{
		{ProbeUser, "resetchannels -@all +ping"},
		{AppUser, keys + " resetchannels " + appCommands},
		// What a replica sends its primary (Redis's documentation of masteruser).
		{ReplicationUser, "resetchannels -@all +psync +replconf +ping"},
		// What a Sentinel sends a monitored server, as Redis's Sentinel documentation lists it:
		// it reconfigures replication on failover (REPLICAOF, CONFIG REWRITE) and says hello to
		// the other Sentinels on a channel of the primary.
		{SentinelUser, "allchannels -@all +multi +exec +slaveof +replicaof +ping +subscribe +publish +config|rewrite " +
			"+role +info +client|setname +client|kill +script|kill"},
		// What the exporter reads (its documentation's list, without CONFIG GET, which would
		// show it the replication password, and without CLIENT LIST, EVAL and SCAN).
		{ExporterUser, exporterKeys + " resetchannels -@all +ping +auth +hello +select +info +latency|latest " +
			"+latency|histogram +slowlog|get +slowlog|len +client|setname +type +llen +strlen +scard +zcard +hlen +xlen +pfcount +memory|usage"},
		// The retirement job: it sets users and replication's login, and closes the connections
		// that ran commands as default (CLIENT LIST finds them).
		{AdminUser, "resetchannels -@all +ping +config|set +acl|setuser +client|list +client|kill"},
	}
}

// SentinelUsers are the users of a Sentinel: the application asks for the primary and listens
// for failovers; the Sentinels ask each other whether the primary is down and say hello.
func SentinelUsers() []User {
	return []User{
		{ProbeUser, "resetchannels -@all +ping"},
		{AppUser, "resetchannels &+switch-master &+replica-reconf-done -@all +@connection -@dangerous +ping +subscribe " +
			"+sentinel|get-master-addr-by-name +sentinel|sentinels +sentinel|replicas"},
		{SentinelUser, "allchannels -@all +@connection -@dangerous +ping +publish +subscribe +info +role " +
			"+sentinel|is-master-down-by-addr +sentinel|get-master-addr-by-name +sentinel|sentinels +sentinel|replicas"},
		{AdminUser, "resetchannels -@all +ping +sentinel|set +sentinel|config +acl|setuser +client|list +client|kill"},
	}
}

// UsersFile is users one per line, name then rules: what the start-up script reads.
func UsersFile(users []User) string {
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%s %s\n", u.Name, u.Rules)
	}
	return b.String()
}
