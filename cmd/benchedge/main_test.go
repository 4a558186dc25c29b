package main

import (
	"testing"
	"time"
)

func TestParseStubStatus(t *testing.T) {
	a, acc, h, r := parseStubStatus([]byte("Active connections: 291 \nserver accepts handled requests\n 16630948 16630947 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n"))
	if a != 291 || acc != 16630948 || h != 16630947 || r != 31070465 {
		t.Errorf("got %d %d %d %d", a, acc, h, r)
	}
}

func TestParseHold(t *testing.T) {
	for in, want := range map[string][2]time.Duration{"1s-2s": {time.Second, 2 * time.Second}, "1500ms": {1500 * time.Millisecond, 1500 * time.Millisecond}} {
		lo, hi, err := parseHold(in)
		if err != nil || lo != want[0] || hi != want[1] {
			t.Errorf("parseHold(%q) = %v, %v, %v", in, lo, hi, err)
		}
	}
	for _, bad := range []string{"2s-1s", "0s", "x", "-1s"} {
		if _, _, err := parseHold(bad); err == nil {
			t.Errorf("parseHold(%q) accepted", bad)
		}
	}
}

func TestThousandsAndPercentiles(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 3334: "3,334", 1234567: "1,234,567", -2500: "-2,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %s, want %s", n, got, want)
		}
	}
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := percentiles(ds, "ms"); got != "50.0 ms / 90.0 ms / 99.0 ms / 100.0 ms" {
		t.Errorf("percentiles = %s", got)
	}
	if got := percentiles(ds[:1], "s"); got != "0.00 s / 0.00 s / 0.00 s / 0.00 s" {
		t.Errorf("percentiles of one = %s", got)
	}
}
