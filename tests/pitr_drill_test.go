//go:build drills

package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/tests/objectstore"
)

// drillArchiveTimeout stands in for prod's archive_timeout (300 s) in the point-in-time drill,
// so the drill takes seconds, not five minutes: the bound it proves (the recovery point is at
// most archive_timeout) does not depend on the value. The generated value is asserted on its own.
const drillArchiveTimeout = time.Second

// archivingServer is a real PostgreSQL with prod's generated parameters, archiving every WAL
// segment to an S3-compatible store with Spilo's archive_command (envdir ... wal-g wal-push "%p",
// the stand-in for WAL-G of tests/objectstore: WAL-G cannot be built here).
type archivingServer struct {
	dir, data string
	port      int
	kill      context.CancelFunc
}

func (s *archivingServer) url() string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", s.dir, s.port)
}

// startArchiving starts a server on data (initialised here when it is empty) with params; kill
// stops it as its operator would (SIGTERM), loseNode as a lost node (SIGKILL to every process).
func startArchiving(t *testing.T, ctx context.Context, bin, data string, params map[string]string) *archivingServer {
	t.Helper()
	s := &archivingServer{dir: filepath.Dir(data), data: data}
	if _, err := os.Stat(data); os.IsNotExist(err) {
		out, err := asServiceUser(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	conf, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = conf.WriteString("\n" + postgres.RenderConf(params))
	require.NoError(t, err)
	require.NoError(t, conf.Close())
	serverCtx, kill := context.WithCancel(ctx)
	s.kill = kill
	s.port, _ = runPostgres(t, serverCtx, bin, s.dir, data)
	return s
}

// The point-in-time drill: WAL archived as prod's generated settings archive it (archive_mode
// and archive_timeout from the program) to an S3-compatible store in the test's process, through
// WAL-G's environment as Spilo derives it from the variables the program gives the postgres
// container (the bucket, the endpoint, the Secret's keys); a base backup pushed there
// (backup-push), rows committed steadily, then two disasters, each restored from the store
// (backup-fetch LATEST) with the program's recovery parameters (postgres.RecoveryParameters,
// what Spilo's clone from WAL-G sets in the cluster, fetching with wal-fetch):
//
//   - the cluster lost (the server killed, its volume gone): restored to the end of the archive,
//     it holds every commit older than archive_timeout; the recovery point (the disaster's time
//     less the last recovered commit's) is printed and asserted within archive_timeout;
//   - a table dropped by mistake on the restored server: restored to a timestamp just before
//     the drop, through the first restore's new timeline, it has the table with every row.
func TestPointInTimeRestoreFromArchivedWAL(t *testing.T) {
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	requireRclone(t)

	// Prod archives (its stack file names the bucket; here the store's, at its endpoint), a
	// segment at least every five minutes.
	store := objectstore.Start(t)
	store.CreateBucket(t, "pynomaly-prod-wal")
	stack := storeStack(`{"walArchive": ` + archiveToStore(store, "pynomaly-prod-wal") + `}`)
	params := postgres.Parameters(settings(t, "prod", stack).Postgres)
	require.Equal(t, "on", params["archive_mode"], "prod archives WAL")
	timeout, err := strconv.Atoi(params["archive_timeout"])
	require.NoError(t, err)
	require.LessOrEqual(t, timeout, config.MaxArchiveTimeoutSeconds, "prod's archive_timeout")
	require.LessOrEqual(t, timeout, 15*60, "within the seed's RPO")

	pod, major := postgresPodEnv(t, "prod", stack, store)
	walgEnv := objectstore.SpiloWalGEnv(t, pod, "", major)
	walg := newWalG(t, walgEnv)
	params["archive_timeout"] = fmt.Sprint(int(drillArchiveTimeout.Seconds()))
	params["archive_command"] = walg.command(`wal-push "%p"`)
	restoreCommand := walg.command(`wal-fetch "%f" "%p"`)

	source := startArchiving(t, ctx, bin, filepath.Join(serviceDir(t), "data"), params)
	conn := connect(t, ctx, source)
	_, err = conn.Exec(ctx, "CREATE TABLE results (id bigint PRIMARY KEY, committed timestamptz NOT NULL)")
	require.NoError(t, err)
	// The base backup (Spilo's scheduled WAL-G backup-push in the cluster).
	walg.run(t, ctx, libpqEnv(bin, source.dir, source.port), "backup-push", source.data)

	// Disaster 1: commits every 20 ms for 3 s, then the server killed and its volume lost.
	acked := commitSteadily(t, ctx, conn, 0, 3*time.Second)
	disaster := loseNode(t, source)
	require.NoError(t, os.RemoveAll(source.data))

	restored := restoreFrom(t, ctx, bin, walg, params, postgres.RecoveryParameters(restoreCommand, time.Time{}))
	conn = connect(t, ctx, restored)
	last, n := lastCommit(t, ctx, conn)
	recoveryPoint := disaster.Sub(last)
	t.Logf("RECOVERY POINT (lost cluster): %d of %d acknowledged commits recovered; the last %s before the disaster (archive_timeout %s in the drill, %ds generated for prod)",
		n, len(acked), recoveryPoint.Round(time.Millisecond), drillArchiveTimeout, timeout)
	assert.Less(t, recoveryPoint, drillArchiveTimeout+time.Second, "the recovery point is within archive_timeout (and the archiver's latency)")
	for _, c := range acked {
		if c.at.Before(disaster.Add(-drillArchiveTimeout - time.Second)) {
			assert.LessOrEqual(t, c.id, int64(n), "commit %d at %s is older than archive_timeout and must be recovered", c.id, c.at)
		}
	}

	// Disaster 2, on the restored server (archiving on its new timeline into the same archive):
	// more commits, then a table dropped by mistake; restored to just before the drop.
	more := commitSteadily(t, ctx, conn, int64(n), 500*time.Millisecond)
	var dropAt time.Time
	require.NoError(t, conn.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&dropAt))
	_, err = conn.Exec(ctx, "DROP TABLE results")
	require.NoError(t, err)
	// The drop's segment reaches the archive, and the server is then lost too: the restore has
	// only the base backup and the archive. The segment is switched here and waited for: on the
	// just-promoted server, archive_timeout did finish segments, but the archiver left them
	// unarchived for 15 s and more with no failure recorded (PostgreSQL 15.18; a standalone
	// reproduction archived promptly; the archiver's own 60-s scan bounds such a delay).
	_, err = conn.Exec(ctx, "SELECT pg_switch_wal()")
	require.NoError(t, err)
	waitArchived(t, ctx, conn)
	restored.kill()
	target := dropAt.Add(-time.Millisecond)
	again := restoreFrom(t, ctx, bin, walg, params, postgres.RecoveryParameters(restoreCommand, target))
	conn = connect(t, ctx, again)
	last, n2 := lastCommit(t, ctx, conn)
	t.Logf("RECOVERY POINT (dropped table, target %s): %d rows, the last commit %s before the target; drill took %s",
		postgres.RecoveryTargetTime(target), n2, target.Sub(last).Round(time.Millisecond), time.Since(started).Round(100*time.Millisecond))
	assert.Equal(t, n+len(more), n2, "every row committed before the target, across both timelines")
	var timeline int
	require.NoError(t, conn.QueryRow(ctx, "SELECT timeline_id FROM pg_control_checkpoint()").Scan(&timeline))
	assert.GreaterOrEqual(t, timeline, 3, "each restore promoted to a new timeline")

	// Both restores read the store, where WAL-G keeps the archive under Spilo's prefix: the one
	// base backup with its sentinel, the first timeline's segments, and the second's history
	// and segments, which the second restore replayed.
	bucket, prefix := archivePath(t, walgEnv["WALG_S3_PREFIX"])
	keys := store.Keys(t, bucket, prefix+"/")
	var sentinels, secondTimeline int
	for _, k := range keys {
		if strings.HasPrefix(k, prefix+"/basebackups_005/base_") && strings.HasSuffix(k, "_backup_stop_sentinel.json") {
			sentinels++
		}
		if strings.HasPrefix(k, prefix+"/wal_005/00000002") {
			secondTimeline++
		}
	}
	assert.Equal(t, 1, sentinels, "one base backup, complete: %q", keys)
	assert.Contains(t, keys, prefix+"/wal_005/00000002.history")
	assert.GreaterOrEqual(t, secondTimeline, 2, "the second timeline's history and a segment: %q", keys)
}

type commit struct {
	id int64
	at time.Time
}

// commitSteadily commits one row every 20 ms for d, ids after from, and returns the
// acknowledged ones with their commit times (the server's clock, shared with the test's here).
func commitSteadily(t *testing.T, ctx context.Context, conn *pgx.Conn, from int64, d time.Duration) []commit {
	t.Helper()
	var acked []commit
	for end, id := time.Now().Add(d), from+1; time.Now().Before(end); id++ {
		_, err := conn.Exec(ctx, "INSERT INTO results VALUES ($1, clock_timestamp())", id)
		require.NoError(t, err)
		acked = append(acked, commit{id, time.Now()})
		time.Sleep(20 * time.Millisecond)
	}
	return acked
}

// lastCommit is the newest recovered row's commit time and the number of rows, which must be
// the ids 1..n without a gap.
func lastCommit(t *testing.T, ctx context.Context, conn *pgx.Conn) (time.Time, int) {
	t.Helper()
	var last time.Time
	var n, maxID int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT max(committed), count(*), max(id) FROM results").Scan(&last, &n, &maxID))
	require.Equal(t, n, maxID, "recovered rows have no gap")
	return last, int(n)
}

// restoreFrom is the restore: the newest base backup fetched from the archive as the new data
// directory (backup-fetch LATEST), the recovery parameters with recovery.signal (as Spilo's
// bootstrap writes them), and the server started; it returns once recovery has ended and the
// server is promoted.
func restoreFrom(t *testing.T, ctx context.Context, bin string, walg *walG, params, recovery map[string]string) *archivingServer {
	t.Helper()
	data := filepath.Join(serviceDir(t), "data")
	walg.run(t, ctx, nil, "backup-fetch", data, "LATEST")
	all := map[string]string{}
	for k, v := range params {
		all[k] = v
	}
	for k, v := range recovery {
		all[k] = v
	}
	out, err := asServiceUser(ctx, "touch", filepath.Join(data, "recovery.signal")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	start := time.Now()
	s := startArchiving(t, ctx, bin, data, all)
	conn := connect(t, ctx, s)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var inRecovery bool
		require.NoError(t, conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery))
		if !inRecovery {
			break
		}
		require.True(t, time.Now().Before(deadline), "recovery did not end")
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("restore: recovered and promoted in %s", time.Since(start).Round(10*time.Millisecond))
	return s
}

// waitArchived waits until the last finished WAL segment is in the archive.
func waitArchived(t *testing.T, ctx context.Context, conn *pgx.Conn) {
	t.Helper()
	var segment string
	require.NoError(t, conn.QueryRow(ctx, "SELECT pg_walfile_name(pg_current_wal_lsn() - 1)").Scan(&segment))
	deadline := time.Now().Add(drillArchiveTimeout + 10*time.Second)
	for {
		var archived, failed *string
		require.NoError(t, conn.QueryRow(ctx, "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver").Scan(&archived, &failed))
		if archived != nil && *archived >= segment {
			return
		}
		require.True(t, time.Now().Before(deadline), "segment %s not archived (last archived %v, last failed %v)", segment, deref(archived), deref(failed))
		time.Sleep(100 * time.Millisecond)
	}
}

func connect(t *testing.T, ctx context.Context, s *archivingServer) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, s.url())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// archivePath is the bucket and the path of a WAL-G prefix (s3://bucket/path).
func archivePath(t *testing.T, prefix string) (bucket, path string) {
	t.Helper()
	rest, ok := strings.CutPrefix(prefix, "s3://")
	require.True(t, ok, "an S3 prefix: %s", prefix)
	bucket, path, _ = strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	return bucket, path
}

func deref(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}
