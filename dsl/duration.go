package dsl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseDuration reads an authd duration: Go's units (ns, us, ms, s, m, h)
// plus d (24h) and w (7d), combinable as in "1d12h". "0" is zero, which on
// attributes that allow it means "never expires".
func parseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("an empty string is not a duration")
	}
	if strings.ContainsAny(s, " \t") {
		return 0, fmt.Errorf("%q contains a space; write a duration without spaces, like \"15m\" or \"1h30m\"", orig)
	}
	if s[0] == '-' || s[0] == '+' {
		return 0, fmt.Errorf("%q: a duration may not be signed", orig)
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("%q is not a duration; write a number and a unit, like \"120s\", \"15m\", \"10h\" or \"1d\"", orig)
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration; write a number and a unit, like \"120s\", \"15m\", \"10h\" or \"1d\"", orig)
		}
		s = s[i:]
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		unit := s[:j]
		s = s[j:]
		var mult float64
		switch unit {
		case "ns":
			mult = float64(time.Nanosecond)
		case "us", "µs":
			mult = float64(time.Microsecond)
		case "ms":
			mult = float64(time.Millisecond)
		case "s":
			mult = float64(time.Second)
		case "m":
			mult = float64(time.Minute)
		case "h":
			mult = float64(time.Hour)
		case "d":
			mult = float64(24 * time.Hour)
		case "w":
			mult = float64(7 * 24 * time.Hour)
		case "":
			return 0, fmt.Errorf("%q has no unit; write for example \"%ss\" for seconds (only \"0\" may stand alone)", orig, strings.TrimSpace(orig))
		default:
			return 0, fmt.Errorf("%q has the unknown unit %q; use s, m, h, d or w", orig, unit)
		}
		total += n * mult
		if total > math.MaxInt64 {
			return 0, fmt.Errorf("%q is too long a duration", orig)
		}
	}
	return time.Duration(total), nil
}

// formatDuration prints d in the shortest authd spelling ("120s" stays
// "2m0s" in Go; here it is "2m"), for messages that suggest a value.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	switch {
	case d%(7*24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(7*24*time.Hour)), 10) + "w"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// messageDuration prints d for a message the way people configure short
// waits: seconds below ten minutes ("120s"), else the shortest spelling.
func messageDuration(d time.Duration) string {
	if d < 10*time.Minute && d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return formatDuration(d)
}
