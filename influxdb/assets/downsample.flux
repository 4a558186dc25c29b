import "types"

// Downsampling of the high-resolution bucket into the long-term one. Created (or updated) by
// the pynomaly-influxdb-setup job; the settings fill in the names and intervals.
option task = {name: "{{.TaskName}}", every: {{.Every}}, offset: 5m}

from(bucket: "{{.Bucket}}")
    |> range(start: -task.every)
    |> filter(fn: (r) => types.isType(v: r._value, type: "float") or types.isType(v: r._value, type: "int"))
    |> aggregateWindow(every: {{.Window}}, fn: mean, createEmpty: false)
    |> to(bucket: "{{.LongTermBucket}}", org: "{{.Org}}")
