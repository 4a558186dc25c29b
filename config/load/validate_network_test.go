package load

import (
	"net/netip"
	"testing"
)

// coversAll finds every address covered however the pieces are cut, and the smallest gap left.
func TestCoversAllFindsEveryAddressAndEveryGap(t *testing.T) {
	v4, v6 := netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")
	for _, c := range []struct {
		cidrs []string
		of    netip.Prefix
		want  bool
	}{
		{[]string{"0.0.0.0/1", "128.0.0.0/1"}, v4, true},
		{[]string{"128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/3"}, v4, true},
		// One address short: 255.255.255.255 is left out.
		{[]string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/5", "248.0.0.0/6", "252.0.0.0/7",
			"254.0.0.0/8", "255.0.0.0/9", "255.128.0.0/10", "255.192.0.0/11", "255.224.0.0/12", "255.240.0.0/13",
			"255.248.0.0/14", "255.252.0.0/15", "255.254.0.0/16", "255.255.0.0/17", "255.255.128.0/18", "255.255.192.0/19",
			"255.255.224.0/20", "255.255.240.0/21", "255.255.248.0/22", "255.255.252.0/23", "255.255.254.0/24",
			"255.255.255.0/25", "255.255.255.128/26", "255.255.255.192/27", "255.255.255.224/28", "255.255.255.240/29",
			"255.255.255.248/30", "255.255.255.252/31", "255.255.255.254/32"}, v4, false},
		{[]string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, v4, false},
		// IPv6 halves cover IPv6 only.
		{[]string{"::/1", "8000::/1"}, v6, true},
		{[]string{"::/1", "8000::/1"}, v4, false},
		{[]string{"0.0.0.0/1", "128.0.0.0/1"}, v6, false},
		{[]string{"::/2", "4000::/2", "8000::/2"}, v6, false},
	} {
		var prefixes []netip.Prefix
		for _, s := range c.cidrs {
			prefixes = append(prefixes, netip.MustParsePrefix(s))
		}
		if got := coversAll(prefixes, c.of); got != c.want {
			t.Errorf("coversAll(%v, %s) = %v, want %v", c.cidrs, c.of, got, c.want)
		}
	}
}
