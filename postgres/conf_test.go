package postgres

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/golden"
)

// TestPostgresConf pins postgresql.conf as postgres.New renders it (TLS parameters where internal
// TLS is on), and checks that the poolers' server connections fit in max_connections beside the
// reserved ones, and that archiving is on exactly where a bucket is named.
func TestPostgresConf(t *testing.T) {
	for _, env := range config.Environments {
		t.Run(string(env), func(t *testing.T) {
			s := golden.Settings(t, env)
			params := Parameters(s.Postgres)
			if s.TLS.Internal {
				maps.Copy(params, TLSParameters())
			}
			got := RenderConf(params)
			golden.Compare(t, "postgres/"+string(env)+".conf", got)

			m := regexp.MustCompile(`(?m)^max_connections = '(\d+)'$`).FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("no max_connections in\n%s", got)
			}
			maxConn, _ := strconv.Atoi(m[1])
			if pooled := s.Pooler.Replicas * s.Pooler.PoolSize; pooled > maxConn-config.ReservedConnections {
				t.Errorf("poolers open %d server connections; max_connections %d leaves %d beside the %d reserved",
					pooled, maxConn, maxConn-config.ReservedConnections, config.ReservedConnections)
			}
			archiving := strings.Contains(got, "archive_mode = 'on'\n")
			if want := s.Postgres.WALArchive.S3Bucket != ""; archiving != want {
				t.Errorf("archive_mode on: %v, want %v (bucket %q)", archiving, want, s.Postgres.WALArchive.S3Bucket)
			}
		})
	}
}

// TestPostgresHBA pins pg_hba: every TCP rule either demands TLS or rejects.
func TestPostgresHBA(t *testing.T) {
	hba := HBA()
	golden.Compare(t, "postgres/pg_hba.conf", strings.Join(hba, "\n")+"\n")
	for _, rule := range hba {
		f := strings.Fields(rule)
		switch {
		case f[0] == "local", f[0] == "hostssl":
		case f[0] == "hostnossl" && f[len(f)-1] == "reject":
		default:
			t.Errorf("rule %q lets a TCP connection in without TLS", rule)
		}
	}
}

// TestPgBouncerIni pins pgbouncer.ini per environment (TLS follows internal TLS: off in dev, on
// from staging) and with TLS turned on in dev, and checks the pool size and the TLS modes.
func TestPgBouncerIni(t *testing.T) {
	type variant struct {
		name     string
		env      config.Environment
		forceTLS bool
	}
	cases := []variant{{"dev", config.Dev, false}, {"dev-tls", config.Dev, true}, {"staging", config.Staging, false}, {"prod", config.Prod, false}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := golden.Settings(t, c.env)
			tls := c.forceTLS || s.TLS.Internal
			got := PgBouncerIni(fmt.Sprintf("%s.%s.svc", ServiceName, s.Namespace), s.Pooler, tls)
			golden.Compare(t, "pgbouncer/"+c.name+".ini", got)

			if want := fmt.Sprintf("\ndefault_pool_size = %d\n", s.Pooler.PoolSize); !strings.Contains(got, want) {
				t.Errorf("pgbouncer.ini lacks %q", strings.TrimSpace(want))
			}
			// With TLS the pooler verifies PostgreSQL and refuses plain clients; without it
			// it must not demand what PostgreSQL's unverified certificate cannot give.
			want := map[bool][]string{
				true:  {"client_tls_sslmode = require", "server_tls_sslmode = verify-full"},
				false: {"server_tls_sslmode = prefer"},
			}[tls]
			for _, line := range want {
				if !strings.Contains(got, "\n"+line+"\n") {
					t.Errorf("TLS %v: pgbouncer.ini lacks %q", tls, line)
				}
			}
			if !tls && strings.Contains(got, "client_tls") {
				t.Errorf("TLS off: pgbouncer.ini sets client TLS")
			}
		})
	}
}
