package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// connConfig is the connection from the settings, as libpq would take them: sslmode and
// sslrootcert exactly as DATABASE_SSLMODE and DATABASE_SSLROOTCERT say (verify-full checks the
// server's certificate against the CA and its name against DATABASE_HOST).
//
// Queries use the extended protocol without named prepared statements ("exec" mode): API and
// workers reach PostgreSQL through PgBouncer in transaction pooling, where a statement prepared
// on one server connection is not there on the next.
//
// The password is set on the parsed configuration, never written into the connection string,
// so no parse error can show it.
func connConfig(d dbSettings, application string) (*pgx.ConnConfig, error) {
	q := url.Values{}
	q.Set("sslmode", d.SSLMode)
	if d.SSLRootCert != "" {
		q.Set("sslrootcert", d.SSLRootCert)
	}
	q.Set("application_name", application)
	q.Set("connect_timeout", "10")
	q.Set("default_query_exec_mode", "exec")
	u := url.URL{
		Scheme: "postgres", User: url.User(d.User),
		Host: net.JoinHostPort(d.Host, strconv.Itoa(d.Port)), Path: "/" + d.Name, RawQuery: q.Encode(),
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	cfg.Password = d.Password
	return cfg, nil
}

// openPool is the API's or a worker's pool: DATABASE_POOL_SIZE connections at most (to the
// pooler). It connects lazily: the process starts, and reports not ready, while the database is
// down.
func openPool(ctx context.Context, d dbSettings, application string) (*pgxpool.Pool, error) {
	cc, err := connConfig(d, application)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig = cc
	if d.PoolSize > 0 {
		cfg.MaxConns = int32(d.PoolSize)
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// schemaGate says whether the schema is at the head revision this build needs. The API serves
// nothing that touches the tables before it is: the migration Job runs first, and until it has,
// a request gets 503 instead of a half-created table. A revision this build does not know is
// the next release's, whose migration runs before its pods replace these: migrations keep the
// schema usable by the release before them, so it is accepted. Once ready it stays so for the
// process.
type schemaGate struct {
	db     *pgxpool.Pool
	atHead atomic.Bool
}

// errSchemaBehind is the schema not (yet) at the head revision.
var errSchemaBehind = errors.New("the database schema is not at head: run the migration (alembic upgrade head)")

func (g *schemaGate) check(ctx context.Context) error {
	if g.atHead.Load() {
		return nil
	}
	v, err := currentRevision(ctx, g.db)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(revisions, func(r revision) bool { return r.ID == v })
	if v == "" || (i >= 0 && i < len(revisions)-1) {
		return fmt.Errorf("%w: at %q, need %q", errSchemaBehind, v, headRevision)
	}
	g.atHead.Store(true)
	return nil
}

// querier is a connection or a pool.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// currentRevision is alembic_version's revision: "" where there is none, or no table yet.
func currentRevision(ctx context.Context, q querier) (string, error) {
	var v string
	err := q.QueryRow(ctx, "SELECT version_num FROM alembic_version").Scan(&v)
	var pg *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case errors.As(err, &pg) && pg.Code == "42P01": // undefined_table
		return "", nil
	case err != nil:
		return "", fmt.Errorf("database: %w", err)
	}
	return v, nil
}
