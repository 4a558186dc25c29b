//go:build drills

package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/tests/objectstore"
)

// drArchiveTimeout stands in for prod's archive_timeout (300 s, asserted on its own) on the DR
// drill's primary, as drillArchiveTimeout does in the point-in-time drill: the bound the drill
// proves (the standby loses at most archive_timeout of commits) does not depend on the value.
const drArchiveTimeout = 2 * time.Second

// archiverLatency is what the bound allows beyond archive_timeout: the checkpointer's switch
// comes a little late, and WAL-G then uploads the finished segment (here envdir, sh and rclone
// against the in-process store).
const archiverLatency = time.Second

// The two stacks: the primary in one region, the disaster-recovery stack in another, each
// archiving to its own bucket (in the drill both in the one store).
const (
	primaryNamespace = "pynomaly-eu-central"
	drNamespace      = "pynomaly-eu-west"
	primaryBucket    = "pynomaly-prod-wal"
	drBucket         = "pynomaly-dr-wal"
)

// The disaster-recovery drill: a primary archiving as prod's generated settings make it (to the
// store, through WAL-G's environment as Spilo derives it), and a standby built from what the
// program renders for the DR stack (postgres.standby.fromNamespace the primary's namespace,
// fromBucket its bucket): WAL-G's environment derived from the STANDBY_ variables as Spilo does,
// the primary's newest base backup fetched as Patroni's bootstrap_standby_with_wale fetches it,
// then standby.signal and restore_command wal-fetch, replaying continuously. A writer commits
// numbered rows on the primary, recording each one acknowledged; the primary's node is lost
// (every process SIGKILLed at once); once the standby has replayed all the archive holds (it can
// get no more), it is promoted. pg_promote() stands in for Patroni's promotion, which the program
// triggers when the stack drops postgres.standby: its setup job PATCHes Patroni's /config with
// standby_cluster null. Measured, three times:
//
//   - RTO: the kill to the first write the promoted server accepts;
//   - RPO: the kill less the newest acknowledged commit the promoted server has. Every
//     acknowledged commit older than archive_timeout (and the archiver's latency) is there.
func TestStandbyStackTakesOverFromALostPrimary(t *testing.T) {
	started := time.Now()
	requireRclone(t)
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	var worstRPO, worstRTO time.Duration
	for run := 1; run <= 3; run++ {
		t.Run(fmt.Sprintf("run %d", run), func(t *testing.T) {
			rpo, rto := failOverToStandby(t, bin)
			worstRPO, worstRTO = max(worstRPO, rpo), max(worstRTO, rto)
		})
	}
	t.Logf("DR DRILL, worst of 3 runs: RPO %s, RTO %s (archive_timeout %s in the drill); took %s",
		worstRPO.Round(time.Millisecond), worstRTO.Round(time.Millisecond), drArchiveTimeout, time.Since(started).Round(100*time.Millisecond))
}

// failOverToStandby runs the scenario once, with a store of its own, and returns its RPO and RTO.
func failOverToStandby(t *testing.T, bin string) (rpo, rto time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := objectstore.Start(t)
	store.CreateBucket(t, primaryBucket)
	store.CreateBucket(t, drBucket)
	primary, primaryArchive := startDRPrimary(t, ctx, bin, store)
	standby, drArchive := startDRStandby(t, ctx, bin, store, primaryArchive)
	standbyConn := connect(t, ctx, standby)

	// Steady load, the standby replaying the segments as they are archived; the node is lost a
	// few segment switches after the standby has shown the first rows.
	acked := startWriter(t, ctx, primary)
	waitReplaying(t, ctx, standbyConn)
	time.Sleep(2 * drArchiveTimeout)
	var replayedAtKill int
	require.NoError(t, standbyConn.QueryRow(ctx, "SELECT count(*) FROM results").Scan(&replayedAtKill))
	killedAt := loseNode(t, primary)
	written := <-acked

	caughtUpAt, end := waitReplayedArchive(t, ctx, standbyConn, store, primaryArchive, killedAt)
	_, err := standbyConn.Exec(ctx, "SELECT pg_promote()")
	require.NoError(t, err)
	rto = firstAcceptedWrite(t, ctx, standbyConn).Sub(killedAt)

	n := rowsWithoutGap(t, ctx, standbyConn)
	newest := newestPresent(written, n)
	require.NotNil(t, newest, "no acknowledged commit reached the standby (%d rows)", n)
	var committed time.Time
	require.NoError(t, standbyConn.QueryRow(ctx, "SELECT committed FROM results WHERE id = $1", newest.id).Scan(&committed))
	rpo = killedAt.Sub(committed)
	t.Logf("RPO %s, RTO %s (caught up with the archive's end %s %s after the kill, then promoted): %d of %d acknowledged commits kept, %d replayed at the kill",
		rpo.Round(time.Millisecond), rto.Round(time.Millisecond), end, caughtUpAt.Sub(killedAt).Round(time.Millisecond), n, len(written), replayedAtKill)

	bound := drArchiveTimeout + archiverLatency
	assert.LessOrEqual(t, rpo, bound, "the recovery point is within archive_timeout and the archiver's latency")
	for _, c := range written {
		if c.at.Before(killedAt.Add(-bound)) {
			assert.LessOrEqual(t, c.id, int64(n), "commit %d, acknowledged %s before the kill, must be on the promoted standby", c.id, killedAt.Sub(c.at))
		}
	}
	// Promoted, it archives to its own bucket: its new timeline starts there.
	bucket, path := archivePath(t, drArchive)
	waitForObject(t, store, bucket, path+"/wal_005/00000002.history")
	return rpo, rto
}

