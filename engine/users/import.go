package users

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd/engine/store"
)

// ImportError locates a problem in an import file, so the operator can fix
// the line: "users.csv:7: unsupported hash scheme "$1$"".
type ImportError struct {
	File string // set by ParseCSVFile; empty for ParseCSV
	Line int
	Err  error
}

// Error reads "file:line: problem", as compilers do, so editors can jump there.
func (e *ImportError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap lets callers test the cause (ErrUnsupportedHash, *FieldError).
func (e *ImportError) Unwrap() error { return e.Err }

// The columns of an import file.
const (
	colName       = "name"
	colHash       = "password_hash"
	colEmail      = "email"
	colPhone      = "phone"
	colGroups     = "groups"
	colAttributes = "attributes"
)

var importColumns = []string{colName, colHash, colEmail, colPhone, colGroups, colAttributes}

// ParseCSVFile is ParseCSV on a file; errors name it as path:line.
func ParseCSVFile(path string) ([]*User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	us, err := ParseCSV(f)
	var ie *ImportError
	if errors.As(err, &ie) {
		ie.File = path
	}
	return us, err
}

// ParseCSV reads users to import (`authd user import`): a header row naming
// columns among name, password_hash, email, phone, groups (separated by
// ";") and attributes ("k=v;k2=v2"), in any order; only name is required.
// Hashes must be argon2id, bcrypt or sha512-crypt: an import moves existing
// accounts, it never takes plaintext passwords. Every row is validated and
// the first problem fails the whole file with an *ImportError, so an import
// is all or nothing. The users returned have no realm yet (see Import).
func ParseCSV(r io.Reader) ([]*User, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ImportError{Line: 1, Err: errors.New("empty file: want a header row naming the columns (name,password_hash,...)")}
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheets' byte order mark
		}
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "password":
			return nil, &ImportError{Line: 1, Err: errors.New(`unknown column "password": import takes password_hash, never plaintext passwords`)}
		case !slices.Contains(importColumns, h):
			return nil, &ImportError{Line: 1, Err: fmt.Errorf("unknown column %.40q (known: %s)", h, strings.Join(importColumns, ", "))}
		}
		if _, dup := col[h]; dup {
			return nil, &ImportError{Line: 1, Err: fmt.Errorf("column %q appears twice", h)}
		}
		col[h] = i
	}
	if _, ok := col[colName]; !ok {
		return nil, &ImportError{Line: 1, Err: errors.New(`no "name" column`)}
	}

	var users []*User
	lineOf := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return users, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		field := func(c string) string {
			if i, ok := col[c]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		u := &User{
			Name:         field(colName),
			PasswordHash: field(colHash),
			Email:        field(colEmail),
			Phone:        field(colPhone),
		}
		fail := func(err error) ([]*User, error) { return nil, &ImportError{Line: line, Err: err} }
		u.Groups = parseGroups(field(colGroups))
		if u.Attributes, err = parseAttributes(field(colAttributes)); err != nil {
			return fail(err)
		}
		if err := validateImported(u); err != nil {
			return fail(err)
		}
		if prev, dup := lineOf[u.Name]; dup {
			return fail(fmt.Errorf("user %q is also on line %d", u.Name, prev))
		}
		lineOf[u.Name] = line
		users = append(users, u)
	}
}

// csvError turns encoding/csv's error (which counts lines itself) into an
// *ImportError with the same line.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ImportError{Line: pe.Line, Err: pe.Err}
	}
	return err
}

func parseGroups(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ";") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

func parseAttributes(s string) (map[string]string, error) {
	var out map[string]string
	for _, kv := range strings.Split(s, ";") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errors.New(`attributes must be "key=value" pairs separated by ";"`)
		}
		if out == nil {
			out = map[string]string{}
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("attribute %.40q is set twice", k)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// validateImported is validate for a user without a realm yet.
func validateImported(u *User) error {
	c := *u
	c.Realm = "x"
	return validate(&c)
}

// Import adds users to realm in one transaction: either all are written or,
// if any is invalid or already exists (named in the error), none is.
// Created and Updated are set to now, and PasswordChanged too for a user
// with a password hash; lockout state starts clean.
func (r *Repo) Import(realm string, us []*User, now time.Time) (int, error) {
	if err := ValidateRealm(realm); err != nil {
		return 0, err
	}
	type rec struct {
		name string
		hash string
		data []byte
	}
	recs := make([]rec, 0, len(us))
	seen := make(map[string]bool, len(us))
	for _, u := range us {
		if u == nil {
			return 0, errors.New("users: Import of a nil user")
		}
		c := clone(u)
		c.Realm, c.Created, c.Updated, c.PasswordChanged = realm, now, now, time.Time{}
		if c.PasswordHash != "" {
			c.PasswordChanged = now
		}
		c.Failures, c.FirstFailure, c.LockedUntil = 0, time.Time{}, time.Time{}
		if err := validate(c); err != nil {
			return 0, fmt.Errorf("user %q: %w", c.Name, err)
		}
		if seen[c.Name] {
			return 0, fmt.Errorf("user %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		data, err := json.Marshal(c)
		if err != nil {
			return 0, fmt.Errorf("encoding user %q: %w", c.Name, err)
		}
		recs = append(recs, rec{c.Name, c.PasswordHash, data})
	}
	err := r.kv.Update(func(tx store.Tx) error {
		for _, rc := range recs {
			k := key(realm, rc.name)
			if tx.Get(bucket, k) != nil {
				return fmt.Errorf("user %q in realm %q: %w; nothing was imported", rc.name, realm, ErrExists)
			}
			if err := tx.Put(bucket, k, rc.data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	hashes := make([]string, len(recs))
	for i, rc := range recs {
		hashes[i] = rc.hash
	}
	r.noteHashes(realm, nil, hashes)
	return len(recs), nil
}
