package components

import (
	"encoding/json"
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// PostgresRoleSQL is the psql script of the setup job that creates the application's role and
// database when missing and sets the password of the login of the current rotation slot. psql
// reads its values from the environment itself (\getenv, psql 15 or later: Spilo's newest client
// is its server's version), so none is on a command line, and quotes them itself (:'...', :"...").
// The password arrives as its SCRAM verifier (secrets tier), which PostgreSQL stores as it is: the
// password never reaches the server. The verifier is still a secret (it allows an offline guess of
// the password), so the statement that carries it is kept out of the server's log, its statistics
// and its audit for this session, whatever the cluster logs (Spilo logs DDL); Patroni does the
// same for the roles it creates. Only a superuser may change these settings, which the job is.
//
// APP_OWNER owns the database and every object; APP_USER is the current slot's login (see
// rotation.go). A login other than the owner is the owner's member and acts as it (its sessions
// start with SET role), so a migration run by either login creates objects of the same owner.
// The other slot's login keeps its password: clients not yet rolled still log in with it.
const PostgresRoleSQL = `\getenv app_owner APP_OWNER
\getenv app_user APP_USER
\getenv app_verifier APP_PASSWORD_VERIFIER
\getenv db APP_DATABASE
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
SET pg_stat_statements.track_utility = off;
SET pgaudit.log = 'none';
SELECT format('CREATE ROLE %I LOGIN', :'app_owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_owner')\gexec
SELECT format('CREATE ROLE %I LOGIN IN ROLE %I', :'app_user', :'app_owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')\gexec
SELECT format('ALTER ROLE %I SET role = %L', :'app_user', :'app_owner') WHERE :'app_user' <> :'app_owner'\gexec
ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_verifier';
RESET ALL;
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'app_owner') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec`

// PostgresRetireSQL is the retirement job's script: the previous slot's login loses its password
// (no password: no password login succeeds) and its sessions, the pooler's idle server
// connections included, end; every client rolled to the current login before it runs.
const PostgresRetireSQL = `\getenv old_login OLD_LOGIN
ALTER ROLE :"old_login" PASSWORD NULL;
SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity WHERE usename = :'old_login';`

// PostgresRetireStep is the retirement job's psql invocation, as PostgresSetupRoleStep.
const PostgresRetireStep = "psql -X -v ON_ERROR_STOP=1 <<'SQL'\n" + PostgresRetireSQL + "\nSQL"

// PostgresSetupRoleStep is the setup job's psql invocation: the script on standard input, the
// connection and the values from the environment, nothing else on its command line.
const PostgresSetupRoleStep = "psql -X -v ON_ERROR_STOP=1 <<'SQL'\n" + PostgresRoleSQL + "\nSQL"

// PostgresSetupScript creates the application's role and database when missing, sets the role's
// current password, and hands the tuning to Patroni as the cluster's dynamic configuration.
// PATCH is one of the REST API's unsafe methods, which Patroni authenticates: curl reads the
// user and password as its configuration from standard input (-K -), written by printf, a shell
// builtin, so they are on no command line either.
var PostgresSetupScript = fmt.Sprintf(`until pg_isready -q -h "$PGHOST" -p %[1]d -U postgres; do echo "waiting for the primary"; sleep 2; done
%[5]s
# Any member accepts the cluster's dynamic configuration; parameters that need a restart are
# then listed as pending (patronictl list) until an operator runs: patronictl restart --pending
printf 'user = "%%s:%%s"\n' "$PATRONI_RESTAPI_USERNAME" "$PATRONI_RESTAPI_PASSWORD" |
  curl -fsS -K - -X PATCH -H 'Content-Type: application/json' -d "$PATRONI_DYNAMIC_CONFIG" "http://%[2]s-0.%[3]s:%[4]d/config"
echo "postgres setup done"`, PostgresPort, PostgresName, PostgresHeadlessService, patroniPort, PostgresSetupRoleStep)

// postgresSetupJob makes the cluster what the application expects, idempotently, after the
// StatefulSet is ready. A change of the password (a rotation) or of the tuning changes the job's
// template, which replaces the job, so it runs again.
func postgresSetupJob(ctx *pulumi.Context, c *Postgres, args *PostgresArgs, primaryHost pulumi.StringOutput, params map[string]string, sts pulumi.Resource) (pulumi.Resource, error) {
	dynamic, err := json.Marshal(map[string]any{
		"synchronous_mode": args.Settings.SynchronousMode,
		"postgresql":       map[string]any{"parameters": params},
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: setup job: %w", err)
	}
	slot := SlotOf(args.Generation)
	pod := kube.ScriptPod("postgres-setup", args.Images.Postgres, postgresClientUID, PostgresSetupScript, corev1.EnvVarArray{
		kube.EnvOutput("PGHOST", primaryHost),
		kube.Env("PGUSER", "postgres"),
		kube.Env("PGDATABASE", "postgres"),
		kube.SecretEnv("PGPASSWORD", args.Secret, PostgresSuperuserPasswordKey),
		kube.Env("APP_OWNER", PostgresAppUser),
		kube.Env("APP_USER", PostgresAppLogin(slot)),
		kube.SecretEnv("APP_PASSWORD_VERIFIER", args.Secret, PostgresAppVerifierKeyOf(slot)),
		kube.Env("APP_DATABASE", PostgresDatabase),
		kube.SecretEnv("PATRONI_RESTAPI_USERNAME", args.Secret, PatroniAPIUserKey),
		kube.SecretEnv("PATRONI_RESTAPI_PASSWORD", args.Secret, PatroniAPIPasswordKey),
		kube.Env("PATRONI_DYNAMIC_CONFIG", string(dynamic)),
	}, nil, nil)
	trustInternalCA(&pod, args.TLS)
	// A rotation changes the template (the slot's login and keys; the generation for a rotation
	// that returns to a slot), which reruns the job.
	pod.Annotations = map[string]string{GenerationAnnotation: fmt.Sprint(args.Generation)}
	pod.PullPolicy = args.Images.PullPolicy
	job, w, err := kube.NewJob(ctx, c, args.Namespace, kube.Job{
		Name: PostgresSetupJob, Pod: pod, BackoffLimit: 6, DeadlineSeconds: 900,
	}, kube.After([]pulumi.Resource{sts}))
	if err != nil {
		return nil, err
	}
	c.add(w)
	return job, nil
}
