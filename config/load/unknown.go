package load

import (
	"encoding/json"
	"github.com/pynomaly/pynomaly-platform/config"
	"slices"
	"strings"
)

// unknownKeys are the keys under the project's prefix that the engine's configuration (the
// JSON object the language host passes the program) holds and the program does not read.
// Pulumi hands a program every key of its stack and asks nothing, so without this a typo
// (pynomaly-platform:apii) would be ignored without a word.
func unknownKeys(project, engineConfig string) []string {
	var all map[string]json.RawMessage
	if json.Unmarshal([]byte(engineConfig), &all) != nil {
		return nil
	}
	known := config.Keys()
	var unknown []string
	for full := range all {
		name, ok := strings.CutPrefix(full, project+":")
		if ok && !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	return unknown
}

// unknownKeyErrors are one SettingError per key of values the program does not read, each
// naming the nearest key it does.
func unknownKeyErrors(project string, values map[string]string) []error {
	known := config.Keys()
	var names []string
	for name := range values {
		if !slices.Contains(known, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		errs = append(errs, &SettingError{
			Key: project + ":" + name, Value: quote(values[name]),
			Allowed: "is not a setting of this program" + didYouMean(name, known) +
				" (docs/settings.md lists every one; pulumi config rm " + name + " removes it)",
		})
	}
	return errs
}

// didYouMean names the candidate nearest to name by edit distance (case ignored), or says
// nothing when none is near: more than a third of the name would have to change.
func didYouMean(name string, candidates []string) string {
	best, bestDistance := "", len(name)/3+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
