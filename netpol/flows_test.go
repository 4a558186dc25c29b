package netpol

import (
	"github.com/pynomaly/pynomaly-platform/internal/golden"
	"strings"
	"testing"
)

// TestFlowTableMarkdown pins the flow table docs/security.md shows: one row per flow, each with
// its four cells filled (a | in a reason would split its row).
func TestFlowTableMarkdown(t *testing.T) {
	got := FlowTableMarkdown()
	golden.Compare(t, "flows.md", got)
	rows := strings.Split(strings.TrimSuffix(got, "\n"), "\n")[2:]
	if len(rows) != len(NetworkFlows()) {
		t.Errorf("%d rows for %d flows", len(rows), len(NetworkFlows()))
	}
	for _, row := range rows {
		cells := strings.Split(strings.Trim(row, "|"), "|")
		if len(cells) != 4 {
			t.Errorf("row %q has %d cells, want 4", row, len(cells))
			continue
		}
		for _, c := range cells {
			if strings.TrimSpace(c) == "" || strings.TrimSpace(c) == "``" {
				t.Errorf("row %q has an empty cell", row)
			}
		}
	}
}
