package tests

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
)

// Each bad value stops the program before a single resource is declared, with one message that
// names the key, the value and what is allowed.
func TestBadSettingsStopBeforeAnyResource(t *testing.T) {
	cases := []struct {
		name string
		env  string
		cfg  cfg
		want string
	}{
		{"unknown environment", "qa", nil,
			`stack setting pynomaly-platform:environment = "qa": must be one of dev, staging, prod`},
		{"missing environment", "", nil,
			`stack setting pynomaly-platform:environment = "": must be one of dev, staging, prod`},
		{"min replicas above max", "prod", cfg{"api": `{"minReplicas": 10, "maxReplicas": 4}`},
			`stack setting pynomaly-platform:api.maxReplicas = 4: must be at least api.minReplicas (10)`},
		{"worker min replicas zero", "staging", cfg{"worker": `{"minReplicas": 0}`},
			`stack setting pynomaly-platform:worker.minReplicas = 0: must be at least 1`},
		{"malformed CPU", "dev", cfg{"api": `{"resources": {"cpuRequest": "fast"}}`},
			`stack setting pynomaly-platform:api.resources.cpuRequest = "fast": must be a Kubernetes quantity such as "500m" or "2"`},
		{"malformed memory", "staging", cfg{"worker": `{"resources": {"memoryLimit": "2GB"}}`},
			`stack setting pynomaly-platform:worker.resources.memoryLimit = "2GB": must be a Kubernetes quantity such as "512Mi" or "4Gi"`},
		{"malformed storage", "prod", cfg{"postgres": `{"storageSize": "lots"}`},
			`stack setting pynomaly-platform:postgres.storageSize = "lots": must be a Kubernetes quantity such as "10Gi" or "2Ti"`},
		{"negative storage", "dev", cfg{"storage": `{"backupSize": "-5Gi"}`},
			`stack setting pynomaly-platform:storage.backupSize = "-5Gi": must be greater than zero`},
		{"malformed quota quantity", "dev", cfg{"quota": `{"requestsMemory": "8 gigs"}`},
			`stack setting pynomaly-platform:quota.requestsMemory = "8 gigs": must be a Kubernetes quantity`},
		{"namespace not a DNS label", "dev", cfg{"namespace": "Pynomaly_DS"},
			`stack setting pynomaly-platform:namespace = "Pynomaly_DS": must be a DNS label`},
		{"namespace too long", "dev", cfg{"namespace": strings.Repeat("a", 64)},
			`stack setting pynomaly-platform:namespace = "` + strings.Repeat("a", 64) + `": must be a DNS label`},
		{"quota CPU too small for max replicas", "prod", cfg{"quota": `{"requestsCpu": "16"}`},
			`stack setting pynomaly-platform:quota.requestsCpu = "16": must be at least 31525m to hold every Deployment at its maximum replicas`},
		// The ephemeral storage quota is raised with it, so that only the CPU limit falls short.
		{"quota limits too small after raising max replicas", "staging", cfg{"api": `{"maxReplicas": 32}`,
			"quota": `{"requestsEphemeralStorage": "16Gi", "limitsEphemeralStorage": "128Gi", "pods": 64}`},
			`stack setting pynomaly-platform:quota.limitsCpu = "24": must be at least 36150m to hold every Deployment at its maximum replicas plus the StatefulSets and claims (postgres x2, postgres-setup x1, postgres-backup x1, pooler x2, redis-queue x3, redis-cache x3, influxdb x1, influxdb-setup x1, influxdb-backup x1, migrate x1, api x32, worker x5, redis-retire x1, nginx x2, logs x1, prometheus x1, grafana x1, alertmanager x1, kube-state-metrics x1, metrics-adapter x1, claim pynomaly-backups 50Gi, claim pynomaly-models 20Gi)`},
		// A public store's every address, in pieces: the egress would be open to everyone.
		{"object store addresses that are every address together", "prod", cfg{"network": `{"objectStorageCidrs": ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"]}`},
			`stack setting pynomaly-platform:network.objectStorageCidrs = ["0.0.0.0/2","64.0.0.0/2","128.0.0.0/1"]: must not match every address, as these CIDRs do together (0.0.0.0/0)`},
		{"quota pods too small", "prod", cfg{"quota": `{"pods": 100}`},
			`stack setting pynomaly-platform:quota.pods = 100: must be at least 183 to hold`},
		{"quota claims too small", "prod", cfg{"quota": `{"persistentVolumeClaims": 5}`},
			`stack setting pynomaly-platform:quota.persistentVolumeClaims = 5: must be at least 15 to hold`},
		{"quota storage too small", "prod", cfg{"quota": `{"requestsStorage": "1Ti"}`},
			`stack setting pynomaly-platform:quota.requestsStorage = "1Ti": must be at least 2013Gi to hold`},
		{"request above limit", "dev", cfg{"api": `{"resources": {"cpuRequest": "1", "cpuLimit": "500m"}}`},
			`stack setting pynomaly-platform:api.resources.cpuRequest = "1": must not exceed api.resources.cpuLimit (500m)`},
		{"limit above the limit range", "staging", cfg{"postgres": `{"resources": {"memoryLimit": "12Gi"}}`},
			`stack setting pynomaly-platform:postgres.resources.memoryLimit = "12Gi": must not exceed limitRange.maxMemory (8Gi)`},
		{"unknown field", "dev", cfg{"api": `{"maxReplica": 3}`},
			`stack setting pynomaly-platform:api = {"maxReplica": 3}: unknown field "maxReplica"; did you mean maxReplicas?; allowed fields: dbPoolSize, maxReplicas, minReplicas, resources, targetCpuUtilization, targetMemoryUtilization`},
		{"wrong type", "dev", cfg{"api": `{"maxReplicas": "ten"}`},
			`stack setting pynomaly-platform:api.maxReplicas = "ten": must be a whole number, not a JSON string`},
		{"wrong type of a nested field", "dev", cfg{"worker": `{"queueScaling": {"enabled": "yes"}}`},
			`stack setting pynomaly-platform:worker.queueScaling.enabled = "yes": must be true or false, not a JSON string`},
		{"fraction for a count", "dev", cfg{"worker": `{"minReplicas": 1.5}`},
			`stack setting pynomaly-platform:worker.minReplicas = 1.5: must be a whole number`},
		{"object expected", "dev", cfg{"quota": `5`},
			`stack setting pynomaly-platform:quota = 5: must be an object with the fields limitsCpu, limitsEphemeralStorage, limitsMemory, persistentVolumeClaims, pods, requestsCpu, requestsEphemeralStorage, requestsMemory, requestsStorage`},
		{"unknown security level", "prod", cfg{"security": "paranoid"},
			`stack setting pynomaly-platform:security = "paranoid": must be one of relaxed, enforced`},
		{"Pod Security below the profile's", "prod", cfg{"security": "relaxed"},
			`stack setting pynomaly-platform:security = "relaxed": must be enforced or stricter in prod (the prod profile's Pod Security level); relaxed is for dev`},
		{"a namespace of Kubernetes'", "dev", cfg{"namespace": "kube-system"},
			`stack setting pynomaly-platform:namespace = "kube-system": must be a namespace of the platform's own, not default or one of Kubernetes' (kube-system, kube-public, any kube- name): the platform's quota, limits and Pod Security labels would apply to everything else in it`},
		{"unknown placement", "prod", cfg{"placement": "spread"},
			`stack setting pynomaly-platform:placement = "spread": must be one of preferred, required`},
		{"HPA target above 100%", "dev", cfg{"worker": `{"targetMemoryUtilization": 120}`},
			`stack setting pynomaly-platform:worker.targetMemoryUtilization = 120: must be a percentage of the requests, 1 to 100`},
		{"unknown log level", "dev", cfg{"logLevel": "verbose"},
			`stack setting pynomaly-platform:logLevel = "verbose": must be one of debug, info, warning, error, critical`},
		{"unknown reclaim policy", "prod", cfg{"storage": `{"reclaimPolicy": "Recycle"}`},
			`stack setting pynomaly-platform:storage.reclaimPolicy = "Recycle": must be one of Retain, Delete`},
		{"unknown access mode", "dev", cfg{"storage": `{"modelAccessMode": "RWX"}`},
			`stack setting pynomaly-platform:storage.modelAccessMode = "RWX": must be one of ReadWriteOnce, ReadWriteOncePod, ReadWriteMany, ReadOnlyMany`},
		{"no provisioner", "dev", cfg{"kubernetes": `{"cloud": "other"}`, "storage": `{"provisioner": ""}`},
			`stack setting pynomaly-platform:storage.provisioner = "": must name a CSI driver`},
		{"credential set in plain text", "dev", cfg{"redisPassword": "hunter2hunter2"},
			`stack setting pynomaly-platform:redisPassword = [not shown]: a credential must be stored encrypted: pulumi config set --secret redisPassword <value>`},
		{"pooler server connections exceed max_connections", "prod", cfg{"pooler": `{"poolSize": 200}`},
			`stack setting pynomaly-platform:pooler.poolSize = 200: pooler.replicas (3) x pooler.poolSize + 20 reserved = 620 exceeds postgres.maxConnections (500); at most 160`},
		{"lower max_connections oversubscribes the pooler", "staging", cfg{"postgres": `{"maxConnections": 150}`},
			`stack setting pynomaly-platform:pooler.poolSize = 80: pooler.replicas (2) x pooler.poolSize + 20 reserved = 180 exceeds postgres.maxConnections (150); at most 65`},
		{"API pods at max replicas exceed the pooler's clients", "prod", cfg{"api": `{"dbPoolSize": 40}`},
			`stack setting pynomaly-platform:pooler.maxClientConnections = 1000: api.maxReplicas (100) x api.dbPoolSize (40) + worker.maxReplicas (50) x worker.dbPoolSize (5) = 4250 clients exceed pooler.replicas (3) x pooler.maxClientConnections = 3000; at least 1417`},
		{"bad backup schedule", "prod", cfg{"postgres": `{"backup": {"schedule": "every night"}}`},
			`stack setting pynomaly-platform:postgres.backup.schedule = "every night": must be a cron schedule of five fields (minute hour day-of-month month day-of-week) or a descriptor, such as "0 2 * * *" or "@daily": expected exactly 5 fields, found 2: [every night]`},
		{"backup schedule out of range", "dev", cfg{"postgres": `{"backup": {"schedule": "99 99 * * *"}}`},
			`stack setting pynomaly-platform:postgres.backup.schedule = "99 99 * * *": must be a cron schedule of five fields (minute hour day-of-month month day-of-week) or a descriptor, such as "0 2 * * *" or "@daily": end of range (99) above maximum (59): 99`},
		{"time zone in the schedule", "dev", cfg{"postgres": `{"backup": {"schedule": "CRON_TZ=Europe/Berlin 0 2 * * *"}}`},
			`stack setting pynomaly-platform:postgres.backup.schedule = "CRON_TZ=Europe/Berlin 0 2 * * *": must be a cron schedule of five fields (minute hour day-of-month month day-of-week) or a descriptor, such as "0 2 * * *" or "@daily": cannot carry TZ= or CRON_TZ=: set postgres.backup.timeZone instead`},
		{"unknown time zone", "dev", cfg{"postgres": `{"backup": {"timeZone": "Europe/Atlantis"}}`},
			`stack setting pynomaly-platform:postgres.backup.timeZone = "Europe/Atlantis": must be an IANA time zone such as "Etc/UTC" or "Europe/Berlin": unknown time zone Europe/Atlantis`},
		{"the node's time zone", "dev", cfg{"postgres": `{"backup": {"timeZone": "Local"}}`},
			`stack setting pynomaly-platform:postgres.backup.timeZone = "Local": must be an IANA time zone such as "Etc/UTC" or "Europe/Berlin": Local is the node's zone, not an explicit one`},
		{"unpinned image", "dev", cfg{"images": `{"redis": "redis:latest"}`},
			`stack setting pynomaly-platform:images.redis = "redis:latest": must be an image pinned by tag or digest`},
		{"image without a tag", "dev", cfg{"images": `{"influxdb": "influxdb"}`},
			`stack setting pynomaly-platform:images.influxdb = "influxdb": must be an image pinned by tag or digest`},
		{"bad retention", "staging", cfg{"influxdb": `{"retention": "a month"}`},
			`stack setting pynomaly-platform:influxdb.retention = "a month": must be an InfluxDB duration`},
		{"rotation as the keeper it was", "dev", cfg{"secrets": `{"rotation": "2026-12-01"}`},
			`stack setting pynomaly-platform:secrets.rotation = "2026-12-01": is now a count of rotations per credential, not a keeper: remove it to keep every credential as it is`},
		{"the keeper typed as digits", "staging", cfg{"secrets": `{"rotation": 20261201}`},
			`stack setting pynomaly-platform:secrets.rotation = 20261201: is now a count of rotations per credential`},
		{"a generation taken back", "prod", cfg{"secrets": `{"rotation": {"redis": -1}}`},
			`stack setting pynomaly-platform:secrets.rotation.redis = -1: must be 0 or more`},
		// What pulumi config rm --path leaves of an entry whose last label it removed.
		{"an empty node selector", "dev", cfg{"nodeSelectors": `{"default": {"pool": "platform"}, "grafana": {}}`},
			`stack setting pynomaly-platform:nodeSelectors.grafana = {}: must name at least one node label; without the entry the component takes the default entry's labels, if any (pulumi config rm --path nodeSelectors.grafana)`},
		{"a node selector of an unknown component", "staging", cfg{"nodeSelectors": `{"postgresql": {"pool": "databases"}}`},
			`stack setting pynomaly-platform:nodeSelectors.postgresql = {"pool":"databases"}: is not a component of this stack's pods; did you mean postgres?; must be default`},
		// Alertmanager runs from the full monitoring level on; dev's basic level has none to place.
		{"a node selector of a component the stack does not run", "dev", cfg{"nodeSelectors": `{"alertmanager": {"pool": "monitoring"}}`},
			`stack setting pynomaly-platform:nodeSelectors.alertmanager = {"pool":"monitoring"}: is not a component of this stack's pods; must be default ` +
				`(every component without an entry of its own) or one of postgres, postgres-setup, postgres-backup, pooler, redis-queue, redis-cache, ` +
				`influxdb, influxdb-setup, influxdb-backup, migrate, api, worker, redis-retire, nginx, prometheus, grafana`},
		{"a node label key with a prefix that is not a DNS subdomain", "prod", cfg{"nodeSelectors": `{"api": {"Example.com/pool": "app"}}`},
			`stack setting pynomaly-platform:nodeSelectors.api["Example.com/pool"] = "app": "Example.com/pool" is not a Kubernetes label key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := run(tc.env, tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "stack setting "), "exactly one error: %v", err)
			assert.NotContains(t, err.Error(), "hunter2", "a credential leaked into an error message")
			for _, r := range st.Resources {
				assert.Failf(t, "resource declared despite a bad setting", "%s %s", r.Type, r.Name)
			}
		})
	}
}

// Several bad values are all reported in one run, each once.
func TestEveryBadSettingIsReported(t *testing.T) {
	_, err := run("prod", cfg{
		"namespace": "Bad Name",
		"api":       `{"minReplicas": 3, "maxReplicas": 2}`,
		"worker":    `{"resources": {"cpuLimit": "lots"}}`,
	})
	require.Error(t, err)
	msg := err.Error()
	assert.Equal(t, 3, strings.Count(msg, "stack setting "), msg)
	for _, key := range []string{"pynomaly-platform:namespace", "pynomaly-platform:api.maxReplicas", "pynomaly-platform:worker.resources.cpuLimit"} {
		assert.Contains(t, msg, key)
	}
}

// A stack file overrides only what it names; everything else keeps the profile's value.
func TestOverridesReplaceOnlyTheFieldsGiven(t *testing.T) {
	s, err := load.Parse(project, load.Source{Values: stackEnv(t, "prod", cfg{
		"api":       `{"maxReplicas": 80}`,
		"storage":   `{"provisioner": "pd.csi.storage.gke.io", "parameters": {"type": "pd-ssd"}}`,
		"namespace": "pynomaly-eu",
	})})
	require.NoError(t, err)
	assert.Equal(t, 80, s.API.MaxReplicas)
	assert.Equal(t, 5, s.API.MinReplicas, "min replicas keep the prod profile's value")
	assert.Equal(t, "100m", s.API.Resources.CPURequest)
	assert.Equal(t, "pynomaly-eu", s.Namespace)
	assert.Equal(t, "pd.csi.storage.gke.io", s.Storage.Provisioner)
	assert.Equal(t, map[string]string{"type": "pd-ssd"}, s.Storage.Parameters,
		"a new parameters map replaces the profile's; gp3 parameters must not leak onto another driver")
	assert.Equal(t, "Retain", s.Storage.ReclaimPolicy)
}

// Pulumi.yaml declares every optional key with an empty default ("" or {}); the CLI passes those
// defaults to the program, which must read them as "the profile's value".
func TestProjectDefaultsMeanTheProfile(t *testing.T) {
	values := stackEnv(t, "prod", cfg{"namespace": "pynomaly-data-science"})
	for _, k := range config.Keys() {
		if _, set := values[k]; !set {
			values[k] = ""
		}
	}
	for _, k := range config.KeyTable() {
		if _, set := values[k.Name]; k.Object() && (!set || values[k.Name] == "") {
			values[k.Name] = "{}"
		}
	}
	s, err := load.Parse(project, load.Source{Values: values})
	require.NoError(t, err)
	want, err := load.Parse(project, load.Source{Values: stackEnv(t, "prod", nil)})
	require.NoError(t, err)
	assert.Equal(t, want, s)
}

// The profiles carry the seed's environment table.
func TestProfilesCarryTheSeedTable(t *testing.T) {
	want := map[string]struct {
		apiMin, apiMax, workerMin, workerMax int
		security                             config.SecurityLevel
		placement                            config.Placement
		monitoring                           config.MonitoringLevel
		protect                              bool
	}{
		"dev":     {1, 2, 1, 2, config.Relaxed, config.PlacementPreferred, config.Basic, false},
		"staging": {2, 5, 2, 5, config.Enforced, config.PlacementPreferred, config.Full, false},
		"prod":    {5, 100, 3, 50, config.Enforced, config.PlacementRequired, config.Comprehensive, true},
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			s, err := load.Parse(project, load.Source{Values: stackEnv(t, env, nil)})
			require.NoError(t, err)
			w := want[env]
			assert.Equal(t, w.apiMin, s.API.MinReplicas)
			assert.Equal(t, w.apiMax, s.API.MaxReplicas)
			assert.Equal(t, w.workerMin, s.Worker.MinReplicas)
			assert.Equal(t, w.workerMax, s.Worker.MaxReplicas)
			assert.Equal(t, w.security, s.Security)
			assert.Equal(t, w.placement, s.Placement)
			assert.Equal(t, w.monitoring, s.Monitoring)
			assert.Equal(t, w.protect, s.ProtectState())
			assert.Equal(t, "pynomaly-data-science", s.Namespace)
		})
	}
}

// Credentials never print, whatever the format verb.
func TestCredentialsAreRedacted(t *testing.T) {
	c := config.Credential("s3cr3t-value-of-24-chars")
	for _, s := range []string{c.String(), c.GoString()} {
		assert.NotContains(t, s, "s3cr3t")
	}
	s, err := load.Parse(project, load.Source{
		Values:  map[string]string{"environment": "dev", "redisPassword": "s3cr3t-value-of-24-chars"},
		Secrets: map[string]bool{"redisPassword": true},
	})
	require.NoError(t, err)
	assert.Equal(t, config.Credential("s3cr3t-value-of-24-chars"), s.Credentials.RedisPassword)
	assert.NotContains(t, strings.Join([]string{sprintAll(s)}, ""), "s3cr3t")
}

// Placement is its own setting: choosing it leaves the security level alone, and the other way
// round.
func TestPlacementIsIndependentOfSecurity(t *testing.T) {
	for _, c := range []struct {
		env, key, value string
		security        config.SecurityLevel
		placement       config.Placement
	}{
		{"prod", "placement", "preferred", config.Enforced, config.PlacementPreferred},
		{"dev", "placement", "required", config.Relaxed, config.PlacementRequired},
		{"dev", "security", "enforced", config.Enforced, config.PlacementPreferred},
		{"prod", "security", "enforced", config.Enforced, config.PlacementRequired},
	} {
		s, err := load.Parse(project, load.Source{Values: stackEnv(t, c.env, cfg{c.key: c.value})})
		require.NoError(t, err)
		assert.Equal(t, c.security, s.Security, "%s with %s=%s", c.env, c.key, c.value)
		assert.Equal(t, c.placement, s.Placement, "%s with %s=%s", c.env, c.key, c.value)
	}
}

// Problems come out in one documented order, whatever Go's map order does: the keys table's
// order, and within a key the order of its checks (see config.Settings.Validate).
func TestValidationErrorsComeInTheDocumentedOrder(t *testing.T) {
	values := map[string]string{
		"environment": "staging",
		"images":      `{"worker": "pynomaly-worker:latest", "api": "pynomaly-api", "postgres": "spilo"}`,
		"influxdb":    `{"downsampleEvery": "hourly", "retention": "a month", "longTermRetention": "forever"}`,
		"api":         `{"targetMemoryUtilization": 101, "targetCpuUtilization": 0}`,
		"worker":      `{"targetMemoryUtilization": 0, "targetCpuUtilization": 150}`,
		"placement":   "anywhere",
		"namespace":   "Bad Name",
	}
	want := []string{
		"namespace", "placement",
		"api.targetCpuUtilization", "api.targetMemoryUtilization",
		"worker.targetCpuUtilization", "worker.targetMemoryUtilization",
		"influxdb.retention", "influxdb.longTermRetention", "influxdb.downsampleEvery",
		"images.postgres", "images.api", "images.worker",
	}
	keyOf := regexp.MustCompile(`(?m)^stack setting pynomaly-platform:(\S+) = `)
	var first string
	for i := range 20 {
		_, err := load.Parse(project, load.Source{Values: values})
		require.Error(t, err)
		if i == 0 {
			first = err.Error()
			var got []string
			for _, m := range keyOf.FindAllStringSubmatch(first, -1) {
				got = append(got, m[1])
			}
			require.Equal(t, want, got, first)
			continue
		}
		require.Equal(t, first, err.Error(), "run %d reported the problems differently", i+1)
	}
}
