package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// task is a row of detection_tasks, as the API answers it.
type task struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Status    string          `json:"status"`
	Payload   json.RawMessage `json:"payload"`
	Result    json.RawMessage `json:"result"`
	Error     *string         `json:"error"`
	Attempts  int             `json:"attempts"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// finished is a status no worker changes any more.
func (t task) finished() bool { return t.Status == "done" || t.Status == "failed" }

const selectTask = `SELECT id::text, kind, status, payload, result, error, attempts, created_at, updated_at
	FROM detection_tasks WHERE id = $1`

func readTask(ctx context.Context, q querier, id string) (task, error) {
	var t task
	var payload, result []byte
	err := q.QueryRow(ctx, selectTask, id).Scan(&t.ID, &t.Kind, &t.Status, &payload, &result, &t.Error, &t.Attempts, &t.CreatedAt, &t.UpdatedAt)
	t.Payload, t.Result = payload, result
	return t, err
}

// taskCacheTTL is how long the cache keeps a finished task's answer.
const taskCacheTTL = 10 * time.Minute

// taskCache is the cache Redis as the tasks use it: every key under REDIS_CACHE_KEY_PREFIX, the
// only keys the application's user may touch there.
type taskCache struct {
	rdb    redis.UniversalClient
	prefix string
}

func (c *taskCache) key(id string) string { return c.prefix + "task:" + id }

// put puts a finished task in the cache (best effort: the database has it).
func (c *taskCache) put(ctx context.Context, t task) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return c.rdb.Set(ctx, c.key(t.ID), b, taskCacheTTL).Err()
}

// createDetection writes the task's row, reads it back, and queues its id for the workers.
func (a *api) createDetection(w http.ResponseWriter, r *http.Request) {
	var req detectionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	if err := req.validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	payload, _ := json.Marshal(req)
	var id string
	err := a.db.QueryRow(r.Context(), `INSERT INTO detection_tasks (kind, payload) VALUES ($1, $2::jsonb) RETURNING id::text`,
		taskKind, string(payload)).Scan(&id)
	if err != nil {
		a.unavailable(w, "writing the task", err)
		return
	}
	t, err := readTask(r.Context(), a.db, id)
	if err != nil {
		a.unavailable(w, "reading the task back", err)
		return
	}
	if err := a.queue.push(r.Context(), id); err != nil {
		// Not queued: record it, so its status says so instead of "queued" for ever.
		_, _ = a.db.Exec(context.WithoutCancel(r.Context()),
			`UPDATE detection_tasks SET status = 'failed', error = 'not queued', updated_at = now() WHERE id = $1`, id)
		a.unavailable(w, "queueing the task", err)
		return
	}
	a.log.Debug("queued", "task", id)
	w.Header().Set("Location", tasksPath+id)
	writeJSON(w, http.StatusAccepted, t)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// getTask answers a task's status: from the cache when finished and cached, else the database.
func (a *api) getTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !uuidPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, "no such task")
		return
	}
	if b, err := a.cache.rdb.Get(r.Context(), a.cache.key(id)).Bytes(); err == nil {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(b, '\n'))
		return
	} else if !errors.Is(err, redis.Nil) {
		a.log.Debug("cache", "error", err.Error())
	}
	t, err := readTask(r.Context(), a.db, id)
	if errors.Is(err, pgx.ErrNoRows) {
		writeError(w, http.StatusNotFound, "no such task")
		return
	}
	if err != nil {
		a.unavailable(w, "reading the task", err)
		return
	}
	if t.finished() {
		if err := a.cache.put(r.Context(), t); err != nil {
			a.log.Debug("cache", "error", err.Error())
		}
	}
	writeJSON(w, http.StatusOK, t)
}

// unavailable answers 503 for a failure of the database or the queue, and logs it.
func (a *api) unavailable(w http.ResponseWriter, what string, err error) {
	a.log.Error(what, "error", err.Error())
	writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%s failed", what))
}