// startDRPrimary starts the primary stack's server: prod's generated parameters, but the drill's
// archive_timeout, archiving to the store as Spilo's WAL-G does, with a results table, a takeover
// table, and a base backup pushed. It returns the server and its archive's WAL-G prefix.
func startDRPrimary(t *testing.T, ctx context.Context, bin string, store *objectstore.Store) (*archivingServer, string) {
	t.Helper()
	c := storeStack(`{"walArchive": ` + archiveToStore(store, primaryBucket) + `}`)
	c["namespace"] = primaryNamespace
	pod, major := postgresPodEnv(t, "prod", c, store)
	env := objectstore.SpiloWalGEnv(t, pod, "", major)
	walg := newWalG(t, env)
	params := postgres.Parameters(settings(t, "prod", c).Postgres)
	params["archive_timeout"] = strconv.Itoa(int(drArchiveTimeout.Seconds()))
	params["archive_command"] = walg.command(`wal-push "%p"`)
	s := startArchiving(t, ctx, bin, filepath.Join(serviceDir(t), "data"), params)
	_, err := connect(t, ctx, s).Exec(ctx, `CREATE TABLE results (id bigint PRIMARY KEY, committed timestamptz NOT NULL);
CREATE TABLE takeover (at timestamptz NOT NULL)`)
	require.NoError(t, err)
	walg.run(t, ctx, libpqEnv(bin, s.dir, s.port), "backup-push", s.data)
	return s, env["WALG_S3_PREFIX"]
}

