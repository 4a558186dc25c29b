package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Source is the stack configuration as Pulumi hands it to the program: values by key (without
// the project prefix) and whether each one was set as a secret.
type Source struct {
	Values  map[string]string
	Secrets map[string]bool
}

// Load reads and validates the settings of the running stack.
func Load(ctx *pulumi.Context) (*Settings, error) {
	src := Source{Values: map[string]string{}, Secrets: map[string]bool{}}
	for _, key := range Keys() {
		full := ctx.Project() + ":" + key
		if v, ok := ctx.GetConfig(full); ok {
			src.Values[key] = v
			src.Secrets[key] = ctx.IsConfigSecret(full)
		}
	}
	return Parse(ctx.Project(), src)
}

// objectKeys are the settings given as one structured value each (pulumi config set --path).
func objectKeys(s *Settings) []struct {
	key string
	dst any
} {
	return []struct {
		key string
		dst any
	}{
		{"kubernetes", &s.Kubernetes},
		{"quota", &s.Quota},
		{"limitRange", &s.LimitRange},
		{"storage", &s.Storage},
		{"secrets", &s.Secrets},
		{"api", &s.API},
		{"worker", &s.Worker},
		{"postgres", &s.Postgres},
		{"pooler", &s.Pooler},
		{"redisQueue", &s.RedisQueue},
		{"redisCache", &s.RedisCache},
		{"influxdb", &s.InfluxDB},
		{"images", &s.Images},
	}
}

// scalarKeys are the plain string settings.
func scalarKeys(s *Settings) []struct {
	key string
	dst *string
} {
	return []struct {
		key string
		dst *string
	}{
		{"namespace", &s.Namespace},
		{"security", (*string)(&s.Security)},
		{"placement", (*string)(&s.Placement)},
		{"monitoring", (*string)(&s.Monitoring)},
		{"logLevel", &s.LogLevel},
	}
}

// credentialKeys are the secret overrides of generated credentials, one top-level key each so
// that `pulumi config set --secret KEY VALUE` marks exactly that key secret.
func credentialKeys(c *Credentials) []struct {
	key string
	dst *Credential
} {
	return []struct {
		key string
		dst *Credential
	}{
		{"postgresSuperuserPassword", &c.PostgresSuperuserPassword},
		{"postgresReplicationPassword", &c.PostgresReplicationPassword},
		{"postgresAppPassword", &c.PostgresAppPassword},
		{"redisPassword", &c.RedisPassword},
		{"influxdbAdminPassword", &c.InfluxDBAdminPassword},
		{"influxdbAdminToken", &c.InfluxDBAdminToken},
		{"grafanaAdminPassword", &c.GrafanaAdminPassword},
		{"apiSecretKey", &c.APISecretKey},
	}
}

// Parse builds Settings from the environment's profile and the stack's overrides, then
// validates them. Every problem is reported, one SettingError per bad value.
func Parse(project string, src Source) (*Settings, error) {
	env := Environment(src.Values["environment"])
	s, ok := profile(env)
	if !ok {
		return nil, &SettingError{
			Key: project + ":environment", Value: quote(string(env)),
			Allowed: "must be one of " + joinEnvironments() + " (pulumi config set environment dev)",
		}
	}
	s.Project = project

	var errs []error
	// Empty means "the profile's": Pulumi.yaml declares these with an empty default.
	for _, k := range scalarKeys(&s) {
		if v := src.Values[k.key]; v != "" {
			*k.dst = v
		}
	}
	for _, k := range objectKeys(&s) {
		raw, ok := src.Values[k.key]
		if !ok {
			continue
		}
		if err := decodeObject(raw, k.dst); err != nil {
			errs = append(errs, &SettingError{Key: project + ":" + k.key, Value: raw, Allowed: err.Error()})
		}
	}
	// A new provisioner needs its own parameters: a given map replaces the profile's, never merges.
	if raw, ok := src.Values["storage"]; ok {
		var p struct {
			Parameters *map[string]string `json:"parameters"`
		}
		if json.Unmarshal([]byte(raw), &p) == nil && p.Parameters != nil {
			s.Storage.Parameters = *p.Parameters
		}
	}
	for _, k := range credentialKeys(&s.Credentials) {
		v, ok := src.Values[k.key]
		if !ok || v == "" {
			continue
		}
		if !src.Secrets[k.key] {
			errs = append(errs, &SettingError{
				Key: project + ":" + k.key, Value: "[not shown]",
				Allowed: "a credential must be stored encrypted: pulumi config set --secret " + k.key + " <value>",
			})
			continue
		}
		*k.dst = Credential(v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeObject merges a JSON object onto dst: fields present replace the profile's, fields
// absent keep it. Unknown fields are errors, so a typo cannot be silently ignored.
func decodeObject(raw string, dst any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Errorf("field %s must be %s, got a JSON %s", typeErr.Field, describeType(typeErr.Type), typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Errorf("must be an object with the fields %s", strings.Join(jsonFields(reflect.TypeOf(dst).Elem()), ", "))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return fmt.Errorf("%s; allowed fields: %s", strings.TrimPrefix(err.Error(), "json: "),
			strings.Join(jsonFields(reflect.TypeOf(dst).Elem()), ", "))
	default:
		return fmt.Errorf("not a valid JSON object: %v", err)
	}
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Map:
		return "an object of strings"
	case reflect.Struct:
		return "an object with the fields " + strings.Join(jsonFields(t), ", ")
	default:
		return t.String()
	}
}

// jsonFields are the fields of a settings struct by their JSON names, sorted for messages.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			names = append(names, jsonFields(f.Type)...)
			continue
		}
		if name := jsonName(f); name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// jsonName is the name a field has in a stack setting, or "" for one that cannot be set.
func jsonName(f reflect.StructField) string {
	if tag := strings.Split(f.Tag.Get("json"), ",")[0]; tag != "-" {
		return tag
	}
	return ""
}

func joinEnvironments() string {
	names := make([]string, len(Environments))
	for i, e := range Environments {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
