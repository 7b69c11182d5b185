// Package clientinfo turns what a portal knows about the browser behind a
// login (its user agent and IP address) into the text the user reads on the
// phone, so they can tell their own request from an attacker's: "Sign in to
// the portal Device: Windows Chrome, Location: CH, Zurich, Zurich".
//
// User agents are parsed by github.com/medama-io/go-useragent (maintained,
// allocation-free, no network); locations come from an offline
// MaxMind-format database (GeoLite2-City, DB-IP Lite, ...) read with
// github.com/oschwald/maxminddb-golang/v2. Nothing here reaches the
// network: the database is a file the operator refreshes.
package clientinfo

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/medama-io/go-useragent"
	"github.com/oschwald/maxminddb-golang/v2"
)

// DefaultTemplate is the secure-message template when the configuration
// gives none for a language. [message] is the base message; the other
// placeholders come from the user agent and the IP address.
const DefaultTemplate = "[message] Device: [operatingSystem] [browser], Location: [countryCode], [region], [city]"

// Info is what is known about the client of a login.
type Info struct {
	Browser         string // "Chrome", "Safari", ... ("" when unknown)
	OperatingSystem string // "Windows", "iOS", ... ("" when unknown)
	CountryCode     string // ISO 3166-1 alpha-2
	Region          string // the first subdivision's English name
	City            string // the city's English name
}

// Located reports whether geolocation found at least a country.
func (i Info) Located() bool { return i.CountryCode != "" }

var (
	parserOnce sync.Once
	parser     *useragent.Parser
)

// ParseUserAgent reads the browser and operating system from a User-Agent
// header. An unrecognised string gives empty fields, never an error.
func ParseUserAgent(ua string) (browser, os string) {
	if ua == "" {
		return "", ""
	}
	parserOnce.Do(func() { parser = useragent.NewParser() })
	a := parser.Parse(ua)
	return string(a.Browser()), string(a.OS())
}

// GeoDB is an open MaxMind-format city (or country) database. It is safe
// for concurrent use.
type GeoDB struct{ r *maxminddb.Reader }

// OpenGeoDB opens the database file at path (memory-mapped; read-only).
func OpenGeoDB(path string) (*GeoDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: %w", path, err)
	}
	return &GeoDB{r: r}, nil
}

// LoadGeoDB reads the database file at path into memory. Unlike
// OpenGeoDB's memory map, the result needs no Close: a server that swaps
// databases on a reload simply drops the old one, and a request still
// looking an address up in it can never touch unmapped memory.
func LoadGeoDB(path string) (*GeoDB, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database: %w", err)
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: %w", path, err)
	}
	return &GeoDB{r: r}, nil
}

// Close releases the database.
func (g *GeoDB) Close() error {
	if g == nil || g.r == nil {
		return nil
	}
	return g.r.Close()
}

// cityRecord is the part of a GeoIP2/GeoLite2 City record we show.
type cityRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
}

// ErrNotFound is returned by Lookup for an address the database does not
// cover (private ranges, an outdated file).
var ErrNotFound = errors.New("address not in the geoip database")

// Lookup returns the country code, region and city of ip.
func (g *GeoDB) Lookup(ip string) (country, region, city string, err error) {
	if g == nil || g.r == nil {
		return "", "", "", errors.New("no geoip database is configured")
	}
	addr, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return "", "", "", fmt.Errorf("%q is not an IP address", ip)
	}
	res := g.r.Lookup(addr.Unmap())
	if err := res.Err(); err != nil {
		return "", "", "", err
	}
	if !res.Found() {
		return "", "", "", ErrNotFound
	}
	var rec cityRecord
	if err := res.Decode(&rec); err != nil {
		return "", "", "", err
	}
	if rec.Country.ISOCode == "" {
		return "", "", "", ErrNotFound
	}
	if len(rec.Subdivisions) > 0 {
		region = rec.Subdivisions[0].Names["en"]
	}
	return rec.Country.ISOCode, region, rec.City.Names["en"], nil
}
