package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queueStack is a migrated plain stack with its API, and a client of its queue Redis.
func queueStack(t *testing.T) (*stack, string, *redis.Client) {
	t.Helper()
	s := servers(t)
	const password = "queue-s3cret"
	port := queueServer(t, s, password, false)
	st := newStack(t, false, password, map[string]endpoint{
		redisQueueHost: {"127.0.0.1", port}, redisCacheHost: {"127.0.0.1", port},
	})
	code, out := st.migrate(nil)
	require.Equal(t, 0, code, "migration: %s", out)
	_, base := st.api(nil)
	return st, base, redisClient(t, s, port, password, false)
}

// awaitRunning waits until a worker has taken the task.
func awaitRunning(t *testing.T, base, id string, p *proc) {
	t.Helper()
	awaitStatus(t, base, id, "running", 10*time.Second, p)
}

// A worker stopped while it works gives the task back once its drain is over (the pod's grace
// period is the longest task plus a margin for this): the task is queued again, in the
// database and at the head of the queue, and the next worker finishes it.
func TestAStoppingWorkerRequeuesWhatItCannotFinish(t *testing.T) {
	t.Parallel()
	st, base, queue := queueStack(t)
	name := st.pods.ConfigMap["TASK_QUEUE_NAME"]
	first, _ := st.worker("-drain", "300ms")
	tk := submit(t, base, detectionRequest{Values: []float64{1, 2, 3, 50}, FitSeconds: 1})
	awaitRunning(t, base, tk.ID, first)
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, first.wait(5*time.Second), "the stopping worker exits 0:\n%s", first.out)
	assert.Contains(t, first.out.String(), "task requeued")
	waiting, err := queue.LRange(context.Background(), name, 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, []string{tk.ID}, waiting)
	assert.Zero(t, queue.LLen(context.Background(), name+":processing").Val())

	second, _ := st.worker()
	done := awaitStatus(t, base, tk.ID, "done", 10*time.Second, second)
	assert.Equal(t, 2, done.Attempts)
}

// A worker killed while it works (SIGKILL, a lost node) leaves its task in the processing list
// without a lease: another worker's reaper puts it back on the queue, and it is done.
func TestATaskOfAKilledWorkerIsNotLost(t *testing.T) {
	t.Parallel()
	st, base, queue := queueStack(t)
	name := st.pods.ConfigMap["TASK_QUEUE_NAME"]
	first, _ := st.worker("-lease", "1s")
	tk := submit(t, base, detectionRequest{Values: []float64{1, 2, 3, 50}, FitSeconds: 1})
	awaitRunning(t, base, tk.ID, first)
	require.NoError(t, syscall.Kill(-first.cmd.Process.Pid, syscall.SIGKILL))
	first.wait(5 * time.Second)
	held, err := queue.LRange(context.Background(), name+":processing", 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, []string{tk.ID}, held, "the killed worker's task is in the processing list")

	second, _ := st.worker("-lease", "1s")
	done := awaitStatus(t, base, tk.ID, "done", 15*time.Second, second)
	assert.Equal(t, 2, done.Attempts)
	assert.Contains(t, second.out.String(), "requeued a task whose worker is gone")
}
