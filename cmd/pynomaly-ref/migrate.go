package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5"
)

// revision is one schema migration, as alembic keeps them: an id recorded in alembic_version
// once its statements ran, in one transaction.
type revision struct {
	ID         string
	Statements []string
}

// revisions are the schema's history, oldest first; the last is the head the API needs.
var revisions = []revision{
	{ID: "0001_detection_tasks", Statements: []string{
		`CREATE TABLE detection_tasks (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			kind text NOT NULL,
			payload jsonb NOT NULL,
			status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
			result jsonb,
			error text,
			attempts integer NOT NULL DEFAULT 0,
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		)`,
		`CREATE INDEX detection_tasks_status_created_at ON detection_tasks (status, created_at)`,
	}},
}

// headRevision is the revision this build's API and workers need.
var headRevision = revisions[len(revisions)-1].ID

// migrationLock is the advisory lock that keeps two migrations from running at once (a Job
// retried while its first pod still runs).
const migrationLock = 0x70796e6f6d616c79 // "pynomaly"

// runMigrate is the migration Job: connect to the primary (DATABASE_HOST of the migration pod is
// the read-write Service, not the pooler: DDL and an advisory lock need a session), bring the
// schema to head, exit. Idempotent: at head it changes nothing.
func runMigrate(ctx context.Context, s settings, args []string, log *slog.Logger) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: migrate takes no arguments", errUsage)
	}
	cfg, err := connConfig(s.DB, "pynomaly-ref-migrate")
	if err != nil {
		return err
	}
	log.Info("connecting", "host", s.DB.Host, "port", s.DB.Port, "database", s.DB.Name, "user", s.DB.User, "sslmode", s.DB.SSLMode)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	applied, err := migrate(ctx, conn)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		log.Info("already at head", "revision", headRevision)
	} else {
		log.Info("migrated", "applied", applied, "revision", headRevision)
	}
	return nil
}

// migrate applies the revisions after the database's, each in a transaction with its version
// update, under the advisory lock, and returns the ids it applied.
func migrate(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	defer func() {
		// The session ends next, which releases the lock anyway.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	}()
	// alembic's own table, as alembic creates it.
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS alembic_version (
		version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))`); err != nil {
		return nil, fmt.Errorf("alembic_version: %w", err)
	}
	current, err := currentRevision(ctx, conn)
	if err != nil {
		return nil, err
	}
	start := 0
	if current != "" {
		i := slices.IndexFunc(revisions, func(r revision) bool { return r.ID == current })
		if i < 0 {
			return nil, fmt.Errorf("the database is at revision %q, which this image does not know (a newer release migrated it)", current)
		}
		start = i + 1
	}
	var applied []string
	for _, r := range revisions[start:] {
		if err := apply(ctx, conn, r, current); err != nil {
			return applied, err
		}
		applied, current = append(applied, r.ID), r.ID
	}
	return applied, nil
}

// apply runs one revision and records it, in one transaction.
func apply(ctx context.Context, conn *pgx.Conn, r revision, previous string) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, stmt := range r.Statements {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("revision %s: %w", r.ID, err)
			}
		}
		record := "UPDATE alembic_version SET version_num = $1"
		if previous == "" {
			record = "INSERT INTO alembic_version (version_num) VALUES ($1)"
		}
		if _, err := tx.Exec(ctx, record, r.ID); err != nil {
			return fmt.Errorf("revision %s: recording it: %w", r.ID, err)
		}
		return nil
	})
}
