package tests

// No credential on a command line: the arguments of every process are readable by anyone who can
// list the node's processes (ps, /proc/<pid>/cmdline), and end up in audit logs and crash reports.
// A container gets its credentials as environment variables from a Secret (secretKeyRef); the
// check below follows each such variable through every command the pod runs (container
// commands and arguments, exec probes, lifecycle hooks), into the shell scripts, parsed with a
// real POSIX shell parser.

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mvdan.cc/sh/v3/syntax"

	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/platform"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

// kubeExpansion is Kubernetes' own expansion of $(NAME) in command and args (and in env values):
// the kubelet substitutes the variable's value before the process starts; $$(NAME) escapes it.
var kubeExpansion = regexp.MustCompile(`(^|[^$])\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// builtinsThatHoldArguments are shell builtins that run no program and print nothing: a
// credential among their arguments stays in the shell.
var builtinsThatHoldArguments = []string{"export", "readonly", "local", "test", "[", ":"}

// builtinsThatPrint are shell builtins that print their arguments: safe only when the output is
// captured (a file, a pipe, a command substitution), since a container's output is its log.
var builtinsThatPrint = []string{"echo", "printf"}

// commandLeaks lists how one command (a container's command and args, a probe's or a hook's
// command) would put a credential on a command line or in the log. secret holds the names of the
// environment variables that carry one.
func commandLeaks(argv []string, secret map[string]bool) []string {
	var leaks []string
	for _, a := range argv {
		for _, m := range kubeExpansion.FindAllStringSubmatch(a, -1) {
			if secret[m[2]] {
				leaks = append(leaks, fmt.Sprintf("Kubernetes expands $(%s) into the arguments", m[2]))
			}
		}
	}
	if script, ok := shellScript(argv); ok {
		l, err := scriptLeaks(script, secret)
		if err != nil {
			return append(leaks, "the script does not parse as POSIX sh: "+err.Error())
		}
		leaks = append(leaks, l...)
	}
	return leaks
}

// shellScript finds the script of `sh -c SCRIPT` (or -ec, -euc, ...; sh, bash, ash or dash).
func shellScript(argv []string) (string, bool) {
	if len(argv) < 3 || !slices.Contains([]string{"sh", "bash", "ash", "dash"}, path.Base(argv[0])) {
		return "", false
	}
	for i, a := range argv[1 : len(argv)-1] {
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "c") {
			return argv[i+2], true
		}
	}
	return "", false
}

// scriptLeaks walks a shell script in order. A variable assigned from a credential (or a loop
// variable over one) carries it too. Every simple command, in command substitutions as well, is
// checked: a credential in the arguments of anything but a builtin that holds them is a leak;
// echo and printf may hold one only when their output is captured.
func scriptLeaks(script string, secret map[string]bool) ([]string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), "")
	if err != nil {
		return nil, err
	}
	tainted := map[string]bool{}
	for k, v := range secret {
		tainted[k] = v
	}
	var leaks []string
	var stack []syntax.Node
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch x := n.(type) {
		case *syntax.Assign:
			if x.Value != nil && carries(x.Value, tainted) != "" {
				tainted[x.Name.Value] = true
			}
		case *syntax.WordIter:
			for _, w := range x.Items {
				if carries(w, tainted) != "" {
					tainted[x.Name.Value] = true
				}
			}
		case *syntax.CallExpr:
			leaks = append(leaks, callLeaks(x, stack, tainted)...)
		}
		return true
	})
	return leaks, nil
}

// callLeaks checks one simple command; stack is its ancestry, itself last.
func callLeaks(c *syntax.CallExpr, stack []syntax.Node, tainted map[string]bool) []string {
	if len(c.Args) == 0 {
		return nil
	}
	name := c.Args[0].Lit()
	if slices.Contains(builtinsThatHoldArguments, name) {
		return nil
	}
	var leaks []string
	for _, w := range c.Args {
		v := carries(w, tainted)
		if v == "" {
			continue
		}
		switch {
		case slices.Contains(builtinsThatPrint, name) && outputCaptured(stack):
		case slices.Contains(builtinsThatPrint, name):
			leaks = append(leaks, fmt.Sprintf("line %d: %s prints $%s to the container's log", w.Pos().Line(), name, v))
		default:
			leaks = append(leaks, fmt.Sprintf("line %d: $%s is an argument of %s", w.Pos().Line(), v, orDynamic(name)))
		}
	}
	return leaks
}

func orDynamic(name string) string {
	if name == "" {
		return "a command whose name is computed"
	}
	return name
}

// carries names the credential variable a word expands, or "". Command substitutions inside it
// are left out: their commands are checked on their own.
func carries(w *syntax.Word, tainted map[string]bool) string {
	found := ""
	syntax.Walk(w, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.CmdSubst:
			return false
		case *syntax.ParamExp:
			if x.Param != nil && tainted[x.Param.Value] && found == "" {
				found = x.Param.Value
			}
		}
		return true
	})
	return found
}

// outputCaptured says whether the standard output of the innermost statement of stack goes
// somewhere other than the container's log: redirected to a file, into a pipe, or into a command
// substitution, at that statement or at an enclosing one.
func outputCaptured(stack []syntax.Node) bool {
	for i := len(stack) - 1; i >= 0; i-- {
		switch x := stack[i].(type) {
		case *syntax.CmdSubst:
			return true
		case *syntax.Stmt:
			for _, r := range x.Redirs {
				if (r.N == nil || r.N.Value == "1") && slices.Contains([]syntax.RedirOperator{syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.RdrAll, syntax.AppAll}, r.Op) &&
					!strings.HasPrefix(r.Word.Lit(), "/dev/std") && !strings.HasPrefix(r.Word.Lit(), "/proc/self/fd") {
					return true
				}
			}
		case *syntax.BinaryCmd:
			if (x.Op == syntax.Pipe || x.Op == syntax.PipeAll) && i+1 < len(stack) && stack[i+1] == x.X {
				return true
			}
		}
	}
	return false
}

// secretEnv is the set of a container's variables that carry a credential: those from a
// Secret, and those whose value Kubernetes builds from one ($(NAME) in a value). envFrom a
// Secret would hide which names those are, so it is reported instead.
func secretEnv(t *testing.T, r *Resource, container string) (map[string]bool, []string) {
	t.Helper()
	secret := map[string]bool{}
	var problems []string
	if v, ok := r.Get(container + ".env"); ok {
		for i := range v.ArrayValue() {
			p := fmt.Sprintf("%s.env.%d", container, i)
			name := r.Str(t, p+".name")
			switch {
			case r.Has(p + ".valueFrom.secretKeyRef"):
				secret[name] = true
			case r.Has(p + ".value"):
				for _, m := range kubeExpansion.FindAllStringSubmatch(r.Str(t, p+".value"), -1) {
					secret[name] = secret[name] || secret[m[2]]
				}
			}
		}
	}
	if v, ok := r.Get(container + ".envFrom"); ok {
		for i := range v.ArrayValue() {
			if r.Has(fmt.Sprintf("%s.envFrom.%d.secretRef", container, i)) {
				problems = append(problems, "envFrom a Secret: which of its variables are credentials cannot be checked")
			}
		}
	}
	return secret, problems
}

// commands are every command a container runs: its command and args, its exec probes and its
// exec lifecycle hooks, by where they are.
func commands(t *testing.T, r *Resource, container string) map[string][]string {
	t.Helper()
	strs := func(p string) []string {
		v, ok := r.Get(p)
		if !ok {
			return nil
		}
		var out []string
		for _, e := range v.ArrayValue() {
			out = append(out, e.StringValue())
		}
		return out
	}
	out := map[string][]string{}
	if argv := append(strs(container+".command"), strs(container+".args")...); len(argv) > 0 {
		out["command"] = argv
	}
	for _, p := range []string{"readinessProbe.exec.command", "livenessProbe.exec.command", "startupProbe.exec.command",
		"lifecycle.postStart.exec.command", "lifecycle.preStop.exec.command"} {
		if argv := strs(container + "." + p); len(argv) > 0 {
			out[p] = argv
		}
	}
	return out
}

// Every command of every container of every pod template, in every environment (prod also with
// WAL archiving to object storage, whose keys come from a Secret; staging mid-rotation), keeps its credentials off
// the command line.
func TestNoCredentialOnACommandLine(t *testing.T) {
	stacks := map[string]cfg{"dev": nil, "staging": nil, "prod": nil,
		"prod+walArchive": {"identity": noIdentity, "postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal", "credentialsSecret": "wal-g-s3"}}`,
			"network": `{"objectStorageCidrs": ["203.0.113.0/24"]}`},
		// Mid-rotation: two generations of the rotating credentials, and the retirement jobs.
		"staging+rotation": {"secrets": `{"rotation": {"all": 1}}`}}
	for name, c := range stacks {
		env, _, _ := strings.Cut(name, "+")
		st := deploy(t, env, c)
		checked, scripts := 0, 0
		for _, p := range st.PodTemplates() {
			for _, container := range p.Containers() {
				where := fmt.Sprintf("%s: %s %s %s", name, p.Owner.Type, p.Owner.Name, p.Owner.Str(t, container+".name"))
				secret, problems := secretEnv(t, p.Owner, container)
				assert.Empty(t, problems, where)
				for field, argv := range commands(t, p.Owner, container) {
					assert.Empty(t, commandLeaks(argv, secret), "%s %s", where, field)
					checked++
					if _, ok := shellScript(argv); ok && len(secret) > 0 {
						scripts++
					}
				}
			}
		}
		// The scripts that hold credentials were looked at: the Redis start-up, the database
		// setup jobs, the backup, the init containers that wait for Redis.
		assert.GreaterOrEqual(t, scripts, 5, "%s: scripts with credentials in their environment", name)
		assert.Greater(t, checked, scripts, name)
	}
}

