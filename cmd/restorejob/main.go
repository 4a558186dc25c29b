// Command restorejob turns a backup CronJob (as `kubectl get cronjob pynomaly-postgres-backup
// -o json` prints it, or pynomaly-influxdb-backup's) into a one-off Job that restores a backup:
// the same image, credentials, backup volume, security context and labels (so the same network
// policies let it reach the database), running the program's restore script instead of the
// backup. scripts/restore.sh pipes it into `kubectl create -f -`.
//
//	restorejob [--database postgres|influxdb] [--from 20261125T020000Z] [--name NAME] < cronjob.json > job.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

// database is what a restore of one database needs: the backup CronJob's container that makes
// the backup, and the script that restores one.
type database struct{ container, script string }

var databases = map[string]database{
	"postgres": {container: "postgres-backup", script: postgres.RestoreScript},
	"influxdb": {container: "influxdb-backup", script: influxdb.RestoreScript},
}

func main() {
	db := flag.String("database", "postgres", "the database whose backup to restore: postgres or influxdb")
	from := flag.String("from", "", "the backup to restore (a directory on the backup volume); empty: the newest")
	name := flag.String("name", "", "the Job's name (default pynomaly-<database>-restore-<UTC time>)")
	flag.Parse()
	d, ok := databases[*db]
	if !ok {
		fail("--database %q: must be postgres or influxdb", *db)
	}
	if *name == "" {
		*name = "pynomaly-" + *db + "-restore-" + time.Now().UTC().Format("20060102t150405")
	}
	var cron map[string]any
	if err := json.NewDecoder(os.Stdin).Decode(&cron); err != nil {
		fail("reading the CronJob: %v", err)
	}
	job, err := restoreJob(cron, d, *name, *from)
	if err != nil {
		fail("%v", err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(job); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "restorejob: "+format+"\n", args...)
	os.Exit(1)
}

// restoreJob is the Job: the CronJob's job template with the restore script, never retried (a
// restore that failed half-way wants a look first) and bounded by the seed's RTO of one hour.
func restoreJob(cron map[string]any, db database, name, from string) (map[string]any, error) {
	if cron["kind"] != "CronJob" {
		return nil, fmt.Errorf("expected a CronJob, got %v", cron["kind"])
	}
	meta, _ := cron["metadata"].(map[string]any)
	spec, _ := path(cron, "spec", "jobTemplate", "spec").(map[string]any)
	// The backup's container: the only one, or, where the database's dump is copied off the
	// cluster, the init container before the copy. The restore runs it alone.
	podSpec, _ := path(spec, "template", "spec").(map[string]any)
	if podSpec == nil {
		return nil, fmt.Errorf("the CronJob has no job template")
	}
	var c map[string]any
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := podSpec[list].([]any)
		for _, x := range cs {
			if m, ok := x.(map[string]any); ok && m["name"] == db.container {
				c = m
			}
		}
	}
	if c == nil {
		return nil, fmt.Errorf("the CronJob's job template has no container %s", db.container)
	}
	delete(podSpec, "initContainers")
	podSpec["containers"] = []any{c}
	c["command"] = []string{"/bin/sh", "-ec", db.script}
	env, _ := c["env"].([]any)
	c["env"] = append(env, map[string]any{"name": "RESTORE_FROM", "value": from})
	spec["backoffLimit"] = 0
	spec["activeDeadlineSeconds"] = 3600
	labels, _ := meta["labels"].(map[string]any)
	return map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{
			"name": name, "namespace": meta["namespace"], "labels": labels,
			"annotations": map[string]any{"pynomaly.io/restore-from": or(from, "newest")},
		},
		"spec": spec,
	}, nil
}

func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
