package dsl

import (
	"fmt"
	"log/slog"
)

// Secret holds a secret value from env() or file() (or a literal, which
// validate warns about). Its value is reachable only through Value, so a
// Secret can sit in structs that get logged, printed with %+v or encoded
// as JSON without leaking.
type Secret struct {
	value  string
	source string // "env", "file", "literal" or "" when unset
	set    bool
}

const redacted = "[redacted]"

// newSecret wraps a value; source tells where it came from.
func newSecret(value, source string) Secret {
	return Secret{value: value, source: source, set: true}
}

// Value returns the secret itself, for the one place that needs it (a
// RADIUS authenticator, an HTTP Authorization header).
func (s Secret) Value() string { return s.value }

// IsSet reports whether the configuration gave the secret at all; an env()
// variable that was missing at validate time counts as set but empty.
func (s Secret) IsSet() bool { return s.set }

// Source says where the value came from ("env", "file", "literal", or ""
// when unset) without revealing it, for audit and `authd diff`.
func (s Secret) Source() string { return s.source }

// String never reveals the value.
func (s Secret) String() string {
	if !s.set {
		return ""
	}
	return redacted
}

// GoString never reveals the value, even under %#v.
func (s Secret) GoString() string { return "dsl.Secret(" + redacted + ")" }

// Format makes every fmt verb (%d and %x included) print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalJSON never reveals the value.
func (s Secret) MarshalJSON() ([]byte, error) {
	if !s.set {
		return []byte(`""`), nil
	}
	return []byte(`"` + redacted + `"`), nil
}

// MarshalText never reveals the value (YAML, TOML and map keys use it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps the value out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

var (
	_ fmt.Formatter  = Secret{}
	_ fmt.GoStringer = Secret{}
	_ slog.LogValuer = Secret{}
)
