package objectstore

import (
	"fmt"
	"testing"
)

// SpiloWalGEnv is WAL-G's environment as Spilo writes it into its envdir from the postgres
// container's variables (configure_spilo.py, write_wale_environment) for the archive of prefix:
// "" for the cluster's own, "CLONE_" for a restore's source, "STANDBY_" for a standby's primary.
// S3 only (the drills' store). pgVersion is the server's major version, which Spilo takes from
// its binaries for the cluster's own archive; a prefixed archive reads <prefix>PGVERSION instead,
// unset unless the pod sets it. What Spilo does, in its order:
//   - the prefix, unless <prefix>WALE_S3_PREFIX or <prefix>WALG_S3_PREFIX is given:
//     s3://<WAL_S3_BUCKET>/spilo/<WAL_BUCKET_SCOPE_PREFIX><SCOPE><WAL_BUCKET_SCOPE_SUFFIX>/wal/<PGVERSION>,
//     where the cluster's own WAL_BUCKET_SCOPE_PREFIX defaults to "<namespace>-" (a namespace
//     but default), a prefixed one to nothing;
//   - with an endpoint, path-style addressing (AWS_S3_FORCE_PATH_STYLE true, whatever the pod
//     says), no server-side encryption, and the region only where WAL-G backs up
//     (USE_WALG_BACKUP, which a prefixed archive on S3 gets by default);
//   - AWS_INSTANCE_PROFILE where no keys are given.
//
// PGPORT, which Spilo writes too (5432), is left out: the drills' servers have ports of their
// own, which the caller gives backup-push with PGHOST.
func SpiloWalGEnv(t testing.TB, pod map[string]string, prefix, pgVersion string) map[string]string {
	t.Helper()
	get := func(name string) string { return pod[prefix+name] }
	if get("WAL_S3_BUCKET") == "" && get("WALE_S3_PREFIX") == "" && get("WALG_S3_PREFIX") == "" {
		t.Fatalf("no S3 archive in the pod's %s variables (the drills' store is S3)", prefix)
	}
	scope, scopePrefix, version := get("SCOPE"), get("WAL_BUCKET_SCOPE_PREFIX"), get("PGVERSION")
	if prefix == "" {
		version = pgVersion
		if _, set := pod["WAL_BUCKET_SCOPE_PREFIX"]; !set {
			if ns := pod["POD_NAMESPACE"]; ns != "" && ns != "default" {
				scopePrefix = ns + "-"
			}
		}
	}
	env := map[string]string{}
	for _, name := range []string{"WALE_S3_PREFIX", "WALG_S3_PREFIX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT",
		"AWS_REGION", "AWS_S3_FORCE_PATH_STYLE", "WALG_DISABLE_S3_SSE", "WALG_S3_SSE", "WALG_S3_CA_CERT_FILE", "USE_WALG_BACKUP",
		"USE_WALG_RESTORE", "WALG_COMPRESSION_METHOD"} {
		if v := get(name); v != "" {
			env[name] = v
		}
	}
	// Spilo's set_walg_placeholders: a prefixed archive on S3 uses WAL-G unless told otherwise.
	for _, name := range []string{"USE_WALG_BACKUP", "USE_WALG_RESTORE"} {
		if _, set := pod[prefix+name]; prefix != "" && !set {
			env[name] = "true"
		}
	}
	if env["AWS_ENDPOINT"] != "" {
		env["AWS_S3_FORCE_PATH_STYLE"] = "true"
		env["WALG_DISABLE_S3_SSE"] = "true"
		if env["USE_WALG_BACKUP"] != "true" {
			delete(env, "AWS_REGION")
		}
	}
	if env["AWS_ACCESS_KEY_ID"] == "" || env["AWS_SECRET_ACCESS_KEY"] == "" {
		env["AWS_INSTANCE_PROFILE"] = "true"
	}
	if env["WALE_S3_PREFIX"] == "" {
		env["WALE_S3_PREFIX"] = fmt.Sprintf("s3://%s/spilo/%s%s%s/wal/%s", get("WAL_S3_BUCKET"), scopePrefix, scope, get("WAL_BUCKET_SCOPE_SUFFIX"), version)
	}
	if env["WALG_S3_PREFIX"] == "" {
		env["WALG_S3_PREFIX"] = env["WALE_S3_PREFIX"]
	}
	return env
}
