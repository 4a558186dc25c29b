package tests

import "fmt"

// sprintAll formats v every way a careless log line might.
func sprintAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s", v, v, v, v)
}

func itoa(i int) string { return fmt.Sprint(i) }

func equalMaps(a, b map[string]string) bool {
	return len(a) == len(b) && matches(a, b)
}

// matches says whether labels carry every key of selector with its value.
func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
