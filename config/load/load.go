// Package load reads a stack's configuration into config.Settings (the environment's profile with
// the stack's overrides) and validates them: every bad value is one SettingError naming the key,
// the value and what is allowed, returned before a single resource is declared.
package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pynomaly/pynomaly-platform/config"
)

// Source is the stack configuration as Pulumi hands it to the program: values by key (without
// the project prefix) and whether each one was set as a secret.
type Source struct {
	Values  map[string]string
	Secrets map[string]bool
	// Blinded says the secret values are placeholders, not the values: a reader without the
	// stack's passphrase (scripts/settings.sh). What they hold then cannot be checked.
	Blinded bool
}

// Load reads and validates the settings of the running stack.
func Load(ctx *pulumi.Context) (*config.Settings, error) {
	src := Source{Values: map[string]string{}, Secrets: map[string]bool{}}
	for _, key := range append(config.Keys(), unknownKeys(ctx.Project(), os.Getenv(pulumi.EnvConfig))...) {
		full := ctx.Project() + ":" + key
		if v, ok := ctx.GetConfig(full); ok {
			src.Values[key] = v
			src.Secrets[key] = ctx.IsConfigSecret(full)
		}
	}
	return Parse(ctx.Project(), src)
}

// Parse builds Settings from the environment's profile and the stack's overrides, then
// validates them. Every problem is reported, one SettingError per bad value.
func Parse(project string, src Source) (*config.Settings, error) {
	env := config.Environment(src.Values["environment"])
	s, ok := config.Profile(env)
	if !ok {
		return nil, &SettingError{
			Key: project + ":environment", Value: quote(string(env)),
			Allowed: "must be one of " + joinEnvironments() + " (pulumi config set environment dev)",
		}
	}
	s.Project = project
	s.SecretsBlinded = src.Blinded

	errs := unknownKeyErrors(project, src.Values)
	// Empty means "the profile's": Pulumi.yaml declares these with an empty default.
	for _, k := range config.KeyTable()[1:] { // environment chose the profile
		if dst, ok := k.In(&s).(*string); ok && src.Values[k.Name] != "" {
			*dst = src.Values[k.Name]
		}
	}
	// The workers scale on the queue's depth by default where the program runs the adapter that
	// serves it (bundled, full and comprehensive); a stack's worker.queueScaling.enabled wins.
	s.Worker.QueueScaling.Enabled = s.Bundled() && s.Monitoring.Alerting()
	errs = append(errs, decodeObjects(project, src, &s)...)
	errs = append(errs, readCredentials(project, src, &s)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// The cloud's defaults fill what the stack left empty, so the view shows what is used.
	s.ApplyCloud()
	// Decided once edge.entry is known; the settings view shows the namespace in use.
	if s.Network.EntryNamespace == "" {
		s.Network.EntryNamespace = s.DefaultEntryNamespace()
	}
	if err := Validate(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeObjects reads the object keys (pulumi config set --path) into s, over the profile's
// values, and refuses kubeconfig contents stored in plain text.
func decodeObjects(project string, src Source, s *config.Settings) []error {
	var errs []error
	typed := map[string]string{}
	for _, k := range config.KeyTable() {
		raw, ok := src.Values[k.Name]
		if !ok || !k.Object() {
			continue
		}
		if k.Name == "secrets" {
			if err := legacyRotation(project, raw); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		typed[k.Name] = asTyped(raw, k.Type())
		if err := decodeObject(typed[k.Name], k.In(s)); err != nil {
			errs = append(errs, objectError(project, k.Name, raw, err))
		}
	}
	// Contents, unlike a path, carry the cluster's certificates and tokens. A --secret --path
	// value makes the whole object secret, which is all the stack configuration can tell.
	if config.IsKubeconfigContents(s.Kubernetes.Kubeconfig) && !src.Secrets["kubernetes"] {
		errs = append(errs, &SettingError{
			Key: project + ":kubernetes.kubeconfig", Value: config.KubeconfigContents,
			Allowed: `kubeconfig contents carry the cluster's credentials and must be stored encrypted: ` +
				`pulumi config set --secret --path kubernetes.kubeconfig "$(cat FILE)"; or give the file's path`,
		})
	}
	// A new provisioner needs its own parameters: a given map replaces the profile's, never merges.
	if raw, ok := typed["storage"]; ok {
		var p struct {
			Parameters *map[string]string `json:"parameters"`
		}
		if json.Unmarshal([]byte(raw), &p) == nil && p.Parameters != nil {
			s.Storage.Parameters = *p.Parameters
		}
	}
	return errs
}

// readCredentials reads the credential keys into s: each must be stored encrypted.
func readCredentials(project string, src Source, s *config.Settings) []error {
	var errs []error
	for _, k := range config.KeyTable() {
		dst, isCredential := k.In(s).(*config.Credential)
		v := src.Values[k.Name]
		if !isCredential || v == "" {
			continue
		}
		if !src.Secrets[k.Name] {
			errs = append(errs, &SettingError{
				Key: project + ":" + k.Name, Value: "[not shown]",
				Allowed: "a credential must be stored encrypted: pulumi config set --secret " + k.Name + " <value>",
			})
			continue
		}
		*dst = config.Credential(v)
	}
	return errs
}

// asTyped reads a setting as people type it. `pulumi config set --path KEY VALUE` stores true
// and false as booleans and integers as numbers (`--type float` stores a float), whatever field
// KEY is; a Kubernetes quantity such as 16, a rotation keeper such as 20261201 or a StorageClass
// parameter such as encrypted=true is text to the program. So wherever t holds a string, a JSON
// number or boolean becomes its literal text (16 stays 16, not 16.0). Everything else is left
// for decodeObject to take or refuse, and raw that is not JSON is returned as it is.
func asTyped(raw string, t reflect.Type) string {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return raw
	}
	out, err := json.Marshal(textWhereStrings(v, t))
	if err != nil {
		return raw
	}
	return string(out)
}

// textWhereStrings walks v along the Go type t it will be decoded into.
func textWhereStrings(v any, t reflect.Type) any {
	switch t.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case json.Number:
			return x.String()
		case bool:
			return fmt.Sprint(x)
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for k, e := range m {
				m[k] = textWhereStrings(e, t.Elem())
			}
		}
	case reflect.Slice:
		if l, ok := v.([]any); ok {
			for i, e := range l {
				l[i] = textWhereStrings(e, t.Elem())
			}
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		for k, e := range m {
			if ft, known := fields[k]; known {
				m[k] = textWhereStrings(e, ft)
			}
		}
	}
	return v
}

// collectFields maps the JSON names of a settings struct's fields (embedded structs' too) to
// their types.
func collectFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			collectFields(f.Type, into)
		} else if name := config.JSONName(f); name != "" {
			into[name] = f.Type
		}
	}
}

