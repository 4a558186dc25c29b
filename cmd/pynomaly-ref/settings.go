package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// environ reads the environment the pod gives the container and records every name it asked
// for, required or not, so that a test can hold what the program reads to what the pod specs
// set (docs/app-contract.md, "Environment").
type environ struct {
	lookup   func(string) (string, bool)
	required []string
	optional []string
	errs     []error
}

func newEnviron(lookup func(string) (string, bool)) *environ { return &environ{lookup: lookup} }

// need is a variable the pod must set, not empty.
func (e *environ) need(name string) string {
	e.required = append(e.required, name)
	v, ok := e.lookup(name)
	if !ok || v == "" {
		e.errs = append(e.errs, fmt.Errorf("%s is not set", name))
	}
	return v
}

// opt is a variable that may be missing or empty: def then.
func (e *environ) opt(name, def string) string {
	e.optional = append(e.optional, name)
	if v, ok := e.lookup(name); ok && v != "" {
		return v
	}
	return def
}

func (e *environ) number(name, v string) int {
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a whole number", name, v))
	}
	return n
}

func (e *environ) needInt(name string) int { return e.number(name, e.need(name)) }

func (e *environ) optInt(name string, def int) int {
	return e.number(name, e.opt(name, strconv.Itoa(def)))
}

// Required are the names the program could not start without, in the order it read them.
func (e *environ) Required() []string { return slices.Clone(e.required) }

func (e *environ) err() error { return errors.Join(e.errs...) }

// dbSettings is the PostgreSQL connection: the pooler's for API and workers, the primary's for
// the migration (its pod overrides DATABASE_HOST).
type dbSettings struct {
	Host, Name, User, Password string
	Port                       int
	// SSLMode is libpq's (prefer without internal TLS, verify-full with it); SSLRootCert the CA.
	SSLMode, SSLRootCert string
	PoolSize             int
}

// redisSettings is one Redis role. With SentinelMaster set, Host:Port are the Sentinels.
type redisSettings struct {
	Host           string
	Port           int
	SentinelMaster string
}

func (r redisSettings) addr() string { return fmt.Sprintf("%s:%d", r.Host, r.Port) }

// settings are what one mode reads from its environment. Secrets (Password, RedisPassword,
// SecretKey) are never logged.
type settings struct {
	Environment, LogLevel string
	DB                    dbSettings
	Queue, Cache          redisSettings
	RedisUsername         string
	RedisPassword         string
	CacheKeyPrefix        string
	RedisTLS              bool
	RedisCA               string
	QueueName             string
	APIPort               int
	SecretKey             string
	ModelPath             string
	Concurrency           int
	TaskTimeout           time.Duration
}

// readSettings reads mode's environment: every mode the database, API and worker the two Redis
// roles and the queue, and each its own variables.
func readSettings(mode string, lookup func(string) (string, bool)) (settings, *environ, error) {
	e := newEnviron(lookup)
	s := settings{
		Environment: e.opt("PYNOMALY_ENVIRONMENT", "unknown"),
		LogLevel:    e.opt("LOG_LEVEL", "info"),
		DB:          readDB(e),
	}
	if mode == modeMigrate {
		return s, e, e.err()
	}
	readRedis(e, &s)
	s.ModelPath = e.need("MODEL_STORAGE_PATH")
	switch mode {
	case modeAPI:
		s.APIPort = e.needInt("API_PORT")
		s.SecretKey = e.need("SECRET_KEY")
	case modeWorker:
		s.Concurrency = max(e.needInt("WORKER_CONCURRENCY"), 1)
		s.TaskTimeout = time.Duration(e.needInt("TASK_TIMEOUT_SECONDS")) * time.Second
	}
	return s, e, e.err()
}

func readDB(e *environ) dbSettings {
	d := dbSettings{
		Host:     e.need("DATABASE_HOST"),
		Port:     e.needInt("DATABASE_PORT"),
		Name:     e.need("DATABASE_NAME"),
		User:     e.need("DATABASE_USER"),
		Password: e.need("DATABASE_PASSWORD"),
		SSLMode:  e.opt("DATABASE_SSLMODE", "prefer"),
		PoolSize: e.optInt("DATABASE_POOL_SIZE", 0),
	}
	switch d.SSLMode {
	case "verify-ca", "verify-full":
		// Verifying needs the CA: the pod mounts it where DATABASE_SSLROOTCERT says.
		d.SSLRootCert = e.need("DATABASE_SSLROOTCERT")
	case "disable", "allow", "prefer", "require":
		d.SSLRootCert = e.opt("DATABASE_SSLROOTCERT", "")
	default:
		e.errs = append(e.errs, fmt.Errorf("DATABASE_SSLMODE: %q is not a libpq sslmode", d.SSLMode))
	}
	return d
}

func readRedis(e *environ, s *settings) {
	s.Queue = redisSettings{
		Host: e.need("REDIS_QUEUE_HOST"), Port: e.needInt("REDIS_QUEUE_PORT"),
		SentinelMaster: e.opt("REDIS_QUEUE_SENTINEL_MASTER", ""),
	}
	s.Cache = redisSettings{
		Host: e.need("REDIS_CACHE_HOST"), Port: e.needInt("REDIS_CACHE_PORT"),
		SentinelMaster: e.opt("REDIS_CACHE_SENTINEL_MASTER", ""),
	}
	s.RedisUsername = e.need("REDIS_USERNAME")
	s.RedisPassword = e.need("REDIS_PASSWORD")
	s.CacheKeyPrefix = e.need("REDIS_CACHE_KEY_PREFIX")
	switch tls := e.opt("REDIS_TLS", "false"); tls {
	case "true":
		s.RedisTLS = true
		s.RedisCA = e.need("REDIS_CA_CERT")
	case "false":
	default:
		e.errs = append(e.errs, fmt.Errorf("REDIS_TLS: %q is neither true nor false", tls))
	}
	// REDIS_SCHEME says the same for clients configured by URL: the two must agree.
	want := map[bool]string{false: "redis", true: "rediss"}[s.RedisTLS]
	if scheme := e.opt("REDIS_SCHEME", want); scheme != want {
		e.errs = append(e.errs, fmt.Errorf("REDIS_SCHEME %q contradicts REDIS_TLS (%s)", scheme, want))
	}
	s.QueueName = e.need("TASK_QUEUE_NAME")
}
