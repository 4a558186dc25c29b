package tests

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
)

// The README's settings table has a row for every key the program reads, and the rows of an
// object key name each of its fields (nested fields are held to Pulumi.yaml's descriptions,
// which the keys table words: see TestProjectFileDescribesEveryKeyAsTheTable).
func TestReadmeDocumentsEverySetting(t *testing.T) {
	rows := readmeSettingsRows(t)
	for _, k := range config.KeyTable() {
		mine := rowsOfKey(rows, k.Name)
		if !assert.NotEmpty(t, mine, "README's settings table has no row for %s", k.Name) {
			continue
		}
		named := map[string]bool{}
		for _, row := range mine {
			for _, code := range codeSpans(strings.Join(row, "|")) {
				for _, name := range strings.Split(code, ".") {
					named[name] = true
				}
			}
		}
		for _, f := range k.Fields() {
			if !strings.Contains(f, ".") {
				assert.True(t, named[f], "README's rows for %s do not name its field %s", k.Name, f)
			}
		}
	}
}

// Every name in the first column of the settings table is a key or a field the program reads,
// so a renamed or removed setting cannot linger in the README.
func TestReadmeNamesOnlyRealSettings(t *testing.T) {
	fields := map[string][]string{}
	for _, k := range config.KeyTable() {
		fields[k.Name] = []string{}
		for _, f := range k.Fields() {
			fields[k.Name] = append(fields[k.Name], strings.Split(f, ".")...)
		}
	}
	for _, row := range readmeSettingsRows(t) {
		key := ""
		for _, code := range codeSpans(row[0]) {
			parts := strings.Split(code, ".")
			if _, isKey := fields[parts[0]]; isKey {
				key, parts = parts[0], parts[1:]
			}
			for _, p := range parts {
				assert.True(t, key != "" && slices.Contains(fields[key], p),
					"README's settings row %q names %s, which the program does not read", row[0], code)
			}
		}
	}
}

// readmeSettingsRows are the body rows of the table under "## Settings", as trimmed cells.
func readmeSettingsRows(t *testing.T) [][]string {
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, section, found := strings.Cut(string(b), "\n## Settings\n")
	require.True(t, found, "README has no Settings section")
	section, _, _ = strings.Cut(section, "\n## ")
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	require.NotEmpty(t, rows, "README's settings table has no rows")
	return rows
}

// rowsOfKey are the rows whose first column names key or one of its fields.
func rowsOfKey(rows [][]string, key string) [][]string {
	var mine [][]string
	for _, row := range rows {
		for _, code := range codeSpans(row[0]) {
			if code == key || strings.HasPrefix(code, key+".") {
				mine = append(mine, row)
				break
			}
		}
	}
	return mine
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

func codeSpans(s string) []string {
	var spans []string
	for _, m := range codeSpan.FindAllStringSubmatch(s, -1) {
		spans = append(spans, m[1])
	}
	return spans
}
