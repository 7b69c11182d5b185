// Package geotest builds small MaxMind-format City databases for tests, so
// no test needs a downloaded GeoLite2 file or the network.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is one network's location.
type Place struct {
	Network     string // a CIDR, like "203.0.113.0/24"
	CountryCode string
	Region      string
	City        string
}

// Write builds a GeoIP2-City-shaped database holding places and returns
// its path inside t.TempDir().
func Write(t testing.TB, places ...Place) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoIP2-City",
		RecordSize:              24,
		IncludeReservedNetworks: true, // test addresses are documentation ranges
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range places {
		_, n, err := net.ParseCIDR(p.Network)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{
			"country": mmdbtype.Map{"iso_code": mmdbtype.String(p.CountryCode)},
			"city":    mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.City)}},
			"subdivisions": mmdbtype.Slice{
				mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.Region)}},
			},
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
