package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redisTLS is the TLS configuration with REDIS_TLS=true: the server's certificate checked
// against REDIS_CA_CERT. ServerName is left empty on purpose: each connection verifies the name
// it dials, the Sentinels' Service first, then the primary's pod name the Sentinels announce.
func redisTLS(s settings) (*tls.Config, error) {
	if !s.RedisTLS {
		return nil, nil
	}
	pem, err := os.ReadFile(s.RedisCA)
	if err != nil {
		return nil, fmt.Errorf("REDIS_CA_CERT: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("REDIS_CA_CERT %s: no certificate in it", s.RedisCA)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// newRedis is a client of one Redis role: directly, or through its Sentinels when
// REDIS_*_SENTINEL_MASTER names the primary (Sentinels and Redis know the same user and
// password: the redis pods' start-up script gives both the application's user). Clients connect
// lazily.
func newRedis(r redisSettings, username, password string, tlsConfig *tls.Config, poolSize int) redis.UniversalClient {
	const dial, read = 5 * time.Second, 5 * time.Second
	if r.SentinelMaster != "" {
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: r.SentinelMaster, SentinelAddrs: []string{r.addr()},
			Username: username, Password: password, SentinelUsername: username, SentinelPassword: password,
			TLSConfig: tlsConfig, DialTimeout: dial, ReadTimeout: read, PoolSize: poolSize, ContextTimeoutEnabled: true,
			DisableIdentity: true,
		})
	}
	return redis.NewClient(&redis.Options{
		Addr: r.addr(), Username: username, Password: password, TLSConfig: tlsConfig,
		DialTimeout: dial, ReadTimeout: read, PoolSize: poolSize, ContextTimeoutEnabled: true,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// redisClients are the queue's and the cache's clients of API and workers.
func redisClients(s settings, poolSize int, log *slog.Logger) (queue, cache redis.UniversalClient, err error) {
	redis.SetLogger(redisLogger{log})
	tlsConfig, err := redisTLS(s)
	if err != nil {
		return nil, nil, err
	}
	return newRedis(s.Queue, s.RedisUsername, s.RedisPassword, tlsConfig, poolSize),
		newRedis(s.Cache, s.RedisUsername, s.RedisPassword, tlsConfig, poolSize), nil
}

// logRedisTargets says where the clients connect, without the password.
func logRedisTargets(log *slog.Logger, s settings) {
	for role, r := range map[string]redisSettings{"queue": s.Queue, "cache": s.Cache} {
		log.Info("redis", "role", role, "addr", r.addr(), "sentinel_master", r.SentinelMaster, "tls", s.RedisTLS)
	}
}

// redisLogger sends the client library's own messages (reconnections, failovers) to the log.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...), "source", "go-redis")
}

// ping checks a client within a short deadline (health checks).
func ping(ctx context.Context, c redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}
