package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/tests/objectstore"
)

// The drills run WAL-G (tests/objectstore's stand-in) with the environment the program gives
// the pod, as the pod would get it: the kubelet resolves the rendered variables (kubeletEnv), then,
// in the postgres container, Spilo derives WAL-G's own environment from them (spiloWalGEnv).

// storeCredentials is the credentials Secret the drills name in postgres.walArchive, holding
// the in-process store's keys.
const storeCredentials = "wal-s3"

// archiveToStore is postgres.walArchive for the in-process store: the bucket at its endpoint,
// logged in with the keys of storeCredentials.
func archiveToStore(store *objectstore.Store, bucket string) string {
	return fmt.Sprintf(`{"s3Bucket": %q, "region": %q, "endpoint": %q, "credentialsSecret": %q}`,
		bucket, store.Region, store.Endpoint, storeCredentials)
}

// storeStack is a stack's config archiving to the in-process store: no workload identity (the
// keys come from the Secret), and the store's loopback address as the object store's range.
func storeStack(postgres string) cfg {
	return cfg{"identity": noIdentity, "postgres": postgres, "network": `{"objectStorageCidrs": ["127.0.0.0/8"]}`}
}

// storeSecrets are the Secrets' values the kubelet would read for storeCredentials, by
// "name/key" as Resource.Env names a secretKeyRef.
func storeSecrets(store *objectstore.Store) map[string]string {
	return map[string]string{
		storeCredentials + "/AWS_ACCESS_KEY_ID":     store.AccessKey,
		storeCredentials + "/AWS_SECRET_ACCESS_KEY": store.SecretKey,
	}
}