// fieldError is a field of an object setting whose JSON type is wrong: the message names the
// field's full key, as a validation error does.
type fieldError struct {
	field string // JSON path inside the object: resources.cpuLimit
	json  string // the JSON type given: string, number, object, array, bool
	want  string
	// one names the wrong value when it is one of a map's or a list's (the decoder does not say
	// which): "one value", "one item".
	one string
}

func (e *fieldError) Error() string { return e.field + " " + e.allowed() }

func (e *fieldError) allowed() string {
	if e.one != "" {
		return "must be " + e.want + "; " + e.one + " is a JSON " + e.json
	}
	if e.json == "number" { // the value shows it: 2.5
		return "must be " + e.want
	}
	return "must be " + e.want + ", not a JSON " + e.json
}

// objectError is the SettingError of an object setting that did not decode: a field of the
// wrong type is reported under its own key (api.maxReplicas), anything else under the object's.
func objectError(project, key, raw string, err error) *SettingError {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &SettingError{Key: project + ":" + key + "." + fe.field, Value: valueAt(raw, fe.field), Allowed: fe.allowed()}
	}
	return &SettingError{Key: project + ":" + key, Value: raw, Allowed: err.Error()}
}

// jsonPath turns the decoder's field path (Go names of embedded structs included:
// Autoscaled.minReplicas) into the setting's (minReplicas), and returns the type it ends at.
func jsonPath(t reflect.Type, decoderPath string) (string, reflect.Type) {
	var path []string
	for _, step := range strings.Split(decoderPath, ".") {
		for t.Kind() == reflect.Map || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			break
		}
		if f, ok := t.FieldByName(step); ok && f.Anonymous {
			t = f.Type
			continue
		}
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		ft, ok := fields[step]
		if !ok {
			break
		}
		path, t = append(path, step), ft
	}
	return strings.Join(path, "."), t
}