// The check finds the ways a credential reaches a command line, and leaves alone the ways it
// does not. These are the snippets it must tell apart, with the credential in $PW.
func TestCredentialOnACommandLineIsCaught(t *testing.T) {
	secret := map[string]bool{"PW": true}
	sh := func(script string) []string { return []string{"/bin/sh", "-ec", script} }
	for _, bad := range [][]string{
		sh(`redis-cli -h "$peer" -p 26379 --no-auth-warning -a "$PW" sentinel get-master-addr-by-name m`),
		sh(`psql -v ON_ERROR_STOP=1 -v app_password="$PW" <<'SQL'` + "\nSELECT 1;\nSQL"),
		sh(`p=$PW; psql -v app_password="$p" -c 'SELECT 1'`),
		sh(`for p in "$PW"; do mysql --password="$p"; done`),
		sh(`primary=$(redis-cli -a "$PW" ping | head -n 1)`),
		sh(`curl -fsS -u "admin:$PW" http://influxdb:8086/api/v2/setup`),
		sh(`curl -H "Authorization: Token ${PW}" http://influxdb:8086/health`),
		sh(`influx bucket list --token $PW`),
		sh(`if true; then pg_dump "postgresql://app:${PW}@db/app" > /backup/x; fi`),
		sh(`echo "password is $PW"`),
		sh(`echo "$PW" >&2`),
		sh(`printf '%s\n' "$PW" > /dev/stdout`),
		sh(`exec redis-server --requirepass "$PW"`),
		{"/bin/redis_exporter", "--redis.password=$(PW)"},
		{"sh", "-c", "exec app --key $(PW)"},
		sh(`until redis-cli -a "$PW" ping; do sleep 1; done`),
	} {
		assert.NotEmpty(t, commandLeaks(bad, secret), "not caught: %q", bad)
	}
	for _, good := range [][]string{
		sh(`{
  echo "requirepass $PW"
  echo "masterauth $PW"
} > /run/redis/redis.conf`),
		sh(`echo "sentinel auth-pass m $PW" >> /run/redis/sentinel.conf`),
		sh(`printf 'user = "%s:%s"\n' "$USER" "$PW" | curl -fsS -K - -X PATCH http://patroni:8008/config`),
		sh(`export PGPASSWORD="$PW"; psql -c 'SELECT 1'`),
		sh(`[ -n "$PW" ] || { echo "no password"; exit 1; }`),
		sh(`redis-cli -h "$peer" ping`),
		sh(`psql -X -v ON_ERROR_STOP=1 <<'SQL'` + "\n\\getenv p PW\nALTER ROLE app PASSWORD :'p';\nSQL"),
		sh(`v=$(printf '%s' "$PW" | sha256sum); echo "checksum taken"`),
		{"/bin/redis_exporter", "--redis.addr=redis://127.0.0.1:6379", "--skip=$$(PW)"},
		{"redis-server", "/run/redis/redis.conf"},
	} {
		assert.Empty(t, commandLeaks(good, secret), "a safe form was reported: %q", good)
	}
	leaks := commandLeaks(sh("echo ok\npsql -v p=\"$PW\""), secret)
	require.Len(t, leaks, 1)
	assert.Equal(t, "line 2: $PW is an argument of psql", leaks[0])
}

