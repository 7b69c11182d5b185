package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time, e.g.
//
//	go build -ldflags "-X main.version=v0.3.0 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%FT%TZ)"
//
// Unset values fall back to what the Go toolchain stamped into the binary
// (module version, vcs.revision), so `go install` builds still say
// something true.
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo is what `authd version` reports.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"go"`
	Platform  string `json:"platform"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				if commit == "" {
					b.Modified = s.Value == "true"
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			}
		}
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

// versionString is the one-line form, also sent in admin pings.
func versionString() string {
	b := readBuildInfo()
	s := "authd " + b.Version
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if b.Modified {
			c += "+dirty"
		}
		s += " (commit " + c + ")"
	}
	return s
}

func (c *cli) cmdVersion(args []string) error {
	fs := c.flagSet("version", "authd version [-format text|json]",
		"Prints the version, the commit it was built from and the Go version.")
	format := fs.String("format", "text", "output `format`: text or json")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("takes no arguments")
	}
	if err := oneOf("format", *format, "text", "json"); err != nil {
		return err
	}
	b := readBuildInfo()
	if *format == "json" {
		out, _ := json.MarshalIndent(b, "", "  ")
		fmt.Fprintf(c.stdout, "%s\n", out)
		return nil
	}
	fmt.Fprintln(c.stdout, versionString())
	commitLine := b.Commit
	if commitLine == "" {
		commitLine = "unknown"
	} else if b.Modified {
		commitLine += " (modified)"
	}
	fmt.Fprintf(c.stdout, "  commit:  %s\n", commitLine)
	if b.Date != "" {
		fmt.Fprintf(c.stdout, "  built:   %s\n", b.Date)
	}
	fmt.Fprintf(c.stdout, "  go:      %s %s\n", b.GoVersion, b.Platform)
	return nil
}
