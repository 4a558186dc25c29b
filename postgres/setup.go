package postgres

import (
	"encoding/json"
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// RoleSQL is the psql script of the setup job that creates the application's role and
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
//
// MONITOR_USER is the metrics exporter's login, a member of pg_monitor only: the exporter reads
// the statistics views and settings without the superuser's password, and no data.
var RoleSQL = assets.Script("role.sql")

// RetireSQL is the retirement job's script: the previous slot's login loses its password
// (no password: no password login succeeds) and its sessions, the pooler's idle server
// connections included, end; every client rolled to the current login before it runs.
var RetireSQL = assets.Script("retire.sql")

// RetireStep is the retirement job's psql invocation, as SetupRoleStep.
var RetireStep = psqlStep(RetireSQL)

// SetupRoleStep is the setup job's psql invocation: the script on standard input, the
// connection and the values from the environment, nothing else on its command line.
var SetupRoleStep = psqlStep(RoleSQL)

// psqlStep runs the psql script sql, given on standard input.
func psqlStep(sql string) string { return "psql -X -v ON_ERROR_STOP=1 <<'SQL'\n" + sql + "\nSQL" }

// SetupScript hands the tuning to Patroni as the cluster's dynamic configuration (which, outside
// a standby stack, ends a standby cluster: the promotion), then, once the primary takes writes,
// creates the application's role and database when missing and sets the role's current
// password. A standby (STANDBY_OF set) stops after the PATCH: its roles are the primary's.
// PATCH is one of the REST API's unsafe methods, which Patroni authenticates: curl reads the
// user and password as its configuration from standard input (-K -), written by printf, a shell
// builtin, so they are on no command line either.
var SetupScript = tier.Fill(assets.ScriptTemplate("setup.sh.tmpl"), map[string]any{
	"RoleStep": SetupRoleStep, "ScramVerifier": assets.Script("scram_verifier.py"),
	"StatefulSet": Name, "Headless": HeadlessService, "PatroniPort": patroniPort,
})

// postgresSetupJob makes the cluster what the application expects, idempotently, after the
// StatefulSet is ready. A change of the password (a rotation) or of the tuning changes the job's
// template, which replaces the job, so it runs again.
func postgresSetupJob(ctx *pulumi.Context, c *Postgres, args *Args, primaryHost pulumi.StringInput, params map[string]string, sts pulumi.Resource) (pulumi.Resource, error) {
	planned, err := setupJob(args, primaryHost, params)
	if err != nil {
		return nil, err
	}
	job, w, err := kube.NewJob(ctx, c, args.Namespace, planned, kube.After([]pulumi.Resource{sts}))
	if err != nil {
		return nil, err
	}
	c.Add(w)
	return job, nil
}

// loginEnv hands the setup job a login's SCRAM verifier, or, for a password from a secret
// manager (external), the password, whose verifier the job computes.
func loginEnv(login string, secret pulumi.StringInput, external bool, passwordKey, verifierKey string) corev1.EnvVarInput {
	if external {
		return kube.SecretEnv(login+"_PASSWORD", secret, passwordKey)
	}
	return kube.SecretEnv(login+"_PASSWORD_VERIFIER", secret, verifierKey)
}

// setupJob is the setup Job; primaryHost is the primary's Service once declared.
func setupJob(args *Args, primaryHost pulumi.StringInput, params map[string]string) (kube.Job, error) {
	config := map[string]any{
		"synchronous_mode": args.Settings.SynchronousMode,
		"postgresql":       map[string]any{"parameters": params},
	}
	standby := args.Settings.Standby
	if !standby.On() {
		// Patroni drops a key patched to null: a standby cluster so becomes a primary, and on a
		// primary nothing changes.
		config["standby_cluster"] = nil
	}
	dynamic, err := json.Marshal(config)
	if err != nil {
		return kube.Job{}, fmt.Errorf("postgres: setup job: %w", err)
	}
	slot := credentials.SlotOf(args.Generation)
	pod := kube.ScriptPod("postgres-setup", args.Images.Postgres, tier.JobResources, ClientUID, SetupScript, corev1.EnvVarArray{
		kube.EnvOutput("PGHOST", primaryHost),
		kube.Env("PGPORT", fmt.Sprint(Port)),
		kube.Env("PGUSER", "postgres"),
		kube.Env("PGDATABASE", "postgres"),
		kube.SecretEnv("PGPASSWORD", args.Secret, credentials.PostgresSuperuserPasswordKey),
		kube.Env("APP_OWNER", credentials.PostgresAppUser),
		kube.Env("APP_USER", credentials.PostgresAppLogin(slot)),
		loginEnv("APP", args.Secret, args.ExternalApp, credentials.PostgresAppPasswordKeyOf(slot), credentials.PostgresAppVerifierKeyOf(slot)),
		kube.Env("APP_DATABASE", Database),
		kube.Env("MONITOR_USER", credentials.PostgresMonitorUser),
		loginEnv("MONITOR", args.Secret, args.ExternalMonitor, credentials.PostgresMonitorPasswordKey, credentials.PostgresMonitorVerifierKey),
		kube.SecretEnv("PATRONI_RESTAPI_USERNAME", args.Secret, credentials.PatroniAPIUserKey),
		kube.SecretEnv("PATRONI_RESTAPI_PASSWORD", args.Secret, credentials.PatroniAPIPasswordKey),
		kube.Env("PATRONI_DYNAMIC_CONFIG", string(dynamic)),
	}, nil, nil)
	if standby.On() {
		pod.Containers[0].Env = append(pod.Containers[0].Env, kube.Env("STANDBY_OF", standby.FromNamespace))
	}
	tier.TrustInternalCA(&pod, args.TLS)
	// A rotation changes the template (the slot's login and keys; the generation for a rotation
	// that returns to a slot), which reruns the job.
	pod.Annotations = map[string]string{credentials.GenerationAnnotation: fmt.Sprint(args.Generation)}
	return kube.Job{Name: SetupJob, Pod: pod, BackoffLimit: 6, DeadlineSeconds: 900}, nil
}