// The scripts the components run, as scripts/lint.sh gives them to shellcheck
// (platform.Scripts), are every script a stack runs, and each parses as POSIX sh. The restore
// scripts, which no stack declares, keep the credentials of the backup container they run in
// (scripts/restore.sh makes the restore Job from it, with cmd/restorejob) off the command line.
func TestEveryScriptIsLintedAndTheRestoresKeepCredentialsOffTheCommandLine(t *testing.T) {
	linted := map[string]bool{}
	for _, s := range platform.Scripts() {
		linted[s.Text] = true
		_, err := scriptLeaks(s.Text, nil)
		require.NoError(t, err, "%s does not parse as POSIX sh", s.Name)
	}
	stacks := map[string]cfg{"dev": nil, "staging": nil, "prod": nil,
		"prod+walArchive": {"identity": noIdentity, "postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal", "credentialsSecret": "wal-g-s3"}}`,
			"network": `{"objectStorageCidrs": ["203.0.113.0/24"]}`},
		"staging+rotation": {"secrets": `{"rotation": {"all": 1}}`},
		"prod+snapshots":   {"storage": snapshotClass}}
	for name, c := range stacks {
		env, _, _ := strings.Cut(name, "+")
		st := deploy(t, env, c)
		for _, p := range st.PodTemplates() {
			for _, container := range p.Containers() {
				for field, argv := range commands(t, p.Owner, container) {
					if script, ok := shellScript(argv); ok {
						assert.True(t, linted[script], "%s: %s %s %s %s: a script shellcheck does not read (platform.Scripts)",
							name, p.Owner.Type, p.Owner.Name, p.Owner.Str(t, container+".name"), field)
					}
				}
			}
		}
		for _, r := range []struct{ cron, container, script string }{
			{postgres.BackupCronJob, "postgres-backup", postgres.RestoreScript},
			{influxdb.BackupCronJob, "influxdb-backup", influxdb.RestoreScript},
		} {
			cron := st.One(t, "kubernetes:batch/v1:CronJob", r.cron)
			secret, _ := secretEnv(t, cron, cron.Container(t, "spec.jobTemplate.spec.template.spec", r.container))
			require.NotEmpty(t, secret, "%s: %s", name, r.cron)
			leaks, err := scriptLeaks(r.script, secret)
			require.NoError(t, err)
			assert.Empty(t, leaks, "%s: the restore from %s", name, r.cron)
		}
	}
}
