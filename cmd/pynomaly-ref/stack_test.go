package main

// A test's app tier: the rendered pods, run as processes against the servers, each with the
// argv, environment and user its pod spec gives it; only what names a place changes (hosts and
// ports of the servers, the CA file, the model volume, the API's port, the test's database).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// imageArgs are the argv the images must run when the pod spec gives no command or args (the
// API's and the worker's): the entrypoint and default arguments of images.api and
// images.worker (docs/app-contract.md).
var imageArgs = map[string][]string{
	modeAPI:    {"pynomaly-ref", "api"},
	modeWorker: {"pynomaly-ref", "worker"},
}

type endpoint struct {
	host string
	port int
}

type stack struct {
	t    *testing.T
	s    *sharedServers
	pods appPods
	tls  bool
	// db is the test's database; endpoints map the rendered hosts to the servers.
	db        string
	endpoints map[string]endpoint
	secrets   map[string]string
	// cred is the pod's user when the tests run as root (nil otherwise); models and tmp stand
	// for the model volume and the /tmp emptyDir, writable by it.
	cred        *syscall.Credential
	models, tmp string
}

// newStack renders the app tier (TLS and Sentinels or neither) and gives it a database.
func newStack(t *testing.T, tls bool, redisPassword string, endpoints map[string]endpoint) *stack {
	t.Helper()
	s := servers(t)
	st := &stack{t: t, s: s, tls: tls, pods: renderApp(t, s.settings, tls, tls), db: s.newDatabase(t)}
	st.endpoints = map[string]endpoint{
		poolerHost:  {"127.0.0.1", s.pooler},
		primaryHost: {"127.0.0.1", s.pgPort},
	}
	if tls {
		st.endpoints[poolerHost] = endpoint{"127.0.0.1", s.tlsPooler}
	}
	for k, v := range endpoints {
		st.endpoints[k] = v
	}
	st.secrets = map[string]string{
		credentials.PostgresAppPasswordKeyOf(credentials.SlotOf(testGeneration)): s.appPassword,
		credentials.RedisPasswordKeyOf(credentials.SlotOf(testGeneration)):       redisPassword,
		credentials.APISecretKeyKey: rand.Text(),
		influxdb.AppTokenKey:        rand.Text(),
	}
	uid := st.pods.API.Spec.SecurityContext.RunAsUser
	if os.Geteuid() == 0 {
		st.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(st.pods.API.Spec.SecurityContext.RunAsGroup)}
	}
	for _, d := range []*string{&st.models, &st.tmp} {
		dir, err := ownedDir(st.cred, 0o700)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		*d = dir
	}
	return st
}

// env is the environment of pod's application container, moved to the test's places.
func (st *stack) env(pod k8sPod) map[string]string {
	t := st.t
	t.Helper()
	env := st.pods.env(t, pod.main(t), st.secrets)
	for _, hp := range [][2]string{{"DATABASE_HOST", "DATABASE_PORT"}, {"REDIS_QUEUE_HOST", "REDIS_QUEUE_PORT"}, {"REDIS_CACHE_HOST", "REDIS_CACHE_PORT"}} {
		e, ok := st.endpoints[env[hp[0]]]
		if !ok {
			t.Fatalf("%s=%s: the test has no server for it", hp[0], env[hp[0]])
		}
		env[hp[0]], env[hp[1]] = e.host, strconv.Itoa(e.port)
	}
	if env["DATABASE_NAME"] != postgres.Database {
		t.Fatalf("DATABASE_NAME=%s, want %s", env["DATABASE_NAME"], postgres.Database)
	}
	env["DATABASE_NAME"] = st.db
	for k, v := range env {
		switch v {
		case tier.CAFile:
			env[k] = st.s.caFile
		case app.ModelStoragePath:
			env[k] = st.models
		}
	}
	env["TMPDIR"] = st.tmp // the /tmp emptyDir
	return env
}

// start runs the program as the pod would: argv resolved in the image's directory, the
// environment env only, the pod's user.
func (st *stack) start(name string, argv []string, env map[string]string) *proc {
	st.t.Helper()
	cmd := exec.Command(filepath.Join(st.s.refDir, argv[0]), argv[1:]...)
	cmd.Args[0] = argv[0]
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if st.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: st.cred}
	}
	p, err := startProc(name, cmd)
	if err != nil {
		st.t.Fatal(err)
	}
	stopOnCleanup(st.t, p)
	return p
}

