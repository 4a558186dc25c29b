package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// process runs one task taken from the queue: lease it, mark it running, run it, record the
// outcome, acknowledge it. If work ends (the drain is over) before it finishes, the task goes
// back to the queue instead.
func (w *worker) process(work context.Context, id string) {
	start := time.Now()
	// What follows the task's run must complete even when work has just ended.
	after := context.WithoutCancel(work)
	if err := w.queue.hold(after, id, w.id, w.opts.lease); err != nil {
		w.log.Error("lease", "task", id, "error", err.Error())
	}
	held, release := context.WithCancel(work)
	go w.renew(held, id)
	defer release()

	kind, payload, err := w.claim(work, id)
	if errors.Is(err, pgx.ErrNoRows) {
		// Finished already (delivered twice) or unknown: nothing to do.
		w.log.Warn("not a task to run", "task", id)
		w.ack(after, id)
		return
	}
	if err != nil {
		w.log.Error("claiming the task", "task", id, "error", err.Error())
		w.requeue(after, id, taskKind, start)
		sleep(work, w.opts.poll)
		return
	}
	run, cancel := context.WithTimeout(work, w.timeout)
	res, err := w.runTask(run, kind, payload)
	cancel()
	if err != nil && work.Err() != nil {
		w.requeue(after, id, kind, start)
		return
	}
	status := "done"
	if err != nil {
		status = "failed"
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("the task ran longer than TASK_TIMEOUT_SECONDS (%s)", w.timeout)
		}
	} else if err := saveModel(w.models, id, res); err != nil {
		w.log.Error("saving the model", "task", id, "error", err.Error())
	}
	if err := w.finish(after, id, status, res, err); err != nil {
		w.log.Error("recording the outcome", "task", id, "error", err.Error())
		w.requeue(after, id, kind, start)
		return
	}
	w.ack(after, id)
	w.metrics.observe(kind, status, time.Since(start))
	w.log.Info("task finished", "task", id, "status", status, "seconds", time.Since(start).Seconds())
}

// renew keeps the lease while the task runs.
func (w *worker) renew(held context.Context, id string) {
	for sleep(held, w.opts.lease/3) {
		if err := w.queue.hold(held, id, w.id, w.opts.lease); err != nil && held.Err() == nil {
			w.log.Error("lease", "task", id, "error", err.Error())
		}
	}
}

// claim marks the task running and returns what to run; pgx.ErrNoRows when it is not to run.
func (w *worker) claim(ctx context.Context, id string) (string, []byte, error) {
	var kind string
	var payload []byte
	err := w.db.QueryRow(ctx, `UPDATE detection_tasks SET status = 'running', attempts = attempts + 1, updated_at = now()
		WHERE id = $1 AND status IN ('queued', 'running') RETURNING kind, payload`, id).Scan(&kind, &payload)
	return kind, payload, err
}

// runTask runs a task of kind; a task it cannot run fails (it is not requeued for ever).
func (w *worker) runTask(ctx context.Context, kind string, payload []byte) (detectionResult, error) {
	if kind != taskKind {
		return detectionResult{}, fmt.Errorf("unknown task kind %q", kind)
	}
	var req detectionRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return detectionResult{}, fmt.Errorf("payload: %w", err)
	}
	if err := req.validate(); err != nil {
		return detectionResult{}, fmt.Errorf("payload: %w", err)
	}
	return detect(ctx, req)
}

// finish records the outcome, and puts the finished task in the cache for the API.
func (w *worker) finish(ctx context.Context, id, status string, res detectionResult, failure error) error {
	var result, message any
	if failure != nil {
		message = failure.Error()
	} else {
		b, _ := json.Marshal(res)
		result = string(b)
	}
	_, err := w.db.Exec(ctx, `UPDATE detection_tasks SET status = $2, result = $3::jsonb, error = $4, updated_at = now() WHERE id = $1`,
		id, status, result, message)
	if err != nil {
		return err
	}
	t, err := readTask(ctx, w.db, id)
	if err == nil {
		err = w.cache.put(ctx, t)
	}
	if err != nil {
		w.log.Debug("cache", "task", id, "error", err.Error())
	}
	return nil
}

func (w *worker) ack(ctx context.Context, id string) {
	if err := w.queue.ack(ctx, id); err != nil {
		w.log.Error("acknowledging the task", "task", id, "error", err.Error())
	}
}

// requeue gives the task back: queued again in the database and in Redis.
func (w *worker) requeue(ctx context.Context, id, kind string, start time.Time) {
	if _, err := w.db.Exec(ctx, `UPDATE detection_tasks SET status = 'queued', updated_at = now() WHERE id = $1 AND status = 'running'`, id); err != nil {
		w.log.Error("requeue: database", "task", id, "error", err.Error())
	}
	if err := w.queue.requeue(ctx, id); err != nil {
		w.log.Error("requeue: queue", "task", id, "error", err.Error())
		return
	}
	w.metrics.observe(kind, "requeued", time.Since(start))
	w.log.Warn("task requeued", "task", id)
}
