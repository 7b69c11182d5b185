package users

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on stored fields. Names end up in keys, logs, audit lines and
// RADIUS attributes, so they are bounded and free of control characters
// (which could forge log lines or, for NUL, break the realm/name key).
const (
	MaxNameLen      = 128 // user, realm, group and attribute names, in bytes
	maxEmailLen     = 254
	maxPhoneLen     = 32
	maxAttrValueLen = 1024
	maxAttributes   = 64
	maxGroups       = 256
)

// FieldError says which field of a user is invalid and why; the value is
// left out, since the caller has it and it may be long or unprintable.
type FieldError struct {
	Field   string // "user name", "realm", "email", "phone", "group", "attribute"
	Problem string
}

// Error reads as a sentence: "user name is empty".
func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

// ValidateName checks a user name: 1 to 128 bytes of UTF-8 without control
// characters and without leading or trailing spaces (which would make
// "alice" and "alice " two accounts that look the same).
func ValidateName(name string) error { return checkName("user name", name) }

// ValidateRealm checks a realm name with the same rules as user names.
func ValidateRealm(realm string) error { return checkName("realm", realm) }

func checkName(field, s string) error {
	if s == "" {
		return &FieldError{field, "is empty"}
	}
	if len(s) > MaxNameLen {
		return &FieldError{field, "is longer than 128 bytes"}
	}
	if strings.TrimSpace(s) != s {
		return &FieldError{field, "has leading or trailing spaces"}
	}
	return checkText(field, s)
}

func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return &FieldError{field, "is not valid UTF-8"}
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return &FieldError{field, "contains a control character"}
		}
	}
	return nil
}

// validate checks every field of u before it is stored.
func validate(u *User) error {
	if err := ValidateRealm(u.Realm); err != nil {
		return err
	}
	if err := ValidateName(u.Name); err != nil {
		return err
	}
	if u.Email != "" {
		if len(u.Email) > maxEmailLen {
			return &FieldError{"email", "is longer than 254 bytes"}
		}
		if err := checkText("email", u.Email); err != nil {
			return err
		}
		if strings.ContainsFunc(u.Email, unicode.IsSpace) || !strings.Contains(u.Email, "@") {
			return &FieldError{"email", "is not an address (name@domain)"}
		}
	}
	if u.Phone != "" {
		if len(u.Phone) > maxPhoneLen {
			return &FieldError{"phone", "is longer than 32 bytes"}
		}
		digits := 0
		for i, r := range u.Phone {
			switch {
			case r >= '0' && r <= '9':
				digits++
			case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
			default:
				return &FieldError{"phone", "may hold only digits, a leading +, spaces and - . ( )"}
			}
		}
		if digits < 3 {
			return &FieldError{"phone", "has fewer than 3 digits"}
		}
	}
	if len(u.Groups) > maxGroups {
		return &FieldError{"groups", "are more than 256"}
	}
	seen := make(map[string]bool, len(u.Groups))
	for _, g := range u.Groups {
		if err := checkName("group", g); err != nil {
			return err
		}
		if strings.Contains(g, ";") {
			return &FieldError{"group", "contains ';' (the separator of the import format)"}
		}
		if seen[g] {
			return &FieldError{"group", "is listed twice"}
		}
		seen[g] = true
	}
	if len(u.Attributes) > maxAttributes {
		return &FieldError{"attributes", "are more than 64"}
	}
	for k, v := range u.Attributes {
		if err := checkName("attribute name", k); err != nil {
			return err
		}
		if strings.ContainsAny(k, "=;") {
			return &FieldError{"attribute name", "contains '=' or ';' (separators of the import format)"}
		}
		if len(v) > maxAttrValueLen {
			return &FieldError{"attribute value", "is longer than 1024 bytes"}
		}
		if err := checkText("attribute value", v); err != nil {
			return err
		}
	}
	if u.PasswordHash != "" {
		if err := CheckHashFormat(u.PasswordHash); err != nil {
			return err
		}
	}
	return nil
}