// startDRStandby starts the DR stack's server as Spilo makes it a standby of the primary's
// archive at primaryArchive: the program's STANDBY_ variables turned into WAL-G's environment,
// which must name that archive; the newest base backup fetched (Patroni's
// bootstrap_standby_with_wale: wale_restore.sh lists the backups, then backup-fetch LATEST);
// standby.signal, and the DR stack's generated parameters with the standby_cluster's
// restore_command (Spilo's envdir ... restore_command.sh, which runs wal-g wal-fetch) and the
// stack's own archive_command, which archives once promoted. It returns the server and its own
// archive's WAL-G prefix.
func startDRStandby(t *testing.T, ctx context.Context, bin string, store *objectstore.Store, primaryArchive string) (*archivingServer, string) {
	t.Helper()
	c, secretKeys := standbyStack(store, drNamespace, drBucket, primaryNamespace, primaryBucket)
	pod, major := postgresPodEnv(t, "prod", c, store, secretKeys...)
	replayEnv, ownEnv := objectstore.SpiloWalGEnv(t, pod, "STANDBY_", major), objectstore.SpiloWalGEnv(t, pod, "", major)
	require.Equal(t, primaryArchive, replayEnv["WALG_S3_PREFIX"], "the standby reads the archive the primary writes")
	replay, own := newWalG(t, replayEnv), newWalG(t, ownEnv)

	require.Contains(t, replay.run(t, ctx, nil, "backup-list"), "base_", "the primary's base backup, as wale_restore.sh looks for it")
	data := filepath.Join(serviceDir(t), "data")
	replay.run(t, ctx, nil, "backup-fetch", data, "LATEST")
	out, err := asServiceUser(ctx, "touch", filepath.Join(data, "standby.signal")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	params := postgres.Parameters(stackSettings(t, "prod", c, secretKeys...).Postgres)
	params["archive_timeout"] = strconv.Itoa(int(drArchiveTimeout.Seconds()))
	params["archive_command"] = own.command(`wal-push "%p"`)
	params["restore_command"] = replay.command(`wal-fetch "%f" "%p"`)
	return startArchiving(t, ctx, bin, data, params), ownEnv["WALG_S3_PREFIX"]
}

// startWriter commits numbered rows on s, one every 20 ms, each with its commit time, until the
// server is gone; the channel then gives the acknowledged ones, with when each was acknowledged.
func startWriter(t *testing.T, ctx context.Context, s *archivingServer) <-chan []commit {
	t.Helper()
	conn := connect(t, ctx, s)
	done := make(chan []commit, 1)
	go func() {
		var acked []commit
		for id := int64(1); ; id++ {
			if _, err := conn.Exec(ctx, "INSERT INTO results VALUES ($1, clock_timestamp())", id); err != nil {
				done <- acked
				return
			}
			acked = append(acked, commit{id, time.Now()})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return done
}

// waitReplaying waits until the standby has replayed rows the writer committed. Between
// segments it asks the archive again every wal_retrieve_retry_interval (5 s, as Patroni leaves
// it), so the first ones take up to that longer than archive_timeout.
func waitReplaying(t *testing.T, ctx context.Context, conn *pgx.Conn) {
	t.Helper()
	deadline := time.Now().Add(drArchiveTimeout + 20*time.Second)
	for {
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM results").Scan(&n))
		if n > 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "the standby replayed nothing of the load")
		time.Sleep(100 * time.Millisecond)
	}
}

// loseNode stops every process of the server at once, as a lost node does: SIGKILL to its
// process group, which the postmaster leads, so no backend writes, no checkpoint is taken and no
// archive_command (WAL-G's upload of the last segment included) goes on. It returns when.
func loseNode(t *testing.T, s *archivingServer) time.Time {
	t.Helper()
	pidFile, err := os.ReadFile(filepath.Join(s.data, "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	require.NoError(t, err)
	at := time.Now()
	require.NoError(t, syscall.Kill(-pid, syscall.SIGKILL))
	return at
}

// walSegment is a WAL segment's name: timeline, log and segment, 8 hexadecimal digits each.
var walSegment = regexp.MustCompile(`/([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$`)

// archiveEnd is the LSN where the newest segment among keys ends (16 MB segments, initdb's), as
// pg_lsn's text.
func archiveEnd(t *testing.T, keys []string) string {
	t.Helper()
	var newest []string
	for _, k := range keys {
		if m := walSegment.FindStringSubmatch(k); m != nil && (newest == nil || m[0] > newest[0]) {
			newest = m
		}
	}
	require.NotNil(t, newest, "no segment in the archive: %q", keys)
	log, _ := strconv.ParseUint(newest[2], 16, 32)
	seg, _ := strconv.ParseUint(newest[3], 16, 32)
	end := log<<32 + (seg+1)<<24
	return fmt.Sprintf("%X/%X", end>>32, end&0xFFFFFFFF)
}

// waitReplayedArchive waits until the standby has replayed the primary's whole archive (prefix):
// up to the end of its newest segment, listed again on each look. An upload the store had
// received in full when the node was lost may still land just after: nothing counts as the end
// before half a second after the kill. It returns when, and the end.
func waitReplayedArchive(t *testing.T, ctx context.Context, conn *pgx.Conn, store *objectstore.Store, prefix string, killedAt time.Time) (time.Time, string) {
	t.Helper()
	bucket, path := archivePath(t, prefix)
	deadline := time.Now().Add(30 * time.Second)
	for {
		end := archiveEnd(t, store.Keys(t, bucket, path+"/wal_005/"))
		var behind bool
		require.NoError(t, conn.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() < $1::pg_lsn", end).Scan(&behind))
		if !behind && time.Since(killedAt) > 500*time.Millisecond {
			return time.Now(), end
		}
		require.True(t, time.Now().Before(deadline), "the standby did not replay the archive up to %s", end)
		time.Sleep(50 * time.Millisecond)
	}
}

// firstAcceptedWrite writes to the promoted server until it accepts, and returns when it did.
func firstAcceptedWrite(t *testing.T, ctx context.Context, conn *pgx.Conn) time.Time {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := conn.Exec(ctx, "INSERT INTO takeover VALUES (clock_timestamp())")
		if err == nil {
			return time.Now()
		}
		require.True(t, time.Now().Before(deadline), "the promoted server accepts no write: %v", err)
		time.Sleep(20 * time.Millisecond)
	}
}

// rowsWithoutGap is the number of rows, which must be the ids 1..n.
func rowsWithoutGap(t *testing.T, ctx context.Context, conn *pgx.Conn) int {
	t.Helper()
	var n, maxID int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*), coalesce(max(id), 0) FROM results").Scan(&n, &maxID))
	require.Equal(t, n, maxID, "replayed rows have no gap")
	return int(n)
}

// newestPresent is the newest acknowledged commit among the first n ids, or nil.
func newestPresent(acked []commit, n int) *commit {
	for i := len(acked) - 1; i >= 0; i-- {
		if acked[i].id <= int64(n) {
			return &acked[i]
		}
	}
	return nil
}

// waitForObject waits until the store holds key in bucket.
func waitForObject(t *testing.T, store *objectstore.Store, bucket, key string) {
	t.Helper()
	deadline := time.Now().Add(drArchiveTimeout + 10*time.Second)
	for {
		for _, k := range store.Keys(t, bucket, key) {
			if k == key {
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "no %s in %s", key, bucket)
		time.Sleep(100 * time.Millisecond)
	}
}
