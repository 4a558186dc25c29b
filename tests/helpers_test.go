package tests

import "fmt"

// sprintAll formats v every way a careless log line might.
func sprintAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s", v, v, v, v)
}
