// Command pynomaly-ref is the executable form of the contract the platform assumes of the
// Pynomaly images (docs/app-contract.md): one binary that runs as the API, the worker or the
// schema migration, reading exactly the environment, files and ports the pod specs of
// app/api.go, app/worker.go and app/migrations.go give it.
//
//	pynomaly-ref api                   the API (image default of images.api)
//	pynomaly-ref worker [flags]        the worker (image default of images.worker)
//	pynomaly-ref migrate               the migration
//	alembic upgrade head               the migration, as the migration Job's command runs it
//	                                   (alembic is a link to pynomaly-ref in the API image)
//
// It exists so that the platform's pods can run for real where the Pynomaly images cannot be
// pulled; it is not the product.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// The modes, by the argument that selects them.
const (
	modeAPI     = "api"
	modeWorker  = "worker"
	modeMigrate = "migrate"
)

// Exit codes: 2 for a command line or environment the program cannot run with.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() { os.Exit(run(os.Args, os.LookupEnv, os.Stdout, os.Stderr)) }

// errUsage marks an error of the command line.
var errUsage = errors.New("usage")

// run is the program: the mode from the command line, its settings from the environment, until
// it finishes or SIGTERM (or SIGINT) ends it gracefully.
func run(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	mode, rest, err := parseMode(args)
	if err != nil {
		fmt.Fprintf(stderr, "pynomaly-ref: %v\n%s", err, usage)
		return exitUsage
	}
	s, env, err := readSettings(mode, lookup)
	log := newLogger(stdout, s.LogLevel).With("mode", mode, "environment", s.Environment)
	if err != nil {
		log.Error("the environment is incomplete", "error", err.Error(), "required", env.Required())
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch mode {
	case modeAPI:
		err = runAPI(ctx, s, rest, log)
	case modeWorker:
		err = runWorker(ctx, s, rest, log)
	default:
		err = runMigrate(ctx, s, rest, log)
	}
	if errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "pynomaly-ref: %v\n%s", err, usage)
		return exitUsage
	}
	if err != nil {
		log.Error("failed", "error", err.Error())
		return exitFail
	}
	return exitOK
}

const usage = `usage:
  pynomaly-ref api
  pynomaly-ref worker [-metrics-port N] [-lease D] [-drain D] [-poll D]
  pynomaly-ref migrate
  alembic upgrade head    (pynomaly-ref called as alembic: the migration Job's command)
`

// parseMode finds the mode: by the name the program was called under (alembic, as the
// migration Job's command names it), else by the first argument.
func parseMode(args []string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, fmt.Errorf("%w: no arguments", errUsage)
	}
	if filepath.Base(args[0]) == "alembic" {
		return alembicMode(args[1:])
	}
	if len(args) < 2 {
		return "", nil, fmt.Errorf("%w: no mode", errUsage)
	}
	switch args[1] {
	case modeAPI, modeWorker, modeMigrate:
		return args[1], args[2:], nil
	case "alembic":
		return alembicMode(args[2:])
	}
	return "", nil, fmt.Errorf("%w: unknown mode %q", errUsage, args[1])
}

// alembicMode accepts what the migration Job runs, `alembic upgrade head`, and nothing else.
func alembicMode(args []string) (string, []string, error) {
	if len(args) == 2 && args[0] == "upgrade" && args[1] == "head" {
		return modeMigrate, nil, nil
	}
	return "", nil, fmt.Errorf("%w: as alembic only `upgrade head` is supported, got %q", errUsage, args)
}

// newLogger logs JSON lines to stdout at LOG_LEVEL (load.LogLevels: debug, info, warning,
// error, critical).
func newLogger(w io.Writer, level string) *slog.Logger {
	l := map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warning": slog.LevelWarn,
		"error": slog.LevelError, "critical": slog.LevelError + 4,
	}
	lv, ok := l[level]
	if !ok {
		lv = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv}))
}
