package nodes

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/authd/authd/engine"
)

// ParseDuration parses a duration setting as written in authd
// configuration: a sequence of decimal numbers each with a unit, such as
// "120s", "1h30m", "10h", "1d" or "2w". Besides Go's units (ns, us, µs, ms,
// s, m, h) it accepts d (24h) and w (7d), because token and push lifetimes
// are naturally written in days. "0" is zero, which settings that allow it
// read as "never"; signed durations are refused and surrounding spaces
// ignored. It is exported so dsl and
// other packages parse durations exactly as nodes do.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("empty duration: want a number and a unit, such as \"120s\", \"10m\", \"1d\"")
	}
	bad := func() error {
		return fmt.Errorf("invalid duration %q: want numbers with units (ms, s, m, h, d, w), such as \"120s\", \"1h30m\", \"1d\"", s)
	}
	var total time.Duration
	rest := s
	for rest != "" {
		// A number: digits, optionally a fraction.
		i := 0
		digits := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
			digits++
		}
		if i < len(rest) && rest[i] == '.' {
			i++
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
				digits++
			}
		}
		if digits == 0 {
			return 0, bad()
		}
		num := rest[:i]
		rest = rest[i:]
		// A unit: everything up to the next digit or dot.
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		unit := rest[:j]
		rest = rest[j:]
		var factor time.Duration = 1
		switch unit {
		case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
		case "d":
			unit, factor = "h", 24
		case "w":
			unit, factor = "h", 24*7
		case "":
			return 0, fmt.Errorf("invalid duration %q: missing unit after %s (use s, m, h, d or w)", s, num)
		default:
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q (use ms, s, m, h, d or w)", s, unit)
		}
		d, err := time.ParseDuration(num + unit)
		if err != nil {
			if strings.Contains(err.Error(), "overflow") {
				return 0, fmt.Errorf("invalid duration %q: too long", s)
			}
			return 0, bad()
		}
		if d > math.MaxInt64/factor {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		d *= factor
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		total += d
	}
	return total, nil
}

// durationSetting parses the duration setting called name. min bounds it
// from below unless it is "0" and zero is allowed (meaning "never"); max,
// when non-zero, bounds it from above.
func durationSetting(name, value string, allowZero bool, min, max time.Duration) (time.Duration, *engine.SettingError) {
	d, err := ParseDuration(value)
	if err != nil {
		return 0, &engine.SettingError{Setting: name, Message: err.Error()}
	}
	if d == 0 {
		if allowZero {
			return 0, nil
		}
		return 0, &engine.SettingError{Setting: name, Message: fmt.Sprintf("must be a positive duration (at least %s), not %q", fmtDuration(min), value)}
	}
	if d < min {
		return 0, &engine.SettingError{Setting: name, Message: fmt.Sprintf("%q is too short: at least %s", value, fmtDuration(min))}
	}
	if max > 0 && d > max {
		return 0, &engine.SettingError{Setting: name, Message: fmt.Sprintf("%q is too long: at most %s", value, fmtDuration(max))}
	}
	return d, nil
}

// fmtDuration prints a duration the way configuration writes it.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= 7*24*time.Hour && d%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%dw", d/(7*24*time.Hour))
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
