package components

import (
	"encoding/json"
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// PostgresRoleSQL is the psql script of the setup job that creates the application's role and
// database when missing and sets the role's current password. It takes the psql variables
// app_user, app_password and db, and quotes them itself (:'app_password'), so a password may hold
// any character.
const PostgresRoleSQL = `SELECT format('CREATE ROLE %I LOGIN', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')\gexec
ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec`

// postgresSetupScript creates the application's role and database when missing, sets the role's
// current password, and hands the tuning and the replication mode to Patroni as the cluster's
// dynamic configuration.
var postgresSetupScript = fmt.Sprintf(`until pg_isready -q -h "$PGHOST" -p %[1]d -U postgres; do echo "waiting for the primary"; sleep 2; done
psql -v ON_ERROR_STOP=1 -v app_user="$APP_USER" -v app_password="$APP_PASSWORD" -v db="$APP_DATABASE" <<'SQL'
%[5]s
SQL
# Any member accepts the cluster's dynamic configuration; parameters that need a restart are
# then listed as pending (patronictl list) until an operator runs: patronictl restart --pending
curl -fsS -X PATCH -H 'Content-Type: application/json' -d "$PATRONI_DYNAMIC_CONFIG" "http://%[2]s-0.%[3]s:%[4]d/config"
echo "postgres setup done"`, PostgresPort, PostgresName, PostgresHeadlessService, patroniPort, PostgresRoleSQL)

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
	pod := kube.ScriptPod("postgres-setup", args.Images.Postgres, spiloUID, postgresSetupScript, corev1.EnvVarArray{
		kube.EnvOutput("PGHOST", primaryHost),
		kube.Env("PGUSER", "postgres"),
		kube.Env("PGDATABASE", "postgres"),
		kube.SecretEnv("PGPASSWORD", args.Secret, PostgresSuperuserPasswordKey),
		kube.Env("APP_USER", PostgresAppUser),
		kube.SecretEnv("APP_PASSWORD", args.Secret, PostgresAppPasswordKey),
		kube.Env("APP_DATABASE", PostgresDatabase),
		kube.Env("PATRONI_DYNAMIC_CONFIG", string(dynamic)),
	}, nil, nil)
	// The keeper of the generated credentials: a rotation changes the template and reruns the job.
	pod.Annotations = map[string]string{"pynomaly.io/credentials-rotation": args.Rotation}
	job, w, err := kube.NewJob(ctx, c, args.Namespace, kube.Job{
		Name: PostgresSetupJob, Pod: pod, BackoffLimit: 6, DeadlineSeconds: 900,
	}, pulumi.DependsOn([]pulumi.Resource{sts}))
	if err != nil {
		return nil, err
	}
	c.add(w)
	return job, nil
}
