package main

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// taskQueue is the task queue in the queue Redis: a list named TASK_QUEUE_NAME that the API
// pushes task ids onto (LPUSH) and workers take from the other end. The platform measures that
// list's length (the exporter's redis_key_size{key=TASK_QUEUE_NAME}) for the queue-depth alert
// and the worker autoscaler, so it holds exactly the tasks waiting for a worker.
//
// A task is never lost between a worker taking it and finishing it: BLMOVE moves it atomically
// to the processing list (<queue>:processing), where it stays until the worker has recorded the
// outcome; the worker holds a lease on it (<queue>:lease:<id>, renewed while it works). A task
// in the processing list whose lease is gone, its worker killed or cut off, goes back to the
// queue (reap). Delivery is therefore at least once; the worker's database update is
// idempotent.
type taskQueue struct {
	rdb                     redis.UniversalClient
	name, processing, lease string
}

func newTaskQueue(rdb redis.UniversalClient, name string) *taskQueue {
	return &taskQueue{rdb: rdb, name: name, processing: name + ":processing", lease: name + ":lease:"}
}

func (q *taskQueue) leaseKey(id string) string { return q.lease + id }

// push enqueues a task id.
func (q *taskQueue) push(ctx context.Context, id string) error {
	return q.rdb.LPush(ctx, q.name, id).Err()
}

// take waits up to wait for a task and moves it to the processing list; "" when none came.
func (q *taskQueue) take(ctx context.Context, wait time.Duration) (string, error) {
	id, err := q.rdb.BLMove(ctx, q.name, q.processing, "RIGHT", "LEFT", wait).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return id, err
}

// hold takes or renews the lease on a task for ttl.
func (q *taskQueue) hold(ctx context.Context, id, holder string, ttl time.Duration) error {
	return q.rdb.Set(ctx, q.leaseKey(id), holder, ttl).Err()
}

// ack removes a finished task from the processing list, and its lease.
func (q *taskQueue) ack(ctx context.Context, id string) error {
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LRem(ctx, q.processing, 1, id)
		p.Del(ctx, q.leaseKey(id))
		return nil
	})
	return err
}

// requeueScript moves a task from the processing list back to the head of the queue (the end
// workers take from: it waited longest), atomically, and drops its lease. With ARGV[2] "1" it
// does so only when no lease is held (the reaper's case).
var requeueScript = redis.NewScript(`
if ARGV[2] == "1" and redis.call("EXISTS", KEYS[3]) == 1 then return 0 end
local n = redis.call("LREM", KEYS[1], 1, ARGV[1])
if n > 0 then redis.call("RPUSH", KEYS[2], ARGV[1]) end
redis.call("DEL", KEYS[3])
return n`)

// requeue gives back a task this worker holds but could not finish (shutdown).
func (q *taskQueue) requeue(ctx context.Context, id string) error {
	return requeueScript.Run(ctx, q.rdb, []string{q.processing, q.name, q.leaseKey(id)}, id, "0").Err()
}

// reap requeues the tasks of the processing list that had no lease at the previous call and
// still have none: a worker sets its lease right after taking a task, so one scan's grace
// keeps the reaper off a task being taken. suspects carries the lease-less tasks between calls.
func (q *taskQueue) reap(ctx context.Context, suspects map[string]bool) ([]string, error) {
	ids, err := q.rdb.LRange(ctx, q.processing, 0, -1).Result()
	if err != nil {
		return nil, err
	}
	var requeued []string
	seen := map[string]bool{}
	for _, id := range ids {
		held, err := q.rdb.Exists(ctx, q.leaseKey(id)).Result()
		if err != nil {
			return requeued, err
		}
		if held == 1 {
			continue
		}
		if !suspects[id] {
			seen[id] = true
			continue
		}
		n, err := requeueScript.Run(ctx, q.rdb, []string{q.processing, q.name, q.leaseKey(id)}, id, "1").Int()
		if err != nil {
			return requeued, err
		}
		if n > 0 {
			requeued = append(requeued, id)
		}
	}
	clear(suspects)
	for id := range seen {
		suspects[id] = true
	}
	return requeued, nil
}