// kubeletReference is a $(NAME) reference to another variable in a rendered value.
var kubeletReference = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// kubeletEnv is a container's variables (Resource.Env) as its process sees them: Secret keys read
// from secrets (a key not there, such as the cluster's passwords, WAL-G does not read: its
// variable is left out), metadata.namespace the pod's namespace, and $(NAME) references
// expanded. The kubelet expands a reference only to a variable defined before it; Resource.Env
// keeps no order, so that is not checked here (the program's references are to POD_NAMESPACE,
// defined first).
func kubeletEnv(rendered map[string]string, namespace string, secrets map[string]string) map[string]string {
	env := map[string]string{}
	for name, value := range rendered {
		switch {
		case strings.HasPrefix(value, "secret:"):
			if v, ok := secrets[strings.TrimPrefix(value, "secret:")]; ok {
				env[name] = v
			}
		case value == "field:metadata.namespace":
			env[name] = namespace
		case strings.HasPrefix(value, "field:"):
			continue // the pod's IP and the like: nothing WAL-G reads
		default:
			env[name] = value
		}
	}
	for name, value := range env {
		env[name] = kubeletReference.ReplaceAllStringFunc(value, func(ref string) string {
			if v, ok := env[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref // the kubelet leaves an unknown reference as it is
		})
	}
	return env
}

// walG is the stand-in for WAL-G as Spilo runs it: envdir "<env dir>" wal-g ..., the env dir
// holding WAL-G's environment, both where the server's user reads them.
type walG struct {
	envdir, envDir, path string
}

// newWalG writes the stand-in and env for the server's user.
func newWalG(t *testing.T, env map[string]string) *walG {
	t.Helper()
	tools := serviceDir(t)
	w := &walG{envdir: filepath.Join(tools, "envdir"), envDir: serviceDir(t), path: objectstore.WalG(t, tools)}
	objectstore.WriteEnvDir(t, w.envDir, env)
	return w
}

// command is the shell command PostgreSQL runs for a WAL-G subcommand, as Spilo writes its
// archive_command (envdir "$WALE_ENV_DIR" wal-g wal-push "%p").
func (w *walG) command(args string) string {
	return fmt.Sprintf(`%s "%s" %s %s`, w.envdir, w.envDir, w.path, args)
}

// run runs a WAL-G subcommand as the server's user, with extra variables (libpq's, for
// backup-push) beside the env dir's, and fails the test if it fails.
func (w *walG) run(t *testing.T, ctx context.Context, extra []string, args ...string) string {
	t.Helper()
	cmd := asServiceUser(ctx, w.envdir, append([]string{w.envDir, w.path}, args...)...)
	cmd.Env = append(append(os.Environ(), "HOME="+os.TempDir()), extra...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "wal-g %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// libpqEnv is what backup-push needs to reach a server on the socket in dir: libpq's variables,
// and the server's own client programs first on PATH.
func libpqEnv(bin, dir string, port int) []string {
	return []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "PGHOST=" + dir, fmt.Sprintf("PGPORT=%d", port), "PGUSER=postgres"}
}

// Spilo's WAL-G environment for prod's archive on an S3-compatible store: the bucket, the
// namespace and scope, and the image's major version make the prefix; the keys are the Secret's;
// the endpoint means path-style addressing.
func TestSpiloDerivesWALGsEnvironmentFromTheProgramsVariables(t *testing.T) {
	store := &objectstore.Store{Endpoint: "http://127.0.0.1:9000", AccessKey: "access", SecretKey: "secret", Region: "us-east-1"}
	stack := storeStack(`{"walArchive": ` + archiveToStore(store, "pynomaly-wal") + `}`)
	pod, major := postgresPodEnv(t, "prod", stack, store)
	require.Equal(t, "17", major, "prod's image, spilo-17")
	env := objectstore.SpiloWalGEnv(t, pod, "", major)
	assert.Equal(t, "s3://pynomaly-wal/spilo/"+settings(t, "prod", stack).Namespace+"-pynomaly-postgres/wal/17", env["WALG_S3_PREFIX"])
	for name, want := range map[string]string{"AWS_ENDPOINT": store.Endpoint, "AWS_REGION": "us-east-1", "AWS_S3_FORCE_PATH_STYLE": "true",
		"AWS_ACCESS_KEY_ID": "access", "AWS_SECRET_ACCESS_KEY": "secret"} {
		assert.Equal(t, want, env[name], name)
	}
	assert.NotContains(t, env, "AWS_INSTANCE_PROFILE", "keys are given")
}

// A DR stack's STANDBY_ variables make Spilo's WAL-G read the archive the primary stack's writes
// (its namespace, scope, bucket and major version), with the DR stack's store login; its own
// variables still name its own archive, where it writes once promoted.
func TestStandbyVariablesNameThePrimarysArchive(t *testing.T) {
	store := &objectstore.Store{Endpoint: "http://127.0.0.1:9000", AccessKey: "access", SecretKey: "secret", Region: "us-east-1"}
	primaryStack := storeStack(`{"walArchive": ` + archiveToStore(store, "pynomaly-prod-wal") + `}`)
	primaryStack["namespace"] = "pynomaly-eu-central"
	primaryPod, major := postgresPodEnv(t, "prod", primaryStack, store)
	primary := objectstore.SpiloWalGEnv(t, primaryPod, "", major)

	dr, secretKeys := standbyStack(store, "pynomaly-eu-west", "pynomaly-dr-wal", "pynomaly-eu-central", "pynomaly-prod-wal")
	drPod, drMajor := postgresPodEnv(t, "prod", dr, store, secretKeys...)
	replay := objectstore.SpiloWalGEnv(t, drPod, "STANDBY_", drMajor)
	assert.Equal(t, primary["WALG_S3_PREFIX"], replay["WALG_S3_PREFIX"])
	assert.Equal(t, "true", replay["USE_WALG_RESTORE"], "restore_command.sh runs wal-g wal-fetch")
	for _, name := range []string{"AWS_ENDPOINT", "AWS_REGION", "AWS_S3_FORCE_PATH_STYLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		assert.Equal(t, primary[name], replay[name], name)
	}
	assert.Equal(t, "s3://pynomaly-dr-wal/spilo/pynomaly-eu-west-pynomaly-postgres/wal/17", objectstore.SpiloWalGEnv(t, drPod, "", drMajor)["WALG_S3_PREFIX"])
}

// standbyStack is a DR stack's config, in namespace archiving to bucket in store, a standby of
// the primary stack in fromNamespace archiving to fromBucket there, with the primary's
// passwords (validation requires them: the standby replays the primary's roles), which are
// secretKeys.
func standbyStack(store *objectstore.Store, namespace, bucket, fromNamespace, fromBucket string) (c cfg, secretKeys []string) {
	c = storeStack(`{"walArchive": ` + archiveToStore(store, bucket) +
		fmt.Sprintf(`, "standby": {"fromNamespace": %q, "fromBucket": %q}}`, fromNamespace, fromBucket))
	c["namespace"] = namespace
	for k, v := range map[string]string{"postgresSuperuserPassword": "primary-superuser-0123",
		"postgresReplicationPassword": "primary-replication-0123", "postgresMonitorPassword": "primary-monitor-01234"} {
		c[k] = v
		secretKeys = append(secretKeys, k)
	}
	return c, secretKeys
}

// requireRclone fails the test without rclone, which the stand-in for WAL-G runs.
func requireRclone(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("rclone")
	require.NoError(t, err, "rclone is not on PATH: scripts/test.sh installs Debian's package")
}

// postgresPodEnv is the postgres container's variables in the stack env rendered with c (and
// secretKeys, as deploy takes them), as the kubelet gives them to its process (the store's keys
// read from their Secret), and the PostgreSQL major version of its image, which Spilo reads from
// the image's binaries (the drills' PostgreSQL is Debian's, standing in for the image's).
func postgresPodEnv(t *testing.T, env string, c cfg, store *objectstore.Store, secretKeys ...string) (pod map[string]string, major string) {
	t.Helper()
	sts := deploy(t, env, c, secretKeys...).One(t, statefulSetType, "pynomaly-postgres")
	container := sts.Container(t, podSpec, "postgres")
	image := sts.Str(t, container+".image")
	major = config.PostgresMajor(image)
	require.NotEmpty(t, major, "the image %s names no major version", image)
	return kubeletEnv(sts.Env(t, container), sts.Str(t, "metadata.namespace"), storeSecrets(store)), major
}

// stackSettings is settings with secretKeys stored encrypted, as deploy takes them (a standby
// stack's passwords must be).
func stackSettings(t *testing.T, env string, c cfg, secretKeys ...string) *config.Settings {
	t.Helper()
	values, err := stackValues(env, c)
	require.NoError(t, err)
	values["environment"] = env
	secrets := map[string]bool{}
	for _, k := range secretKeys {
		secrets[k] = true
	}
	s, err := load.Parse(project, load.Source{Values: values, Secrets: secrets})
	require.NoError(t, err)
	return s
}