// valueAt is the JSON text of the value at a dotted path of the object raw ("?" if absent).
func valueAt(raw, path string) string {
	var v any
	if json.Unmarshal([]byte(raw), &v) != nil {
		return "?"
	}
	for _, step := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "?"
		}
		v = m[step]
	}
	b, _ := json.Marshal(v)
	return string(b)
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
		field, t := jsonPath(reflect.TypeOf(dst).Elem(), typeErr.Field)
		fe := &fieldError{field: field, json: jsonKind(typeErr.Value), want: describeType(t)}
		switch {
		case typeErr.Type == t: // the whole value has the wrong type
		case t.Kind() == reflect.Map:
			fe.one = "one value"
		case t.Kind() == reflect.Slice:
			fe.one = "one item"
		}
		return fe
	case errors.As(err, &typeErr) && reflect.TypeOf(dst).Elem().Kind() == reflect.Map:
		// The decoder names no map key: say only whether the object itself or something in it is wrong.
		want := describeType(reflect.TypeOf(dst).Elem())
		if strings.HasPrefix(strings.TrimSpace(raw), "{") {
			return fmt.Errorf("must be %s; something in it is a JSON %s", want, jsonKind(typeErr.Value))
		}
		return fmt.Errorf("must be %s, not a JSON %s", want, jsonKind(typeErr.Value))
	case errors.As(err, &typeErr):
		return fmt.Errorf("must be an object with the fields %s", strings.Join(jsonFields(reflect.TypeOf(dst).Elem()), ", "))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		fields := jsonFields(reflect.TypeOf(dst).Elem())
		unknown, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return fmt.Errorf("%s%s; allowed fields: %s", strings.TrimPrefix(err.Error(), "json: "),
			didYouMean(unknown, fields), strings.Join(fields, ", "))
	default:
		return fmt.Errorf("not a valid JSON object: %v", err)
	}
}

// jsonKind names the JSON type of a decoder's "number 2.5", "string", "object" and so on.
func jsonKind(value string) string {
	kind, _, _ := strings.Cut(value, " ")
	return kind
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Map:
		if t.Elem().Kind() == reflect.Map {
			return "an object of objects of strings (name: {name: value})"
		}
		return "an object of strings (name: value)"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
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
		if name := config.JSONName(f); name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func joinEnvironments() string {
	names := make([]string, len(config.Environments))
	for i, e := range config.Environments {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// legacyRotation stops a stack that still sets secrets.rotation as the keeper it used to be (a
// new value regenerated every credential at once, an outage). Generation 0 is what that keeper
// generated, so removing the value keeps every credential as it is.
func legacyRotation(project, raw string) error {
	var old struct {
		Rotation json.RawMessage `json:"rotation"`
	}
	var keeper any
	if json.Unmarshal([]byte(raw), &old) != nil || json.Unmarshal(old.Rotation, &keeper) != nil {
		return nil
	}
	// A date typed as digits is a number to the CLI: a keeper too.
	switch keeper.(type) {
	case string, float64:
	default:
		return nil
	}
	return &SettingError{
		Key: project + ":secrets.rotation", Value: string(old.Rotation),
		Allowed: "is now a count of rotations per credential, not a keeper: remove it to keep every credential as it is " +
			"(pulumi config rm --path secrets.rotation), then rotate with secrets.rotation.all, .postgresApp or .redis raised by one",
	}
}