// command is the argv of the pod's application container: its command and args, or the
// image's default where it sets neither.
func (st *stack) command(pod k8sPod, mode string) []string {
	c := pod.main(st.t)
	if len(c.Command) == 0 && len(c.Args) == 0 {
		return imageArgs[mode]
	}
	return append(append([]string{}, c.Command...), c.Args...)
}

// migrate runs the migration Job's container to its end and returns its exit code and output.
func (st *stack) migrate(env map[string]string) (int, string) {
	st.t.Helper()
	if env == nil {
		env = st.env(st.pods.Migration)
	}
	p := st.start("migration", st.command(st.pods.Migration, modeMigrate), env)
	code := p.wait(30 * time.Second)
	return code, p.out.String()
}

// api starts the API on a free port and waits for it to listen; it returns its base URL.
func (st *stack) api(env map[string]string) (*proc, string) {
	st.t.Helper()
	if env == nil {
		env = st.env(st.pods.API)
	}
	port, err := freePort()
	if err != nil {
		st.t.Fatal(err)
	}
	env["API_PORT"] = strconv.Itoa(port)
	p := st.start("api", st.command(st.pods.API, modeAPI), env)
	if err := waitUntil(15*time.Second, p, listening(port)); err != nil {
		st.t.Fatal(err)
	}
	return p, fmt.Sprintf("http://127.0.0.1:%d", port)
}

// worker starts a worker with flags (its metrics port first) and waits for it to listen; it
// returns its metrics URL.
func (st *stack) worker(flags ...string) (*proc, string) {
	st.t.Helper()
	port, err := freePort()
	if err != nil {
		st.t.Fatal(err)
	}
	argv := append(append(st.command(st.pods.Worker, modeWorker), "-metrics-port", strconv.Itoa(port)), flags...)
	p := st.start("worker", argv, st.env(st.pods.Worker))
	if err := waitUntil(15*time.Second, p, listening(port)); err != nil {
		st.t.Fatal(err)
	}
	return p, fmt.Sprintf("http://127.0.0.1:%d", port)
}

// call is an HTTP request with a JSON body (nil: none), as the kubelet when probe is set; it
// returns the status code and the body.
func call(t *testing.T, method, url string, body any, probe bool) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if probe {
		req.Header.Set("User-Agent", "kube-probe/1.33")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// awaitReady polls the API's readiness probe, as the kubelet does, until it answers 200.
func awaitReady(t *testing.T, base string, api *proc) {
	t.Helper()
	var body []byte
	if err := waitUntil(10*time.Second, api, func() bool {
		var code int
		code, body = call(t, http.MethodGet, base+healthPath, nil, true)
		return code == http.StatusOK
	}); err != nil {
		t.Fatalf("the API never became ready (last answer %s): %v", body, err)
	}
}

// submit posts a detection and returns the task the API answered with.
func submit(t *testing.T, base string, req detectionRequest) task {
	t.Helper()
	code, body := call(t, http.MethodPost, base+detectionsPath, req, false)
	if code != http.StatusAccepted {
		t.Fatalf("POST %s: %d %s", detectionsPath, code, body)
	}
	var tk task
	if err := json.Unmarshal(body, &tk); err != nil {
		t.Fatal(err)
	}
	return tk
}

// awaitStatus polls the task through the API until it has status, and returns it.
func awaitStatus(t *testing.T, base, id, status string, within time.Duration, procs ...*proc) task {
	t.Helper()
	var tk task
	err := waitUntil(within, nil, func() bool {
		code, body := call(t, http.MethodGet, base+tasksPath+id, nil, false)
		return code == http.StatusOK && json.Unmarshal(body, &tk) == nil && tk.Status == status
	})
	if err != nil {
		for _, p := range procs {
			t.Logf("%s:\n%s", p.name, p.out)
		}
		t.Fatalf("task %s never %s (last %+v): %v", id, status, tk, err)
	}
	return tk
}
