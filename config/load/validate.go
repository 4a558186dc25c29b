package load

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	// The IANA zone database, embedded: timeZone must answer the same on a machine (a CI image,
	// a distroless container) that has none installed.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// SettingError is one bad stack setting: the key, the value it has and what would be allowed.
type SettingError struct {
	Key     string
	Value   string
	Allowed string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("stack setting %s = %s: %s", e.Key, e.Value, e.Allowed)
}

var clusterIdentifier = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,253}$`)

// LogLevels are the levels the Pynomaly services understand.
var LogLevels = []string{"debug", "info", "warning", "error", "critical"}

// AccessModes are the PersistentVolumeClaim access modes.
var AccessModes = []string{"ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"}

// validator collects one SettingError per bad value, so a stack with three mistakes hears of
// all three in one preview.
type validator struct {
	project string
	errs    []error
}

func (v *validator) fail(key, value, allowed string) {
	v.errs = append(v.errs, &SettingError{Key: v.project + ":" + key, Value: value, Allowed: allowed})
}

func (v *validator) oneOf(key, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		v.fail(key, quote(value), "must be one of "+strings.Join(allowed, ", "))
	}
}

// quantity parses a Kubernetes quantity that must be positive. ok is false after a failure.
func (v *validator) quantity(key, value, example string) (resource.Quantity, bool) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		v.fail(key, quote(value), "must be a Kubernetes quantity such as "+example)
		return q, false
	}
	if q.Sign() <= 0 {
		v.fail(key, quote(value), "must be greater than zero, for example "+example)
		return q, false
	}
	return q, true
}

func (v *validator) cpu(key, value string) (resource.Quantity, bool) {
	return v.quantity(key, value, `"500m" or "2"`)
}

func (v *validator) memory(key, value string) (resource.Quantity, bool) {
	return v.quantity(key, value, `"512Mi" or "4Gi"`)
}

func (v *validator) storage(key, value string) (resource.Quantity, bool) {
	return v.quantity(key, value, `"10Gi" or "2Ti"`)
}

// Validate checks every setting and returns all problems joined, or nil. They come in a fixed
// order: that of the keys table (KeyTable), one key's problems in the order of its checks,
// except the quota's, which come last: it adds up every other quantity, so it is only checked
// once all of them parsed.
func Validate(s *config.Settings) error {
	v := &validator{project: s.Project}
	validateScalars(s, v)
	lr := validateLimitRange(s, v)
	validateStorage(s, v)
	validateSecrets(s, v)
	validateRotation(s, v)
	validateAccess(v, s.Access)
	v.autoscaled("api", s.API, lr)
	validateWorker(s, v, lr)
	validatePostgres(s, v, lr)
	validatePooler(s, v, lr)
	v.statefulTier("redisQueue", s.RedisQueue, true, lr)
	v.statefulTier("redisCache", s.RedisCache, false, lr)
	for _, r := range []struct {
		key string
		t   config.StatefulTier
	}{{"redisQueue", s.RedisQueue}, {"redisCache", s.RedisCache}} {
		if r.t.Replicas == 2 {
			v.fail(r.key+".replicas", "2", "must be 1, or 3 or more: each pod runs a Sentinel, a failover needs a majority of them, "+
				"and a lost pod takes its Sentinel along, so two pods could never fail over")
		}
	}
	validateInfluxDB(s, v, lr)
	validateEdge(s, v, lr)
	validateInternalTLS(s, v)
	validateMonitoring(s, v, lr)
	validateLogging(s, v, lr)
	validateNetwork(s, v)
	validateNodeSelectors(s, v)
	validateScheduling(s, v)
	validateIdentity(s, v)
	validateImages(s, v)
	validateCredentials(s, v)
	return errors.Join(v.errs...)
}

func validateScalars(s *config.Settings, v *validator) {
	switch {
	case !config.DNSLabel.MatchString(s.Namespace) || len(s.Namespace) > 63:
		v.fail("namespace", quote(s.Namespace),
			"must be a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit")
	case reservedNamespace(s.Namespace):
		v.fail("namespace", quote(s.Namespace),
			"must be a namespace of the platform's own, not default or one of Kubernetes' (kube-system, kube-public, any kube- name): "+
				"the platform's quota, limits and Pod Security labels would apply to everything else in it")
	}
	validateSecurity(s, v)
	v.oneOf("placement", string(s.Placement), []string{string(config.PlacementPreferred), string(config.PlacementRequired)})
	v.oneOf("monitoring", string(s.Monitoring), []string{string(config.Basic), string(config.Full), string(config.Comprehensive)})
	v.oneOf("monitoringMode", s.MonitoringMode, []string{config.MonitoringBundled, config.MonitoringOperator})
	v.oneOf("logLevel", s.LogLevel, LogLevels)
	if id := s.Kubernetes.ClusterIdentifier; id != "" && !clusterIdentifier.MatchString(id) {
		v.fail("kubernetes.clusterIdentifier", quote(id), "must be 1 to 253 letters, digits, '.', '_', ':', '/' or '-' (empty: the stack's name)")
	}
	v.oneOf("kubernetes.cloud", string(s.Kubernetes.Cloud), cloudNames())
	for i, c := range s.Kubernetes.SkipPreflight {
		v.oneOf(fmt.Sprintf("kubernetes.skipPreflight[%d]", i), c, append([]string{"all"}, config.PreflightChecks...))
	}
}

// autoscaled checks a Deployment that a HorizontalPodAutoscaler scales.
func (v *validator) autoscaled(key string, a config.Autoscaled, lr limitRangeMax) {
	if a.MinReplicas < 1 {
		v.fail(key+".minReplicas", fmt.Sprint(a.MinReplicas), "must be at least 1")
	}
	if a.MaxReplicas < a.MinReplicas {
		v.fail(key+".maxReplicas", fmt.Sprint(a.MaxReplicas), fmt.Sprintf("must be at least %s.minReplicas (%d)", key, a.MinReplicas))
	}
	v.resources(key+".resources", a.Resources, lr)
	if a.DBPoolSize < 1 {
		v.fail(key+".dbPoolSize", fmt.Sprint(a.DBPoolSize), "must be at least 1")
	}
	// A slice, not a map: the messages must come out in the same order every run.
	for _, t := range []struct {
		field string
		pct   int
	}{{"targetCpuUtilization", a.TargetCPUUtilization}, {"targetMemoryUtilization", a.TargetMemoryUtilization}} {
		if t.pct < 1 || t.pct > 100 {
			v.fail(key+"."+t.field, fmt.Sprint(t.pct), "must be a percentage of the requests, 1 to 100")
		}
	}
}

// statefulTier checks a StatefulSet's replicas, resources and, where it has one, its claim.
func (v *validator) statefulTier(key string, t config.StatefulTier, claim bool, lr limitRangeMax) {
	if t.Replicas < 1 {
		v.fail(key+".replicas", fmt.Sprint(t.Replicas), "must be at least 1")
	}
	v.resources(key+".resources", t.Resources, lr)
	if claim || t.StorageSize != "" {
		v.storage(key+".storageSize", t.StorageSize)
	}
}

// limitRangeMax is the largest container the LimitRange admits.
type limitRangeMax struct {
	cpu, memory resource.Quantity
	ok          bool
	// ephemeral is its ephemeral storage, checked apart (ephemeralOK).
	ephemeral   resource.Quantity
	ephemeralOK bool
}

func validateLimitRange(s *config.Settings, v *validator) limitRangeMax {
	l := s.LimitRange
	reqCPU, ok1 := v.cpu("limitRange.defaultRequestCpu", l.DefaultRequestCPU)
	reqMem, ok2 := v.memory("limitRange.defaultRequestMemory", l.DefaultRequestMemory)
	defCPU, ok3 := v.cpu("limitRange.defaultCpu", l.DefaultCPU)
	defMem, ok4 := v.memory("limitRange.defaultMemory", l.DefaultMemory)
	maxCPU, ok5 := v.cpu("limitRange.maxCpu", l.MaxCPU)
	maxMem, ok6 := v.memory("limitRange.maxMemory", l.MaxMemory)
	if ok1 && ok3 && reqCPU.Cmp(defCPU) > 0 {
		v.fail("limitRange.defaultRequestCpu", quote(l.DefaultRequestCPU), "must not exceed limitRange.defaultCpu ("+l.DefaultCPU+")")
	}
	if ok2 && ok4 && reqMem.Cmp(defMem) > 0 {
		v.fail("limitRange.defaultRequestMemory", quote(l.DefaultRequestMemory), "must not exceed limitRange.defaultMemory ("+l.DefaultMemory+")")
	}
	if ok3 && ok5 && defCPU.Cmp(maxCPU) > 0 {
		v.fail("limitRange.defaultCpu", quote(l.DefaultCPU), "must not exceed limitRange.maxCpu ("+l.MaxCPU+")")
	}
	if ok4 && ok6 && defMem.Cmp(maxMem) > 0 {
		v.fail("limitRange.defaultMemory", quote(l.DefaultMemory), "must not exceed limitRange.maxMemory ("+l.MaxMemory+")")
	}
	lr := limitRangeMax{cpu: maxCPU, memory: maxMem, ok: ok5 && ok6}
	lr.ephemeral, lr.ephemeralOK = validateLimitRangeEphemeral(s, v)
	return lr
}

// resources checks one container's requests and limits: well formed, request <= limit, and
// limit within what the namespace's LimitRange admits (else the API server rejects the pod).
func (v *validator) resources(key string, r sizing.Resources, lr limitRangeMax) {
	reqCPU, ok1 := v.cpu(key+".cpuRequest", r.CPURequest)
	reqMem, ok2 := v.memory(key+".memoryRequest", r.MemoryRequest)
	limCPU, ok3 := v.cpu(key+".cpuLimit", r.CPULimit)
	limMem, ok4 := v.memory(key+".memoryLimit", r.MemoryLimit)
	if ok1 && ok3 && reqCPU.Cmp(limCPU) > 0 {
		v.fail(key+".cpuRequest", quote(r.CPURequest), "must not exceed "+key+".cpuLimit ("+r.CPULimit+")")
	}
	if ok2 && ok4 && reqMem.Cmp(limMem) > 0 {
		v.fail(key+".memoryRequest", quote(r.MemoryRequest), "must not exceed "+key+".memoryLimit ("+r.MemoryLimit+")")
	}
	if lr.ok && ok3 && limCPU.Cmp(lr.cpu) > 0 {
		v.fail(key+".cpuLimit", quote(r.CPULimit), "must not exceed limitRange.maxCpu ("+lr.cpu.String()+")")
	}
	if lr.ok && ok4 && limMem.Cmp(lr.memory) > 0 {
		v.fail(key+".memoryLimit", quote(r.MemoryLimit), "must not exceed limitRange.maxMemory ("+lr.memory.String()+")")
	}
	v.ephemeralStorage(key, r, lr)
}

func validateStorage(s *config.Settings, v *validator) {
	st := s.Storage
	if st.ExistingClass == "" {
		if !config.DNSSubdomain.MatchString(st.ClassName) || len(st.ClassName) > 253 {
			v.fail("storage.className", quote(st.ClassName), "must be a DNS subdomain name (lowercase letters, digits, '-' and '.')")
		}
		// An unknown cloud presets nothing; kubernetes.cloud's own message says so.
		if st.Provisioner == "" && slices.Contains(config.Clouds, s.Kubernetes.Cloud) {
			v.fail("storage.provisioner", `""`, "must name a CSI driver (for example ebs.csi.aws.com or pd.csi.storage.gke.io), or set storage.existingClass")
		}
		v.oneOf("storage.reclaimPolicy", st.ReclaimPolicy, []string{"Retain", "Delete"})
	} else if !config.DNSSubdomain.MatchString(st.ExistingClass) {
		v.fail("storage.existingClass", quote(st.ExistingClass), "must be the name of an existing StorageClass")
	}
	v.storage("storage.backupSize", st.BackupSize)
	v.storage("storage.modelSize", st.ModelSize)
	v.oneOf("storage.modelAccessMode", st.ModelAccessMode, AccessModes)
	if m := st.ModelAccessMode; m == "ReadWriteOncePod" || m == "ReadOnlyMany" {
		v.fail("storage.modelAccessMode", quote(m), "must let the API, workers and migrations all write the models: "+
			"ReadWriteMany (pods on many nodes; name an RWX class in storage.modelClassName) or ReadWriteOnce (every pod that mounts the claim runs on one node)")
	}
	if st.ModelClassName != "" && !config.DNSSubdomain.MatchString(st.ModelClassName) {
		v.fail("storage.modelClassName", quote(st.ModelClassName), "must be the name of a StorageClass")
	}
	sn := st.Snapshots
	// A created class is named after the namespace, whose own check speaks for it.
	if sn.ClassName != "" && sn.Created == "" && (!config.DNSSubdomain.MatchString(sn.ClassName) || len(sn.ClassName) > 253) {
		v.fail("storage.snapshots.className", quote(sn.ClassName), "must be the name of a VolumeSnapshotClass, or empty for no snapshots")
	}
	if err := cronSchedule(sn.Schedule); err != nil {
		v.fail("storage.snapshots.schedule", quote(sn.Schedule), `must be a cron schedule of five fields in UTC, such as "0 3 * * *": `+err.Error())
	}
	if sn.RetentionDays < 1 {
		v.fail("storage.snapshots.retentionDays", fmt.Sprint(sn.RetentionDays), "must be at least 1")
	}
	if sn.Created != "" && (!config.DNSSubdomain.MatchString(sn.Driver) || len(sn.Driver) > 253) {
		v.fail("storage.snapshots.driver", quote(sn.Driver), "must name the CSI driver of the snapshot class the stack creates (storage.snapshots.createClass), "+
			"such as ebs.csi.aws.com; kubernetes.cloud other presets none. Or name an existing class in storage.snapshots.className")
	}
	v.snapshotLocation(sn)
}

// snapshotLocation checks storage.snapshots.location: a region or multi-region, of a class the
// stack creates, whose driver takes one.
func (v *validator) snapshotLocation(sn config.Snapshots) {
	const key = "storage.snapshots.location"
	switch l := sn.Location; {
	case l == "":
	case !config.DNSLabel.MatchString(l):
		v.fail(key, quote(l), `must be a region or multi-region name such as "eu", "us-central1" or "westeurope"`)
	case sn.Created == "":
		v.fail(key, quote(l), "is only set on the VolumeSnapshotClass the stack creates (storage.snapshots.createClass, without className); set it on your own class")
	case config.SnapshotLocationParameter[sn.Driver] == "":
		v.fail(key, quote(l), "is taken by the drivers pd.csi.storage.gke.io (storage-locations) and disk.csi.azure.com (location) only, not by "+sn.Driver+
			"; EBS snapshots are copied to another region by AWS Backup or Data Lifecycle Manager")
	}
}

// cronSchedule checks a CronJob schedule as the API server does (k8s.io/kubernetes
// pkg/apis/batch/validation, validateScheduleFormat): robfig/cron's standard parser, five fields
// or a descriptor such as @daily, and no TZ= or CRON_TZ= prefix (the time zone is its own field).
// It must also fire: "0 0 31 2 *" parses, and the API server takes it, but no February has a
// 31st, so the job would never run and nothing would say so.
func cronSchedule(schedule string) error {
	if strings.Contains(schedule, "TZ") {
		return errors.New("cannot carry TZ= or CRON_TZ=: set postgres.backup.timeZone instead")
	}
	// The parser panics on some inputs; the API server recovers the same way.
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		var sched cron.Schedule
		if sched, err = cron.ParseStandard(schedule); err == nil && neverFires(sched) {
			err = errors.New("it never fires: no date has that day of the month in those months")
		}
	}()
	return err
}

// neverFires: the parser's Next looks five years ahead (a 29 February included) and answers the
// zero time when nothing matches.
func neverFires(sched cron.Schedule) bool {
	return sched.Next(time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)).IsZero()
}

// tzComponent is the API server's rule for each part of an IANA zone name.
var tzComponent = regexp.MustCompile(`^[A-Za-z.\-_0-9+]{1,14}$`)

// timeZone checks a CronJob time zone as the API server does (validateTimeZone): an explicit
// IANA name that the zone database knows. The program embeds that database (time/tzdata in
// main.go), so preview answers the same on a machine without one.
func timeZone(zone string) error {
	for _, part := range strings.Split(zone, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !tzComponent.MatchString(part) {
			return errors.New("not an IANA time zone name")
		}
	}
	if strings.EqualFold(zone, "Local") {
		return errors.New("Local is the node's zone, not an explicit one")
	}
	_, err := time.LoadLocation(zone)
	return err
}

func validatePostgres(s *config.Settings, v *validator, lr limitRangeMax) {
	p := s.Postgres
	v.statefulTier("postgres", p.StatefulTier, true, lr)
	if p.MaxConnections < 20+config.ReservedConnections {
		v.fail("postgres.maxConnections", fmt.Sprint(p.MaxConnections), fmt.Sprintf("must be at least %d", 20+config.ReservedConnections))
	}
	if err := cronSchedule(p.Backup.Schedule); err != nil {
		v.fail("postgres.backup.schedule", quote(p.Backup.Schedule),
			`must be a cron schedule of five fields (minute hour day-of-month month day-of-week) or a descriptor, such as "0 2 * * *" or "@daily": `+err.Error())
	}
	if err := timeZone(p.Backup.TimeZone); err != nil {
		v.fail("postgres.backup.timeZone", quote(p.Backup.TimeZone), `must be an IANA time zone such as "Etc/UTC" or "Europe/Berlin": `+err.Error())
	}
	if p.Backup.RetentionDays < 1 {
		v.fail("postgres.backup.retentionDays", fmt.Sprint(p.Backup.RetentionDays), "must be at least 1")
	}
	if p.Backup.DeadlineSeconds < 60 {
		v.fail("postgres.backup.deadlineSeconds", fmt.Sprint(p.Backup.DeadlineSeconds), "must be at least 60")
	}
	validateRecovery(s, v)
	validateStandby(s, v)
}

// validateRecovery checks WAL archiving and a point-in-time restore. Prod must archive: without
// it the recovery point is the nightly dump, a day against the seed's 15 minutes.
func validateRecovery(s *config.Settings, v *validator) {
	w, r := s.Postgres.WALArchive, s.Postgres.Restore
	if s.Environment == config.Prod && !w.On() {
		field := map[string]string{config.StoreGCS: "gcsBucket", config.StoreAzure: "azureContainer"}[s.Kubernetes.Cloud.Preset().ObjectStore]
		if field == "" {
			field = "s3Bucket"
		}
		v.fail("postgres.walArchive."+field, `""`,
			"must name the bucket WAL is archived to in prod (the seed's recovery point of 15 minutes needs continuous archiving; the nightly dump alone loses up to a day), with network.objectStorageCidrs")
	}
	if w.TimeoutSeconds < 60 || w.TimeoutSeconds > config.MaxArchiveTimeoutSeconds {
		v.fail("postgres.walArchive.timeoutSeconds", fmt.Sprint(w.TimeoutSeconds),
			fmt.Sprintf("must be 60 to %d: a WAL segment is shipped at least this often, which bounds the recovery point (the seed's: 15 minutes)", config.MaxArchiveTimeoutSeconds))
	}
	if err := cronSchedule(w.BaseBackupSchedule); err != nil {
		v.fail("postgres.walArchive.baseBackupSchedule", quote(w.BaseBackupSchedule),
			`must be a cron schedule of five fields in UTC, such as "0 1 * * *": `+err.Error())
	}
	if w.RetentionDays < 2 {
		v.fail("postgres.walArchive.retentionDays", fmt.Sprint(w.RetentionDays), "must be at least 2 (Spilo keeps two base backups whatever it is told)")
	}
	v.walArchive(w)
	if r.TargetTime != "" {
		if t, ok := r.Target(); !ok {
			v.fail("postgres.restore.targetTime", quote(r.TargetTime), `must be an RFC 3339 time with its zone, such as "2026-11-25T14:30:00Z", "latest" (everything archived), or empty for no restore`)
		} else if !w.On() {
			v.fail("postgres.restore.targetTime", quote(r.TargetTime), "needs postgres.walArchive's store (s3Bucket, gcsBucket or azureContainer): the restore reads the base backups and WAL archived there")
		} else if t.After(time.Now()) {
			v.fail("postgres.restore.targetTime", quote(r.TargetTime), "must not be in the future: PostgreSQL stops a recovery whose target the archive never reaches")
		}
	}
	if f := r.FromNamespace; f != "" && (!config.DNSLabel.MatchString(f) || len(f) > 63) {
		v.fail("postgres.restore.fromNamespace", quote(f), "must be a namespace name (a DNS label), or empty for this stack's own")
	}
}

// S3 names: a bucket (3-63 characters) and a region such as eu-central-1 or a store's own.
var (
	s3Bucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	s3Region = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// walArchive checks where WAL-G archives to; each field is optional (empty: off, AWS's default
// region, AWS itself, workload identity).
func (v *validator) walArchive(w config.WALArchive) {
	if w.S3Bucket != "" && !s3Bucket.MatchString(w.S3Bucket) {
		v.fail("postgres.walArchive.s3Bucket", quote(w.S3Bucket),
			"must be an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit")
	}
	if w.Region != "" && !s3Region.MatchString(w.Region) {
		v.fail("postgres.walArchive.region", quote(w.Region), "must be a region name such as eu-central-1")
	}
	switch u, err := url.Parse(w.Endpoint); {
	case w.Endpoint == "":
	case err == nil && u.User != nil:
		// Shown as nothing: the user information may hold the store's secret key.
		v.fail("postgres.walArchive.endpoint", "[not shown]",
			"must not carry a user or password (user:password@): the URL is in the pods' environment and the stack's settings; "+
				"name a Secret with the store's keys in postgres.walArchive.credentialsSecret")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.fail("postgres.walArchive.endpoint", quote(w.Endpoint),
			"must be the http:// or https:// URL of an S3-compatible store, such as https://minio.example:9000; empty for AWS")
	}
	if w.CredentialsSecret != "" && (!config.DNSSubdomain.MatchString(w.CredentialsSecret) || len(w.CredentialsSecret) > 253) {
		v.fail("postgres.walArchive.credentialsSecret", quote(w.CredentialsSecret),
			"must be the name of a Secret in the namespace (lowercase letters, digits, '-' and '.')")
	}
	v.otherStores(w)
}

func validatePooler(s *config.Settings, v *validator, lr limitRangeMax) {
	if s.Pooler.Replicas < 1 {
		v.fail("pooler.replicas", fmt.Sprint(s.Pooler.Replicas), "must be at least 1")
	}
	v.resources("pooler.resources", s.Pooler.Resources, lr)
	// The arithmetic needs a replica count and a max_connections that make sense; a bad one is
	// reported on its own (above, and in validatePostgres), not again as a broken budget.
	if s.Pooler.Replicas >= 1 && s.Postgres.MaxConnections >= 20+config.ReservedConnections {
		validateConnectionBudget(s, v)
	}
}

// validateConnectionBudget is the pooler's arithmetic: the server connections of every pooler
// pod fit in max_connections, and every API and worker pod at its maximum replicas, each with
// its pool, finds a client slot in the poolers.
func validateConnectionBudget(s *config.Settings, v *validator) {
	pl, pg := s.Pooler, s.Postgres
	if pl.PoolSize < 1 {
		v.fail("pooler.poolSize", fmt.Sprint(pl.PoolSize), "must be at least 1")
	} else if server := pl.Replicas*pl.PoolSize + config.ReservedConnections; server > pg.MaxConnections {
		v.fail("pooler.poolSize", fmt.Sprint(pl.PoolSize), fmt.Sprintf(
			"pooler.replicas (%d) x pooler.poolSize + %d reserved = %d exceeds postgres.maxConnections (%d); at most %d",
			pl.Replicas, config.ReservedConnections, server, pg.MaxConnections, (pg.MaxConnections-config.ReservedConnections)/max(pl.Replicas, 1)))
	}
	clients := s.API.MaxReplicas*s.API.DBPoolSize + s.Worker.MaxReplicas*s.Worker.DBPoolSize
	if capacity := pl.Replicas * pl.MaxClientConnections; clients > capacity {
		v.fail("pooler.maxClientConnections", fmt.Sprint(pl.MaxClientConnections), fmt.Sprintf(
			"api.maxReplicas (%d) x api.dbPoolSize (%d) + worker.maxReplicas (%d) x worker.dbPoolSize (%d) = %d clients exceed pooler.replicas (%d) x pooler.maxClientConnections = %d; at least %d",
			s.API.MaxReplicas, s.API.DBPoolSize, s.Worker.MaxReplicas, s.Worker.DBPoolSize, clients,
			pl.Replicas, capacity, (clients+max(pl.Replicas, 1)-1)/max(pl.Replicas, 1)))
	}
}

// fluxDuration is an InfluxDB duration such as 30d, 1h or 90m; fluxPart is one of its parts.
var (
	fluxDuration = regexp.MustCompile(`^([0-9]+(ns|us|ms|s|m|h|d|w|mo|y))+$`)
	fluxPart     = regexp.MustCompile(`([0-9]+)(ns|us|ms|s|mo|m|h|d|w|y)`)
	fluxUnits    = map[string]time.Duration{
		"ns": time.Nanosecond, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
		"mo": 30 * 24 * time.Hour, "y": 365 * 24 * time.Hour, // as long as InfluxDB's calendar ones, near enough to compare
	}
)

// fluxLength is how long an InfluxDB duration lasts; ok is false if it is not one.
func fluxLength(d string) (length time.Duration, ok bool) {
	if !fluxDuration.MatchString(d) {
		return 0, false
	}
	for _, m := range fluxPart.FindAllStringSubmatch(d, -1) {
		var n time.Duration
		if _, err := fmt.Sscan(m[1], &n); err != nil {
			return 0, false
		}
		length += n * fluxUnits[m[2]]
	}
	return length, true
}

// validateInfluxDBDurations: each is a duration, the buckets keep data at least the hour InfluxDB
// asks for (0 would be forever, and the volume fills), the long-term bucket no less than the
// high-resolution one, and the downsampling runs before the data it reads has expired.
func validateInfluxDBDurations(in config.InfluxDB, v *validator) {
	const allowed = `must be an InfluxDB duration such as "30d" or "1h"`
	retention, okR := fluxLength(in.Retention)
	longTerm, okL := fluxLength(in.LongTermRetention)
	every, okE := fluxLength(in.DownsampleEvery)
	switch {
	case !okR:
		v.fail("influxdb.retention", quote(in.Retention), allowed)
	case retention < time.Hour:
		v.fail("influxdb.retention", quote(in.Retention), allowed+" of at least 1h: InfluxDB keeps data no shorter (and 0 would keep it forever)")
		okR = false // the others are compared with a valid one only: one message per mistake
	}
	switch {
	case !okL:
		v.fail("influxdb.longTermRetention", quote(in.LongTermRetention), allowed)
	case okR && longTerm < retention:
		v.fail("influxdb.longTermRetention", quote(in.LongTermRetention), fmt.Sprintf(
			"must be at least influxdb.retention (%s): the long-term bucket keeps the averages longer than the data they summarize", in.Retention))
	}
	switch {
	case !okE:
		v.fail("influxdb.downsampleEvery", quote(in.DownsampleEvery), allowed)
	case every < time.Minute || (okR && every > retention):
		v.fail("influxdb.downsampleEvery", quote(in.DownsampleEvery), fmt.Sprintf(
			"must be from 1m to influxdb.retention (%s): the task must run before the data it averages has expired", in.Retention))
	}
}

func validateInfluxDB(s *config.Settings, v *validator, lr limitRangeMax) {
	in := s.InfluxDB
	v.statefulTier("influxdb", in.StatefulTier, true, lr)
	if in.Replicas > 1 {
		v.fail("influxdb.replicas", fmt.Sprint(in.Replicas), "must be 1: InfluxDB OSS does not cluster, more replicas would be separate databases")
	}
	validateInfluxDBDurations(in, v)
	if err := cronSchedule(in.Backup.Schedule); err != nil {
		v.fail("influxdb.backup.schedule", quote(in.Backup.Schedule), `must be a cron schedule of five fields in UTC, such as "30 4 * * *": `+err.Error())
	}
	if in.Backup.RetentionDays < 1 {
		v.fail("influxdb.backup.retentionDays", fmt.Sprint(in.Backup.RetentionDays), "must be at least 1")
	}
}

// imageRef is a pinned image reference: a tag or a digest, never an implicit latest.
var imageRef = regexp.MustCompile(`^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$`)

func validateImages(s *config.Settings, v *validator) {
	im := s.Images
	for _, i := range []struct{ key, value string }{
		{"images.postgres", im.Postgres},
		{"images.postgresClient", im.PostgresClient},
		{"images.postgresExporter", im.PostgresExporter},
		{"images.pgbouncer", im.PgBouncer},
		{"images.redis", im.Redis},
		{"images.redisExporter", im.RedisExporter},
		{"images.influxdb", im.InfluxDB},
		{"images.api", im.API},
		{"images.worker", im.Worker},
		{"images.nginx", im.Nginx},
		{"images.nginxExporter", im.NginxExporter},
		{"images.prometheus", im.Prometheus},
		{"images.alertmanager", im.Alertmanager},
		{"images.grafana", im.Grafana},
		{"images.kubeStateMetrics", im.KubeStateMetrics},
		{"images.prometheusAdapter", im.PrometheusAdapter},
		{"images.kubectl", im.Kubectl},
		{"images.logStore", im.LogStore},
		{"images.logCollector", im.LogCollector},
		{"images.nodeExporter", im.NodeExporter},
	} {
		if !imageRef.MatchString(i.value) || strings.HasSuffix(i.value, ":latest") {
			v.fail(i.key, quote(i.value), "must be an image pinned by tag or digest (not :latest), such as redis:7.4.2-alpine")
		}
	}
	v.oneOf("images.pullPolicy", im.PullPolicy, config.PullPolicies)
}

func validateWorker(s *config.Settings, v *validator, lr limitRangeMax) {
	w := s.Worker
	v.autoscaled("worker", w.Autoscaled, lr)
	if w.TaskTimeoutSeconds < 30 {
		v.fail("worker.taskTimeoutSeconds", fmt.Sprint(w.TaskTimeoutSeconds), "must be at least 30: the time a stopping worker gets to finish its tasks")
	}
	if w.Concurrency < 1 {
		v.fail("worker.concurrency", fmt.Sprint(w.Concurrency), "must be at least 1")
	}
	if w.QueueScaling.Enabled {
		if !metricName.MatchString(w.QueueScaling.MetricName) {
			v.fail("worker.queueScaling.metricName", quote(w.QueueScaling.MetricName), "must be the name of a metric the external metrics adapter serves")
		}
		if w.QueueScaling.TargetPerPod < 1 {
			v.fail("worker.queueScaling.targetPerPod", fmt.Sprint(w.QueueScaling.TargetPerPod), "must be at least 1")
		}
	}
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:.-]*$`)

// validateRotation refuses a count below zero (a generation once retired never comes back) and
// the rotation of a credential the operator set: its value is the operator's to change.
func validateRotation(s *config.Settings, v *validator) {
	r := s.Secrets.Rotation
	for _, c := range []struct {
		field    string
		n        int
		override config.Credential
		key      string
	}{
		{"all", r.All, "", ""},
		{"postgresApp", r.PostgresApp, s.Credentials.PostgresAppPassword, "postgresAppPassword"},
		{"redis", r.Redis, s.Credentials.RedisPassword, "redisPassword"},
	} {
		key := "secrets.rotation." + c.field
		switch {
		case c.n < 0:
			v.fail(key, fmt.Sprint(c.n), "must be 0 or more: the number of rotations so far; raise it by one to rotate")
		case c.n > 0 && c.override != "":
			v.fail(key, fmt.Sprint(c.n), "must be 0 while "+c.key+" is set: that password is the operator's, rotate it by setting a new one")
		}
	}
}
