package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/authd/authd/engine/users"
)

// The user operations' arguments and results. They are the wire format of
// user.* ops; fields only grow.
type (
	// UserRef names one user.
	UserRef struct {
		Realm string `json:"realm"`
		Name  string `json:"name"`
	}
	// UserAddArgs are the arguments of user.add.
	UserAddArgs struct {
		Realm      string            `json:"realm"`
		Name       string            `json:"name"`
		Email      string            `json:"email,omitempty"`
		Phone      string            `json:"phone,omitempty"`
		Groups     []string          `json:"groups,omitempty"`
		Attributes map[string]string `json:"attributes,omitempty"`
		Password   string            `json:"password"`
	}
	// UserPasswdArgs are the arguments of user.passwd.
	UserPasswdArgs struct {
		Realm    string `json:"realm"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	// UserListArgs are the arguments of user.list.
	UserListArgs struct {
		Realm string `json:"realm"`
	}
	// UserImportArgs are the arguments of user.import: the CSV file's bytes
	// (parsed by the server, so both paths read it the same way).
	UserImportArgs struct {
		Realm string `json:"realm"`
		File  string `json:"file,omitempty"` // for messages only
		CSV   []byte `json:"csv"`
	}
	// ImportResult is the answer of user.import.
	ImportResult struct {
		Read     int `json:"read"`
		Imported int `json:"imported"`
	}
	// UserInfo is a user as listed: everything but the password hash.
	UserInfo struct {
		Realm       string            `json:"realm"`
		Name        string            `json:"name"`
		Email       string            `json:"email,omitempty"`
		Phone       string            `json:"phone,omitempty"`
		Groups      []string          `json:"groups,omitempty"`
		Attributes  map[string]string `json:"attributes,omitempty"`
		HasPassword bool              `json:"has_password"`
		Locked      bool              `json:"locked"`
		LockedUntil *time.Time        `json:"locked_until,omitempty"`
		Failures    int               `json:"failures,omitempty"`
		Created     time.Time         `json:"created"`
		Updated     time.Time         `json:"updated"`
		// PasswordChanged is when the password was last set: grants and
		// SSO sessions signed in before it are refused. Absent for users
		// stored before authd recorded it.
		PasswordChanged *time.Time `json:"password_changed,omitempty"`
	}
	// UserLookup is the answer of user.get: whether the user exists, and
	// if so the user as listed. A missing user is not an error, so a client
	// can check before it asks for a password.
	UserLookup struct {
		Found bool      `json:"found"`
		User  *UserInfo `json:"user,omitempty"`
	}
	// OK is the empty answer of ops that return nothing.
	OK struct{}
)

// UserService implements the user.* ops over a users.Repo. The same
// service runs inside `authd run` (behind the socket) and inside the CLI
// (Local) when it opens the store itself.
type UserService struct {
	Repo *users.Repo
	// Realms lists the realms users may be added to; nil means "not
	// checked" (no configuration is known).
	Realms func() []string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Register adds user.get, user.add, user.list, user.passwd, user.delete,
// user.unlock and user.import to m.
func (s *UserService) Register(m *Mux) {
	m.Handle("user.get", Typed(s.get))
	m.Handle("user.add", Typed(s.add))
	m.Handle("user.list", Typed(s.list))
	m.Handle("user.passwd", Typed(s.passwd))
	m.Handle("user.delete", Typed(s.delete))
	m.Handle("user.unlock", Typed(s.unlock))
	m.Handle("user.import", Typed(s.importCSV))
}

func (s *UserService) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}

// checkRealm rejects realms the configuration does not declare, with a
// "did you mean".
func (s *UserService) checkRealm(realm string) error {
	if realm == "" {
		return Errorf(CodeInvalid, "a realm is required (-realm)")
	}
	if s.Realms == nil {
		return nil
	}
	known := s.Realms()
	for _, r := range known {
		if r == realm {
			return nil
		}
	}
	if len(known) == 0 {
		return Errorf(CodeNotFound, "unknown realm %q: the configuration declares no realm", realm)
	}
	sort.Strings(known)
	if best := DidYouMean(realm, known); best != "" {
		return Errorf(CodeNotFound, "unknown realm %q; did you mean %q?", realm, best)
	}
	return Errorf(CodeNotFound, "unknown realm %q (the configuration declares %s)", realm, quoteList(known))
}

// CheckUserName applies the store's rules for user names (1 to 128 bytes
// of UTF-8, no control characters, no surrounding spaces) early, so a
// command fails before it asks for a password.
func CheckUserName(name string) error {
	if err := users.ValidateName(name); err != nil {
		if name == "" {
			return Errorf(CodeInvalid, "a user name is required")
		}
		return Errorf(CodeInvalid, "%v: %q", err, name)
	}
	return nil
}

func (s *UserService) ref(realm, name string) error {
	if err := s.checkRealm(realm); err != nil {
		return err
	}
	return CheckUserName(name)
}

func notFound(err error, realm, name string) error {
	if errors.Is(err, users.ErrNotFound) {
		return Errorf(CodeNotFound, "no user %q in realm %q", name, realm)
	}
	if errors.Is(err, users.ErrExists) {
		return Errorf(CodeExists, "user %q already exists in realm %q", name, realm)
	}
	return err
}

func (s *UserService) add(_ context.Context, a UserAddArgs) (OK, error) {
	if err := s.ref(a.Realm, a.Name); err != nil {
		return OK{}, err
	}
	if a.Password == "" {
		return OK{}, Errorf(CodeInvalid, "the password is empty")
	}
	for k := range a.Attributes {
		if k == "" {
			return OK{}, Errorf(CodeInvalid, "an attribute needs a name (-attr key=value)")
		}
	}
	// Fail fast on a duplicate: hashing costs a tenth of a second of two
	// cores. Create checks again in its transaction.
	if _, err := s.Repo.Get(a.Realm, a.Name); err == nil {
		return OK{}, notFound(users.ErrExists, a.Realm, a.Name)
	}
	hash, err := users.HashPassword(a.Password)
	if err != nil {
		return OK{}, err
	}
	now := s.now()
	u := &users.User{
		Realm: a.Realm, Name: a.Name, Email: a.Email, Phone: a.Phone,
		Groups: dedupe(a.Groups), Attributes: a.Attributes, PasswordHash: hash,
		Created: now, Updated: now,
	}
	return OK{}, notFound(s.Repo.Create(u), a.Realm, a.Name)
}

func (s *UserService) get(_ context.Context, a UserRef) (UserLookup, error) {
	if err := s.ref(a.Realm, a.Name); err != nil {
		return UserLookup{}, err
	}
	u, err := s.Repo.Get(a.Realm, a.Name)
	if errors.Is(err, users.ErrNotFound) {
		return UserLookup{}, nil
	}
	if err != nil {
		return UserLookup{}, err
	}
	info := s.info(u, s.now())
	return UserLookup{Found: true, User: &info}, nil
}

func (s *UserService) info(u *users.User, now time.Time) UserInfo {
	info := UserInfo{
		Realm: u.Realm, Name: u.Name, Email: u.Email, Phone: u.Phone,
		Groups: u.Groups, Attributes: u.Attributes, HasPassword: u.PasswordHash != "",
		Locked: u.Locked(now), Failures: u.Failures, Created: u.Created, Updated: u.Updated,
	}
	if info.Locked {
		t := u.LockedUntil
		info.LockedUntil = &t
	}
	if !u.PasswordChanged.IsZero() {
		t := u.PasswordChanged
		info.PasswordChanged = &t
	}
	return info
}

func (s *UserService) list(_ context.Context, a UserListArgs) ([]UserInfo, error) {
	if err := s.checkRealm(a.Realm); err != nil {
		return nil, err
	}
	us, err := s.Repo.List(a.Realm)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]UserInfo, 0, len(us))
	for _, u := range us {
		out = append(out, s.info(u, now))
	}
	return out, nil
}

func (s *UserService) passwd(_ context.Context, a UserPasswdArgs) (OK, error) {
	if err := s.ref(a.Realm, a.Name); err != nil {
		return OK{}, err
	}
	if a.Password == "" {
		return OK{}, Errorf(CodeInvalid, "the password is empty")
	}
	return OK{}, notFound(s.Repo.SetPassword(a.Realm, a.Name, a.Password, s.now()), a.Realm, a.Name)
}

func (s *UserService) delete(_ context.Context, a UserRef) (OK, error) {
	if err := s.ref(a.Realm, a.Name); err != nil {
		return OK{}, err
	}
	return OK{}, notFound(s.Repo.Delete(a.Realm, a.Name), a.Realm, a.Name)
}

func (s *UserService) unlock(_ context.Context, a UserRef) (OK, error) {
	if err := s.ref(a.Realm, a.Name); err != nil {
		return OK{}, err
	}
	return OK{}, notFound(s.Repo.Unlock(a.Realm, a.Name), a.Realm, a.Name)
}

func (s *UserService) importCSV(_ context.Context, a UserImportArgs) (ImportResult, error) {
	if err := s.checkRealm(a.Realm); err != nil {
		return ImportResult{}, err
	}
	name := a.File
	if name == "" {
		name = "the CSV file"
	}
	us, err := users.ParseCSV(bytes.NewReader(a.CSV))
	if err != nil {
		var ie *users.ImportError
		if errors.As(err, &ie) {
			ie.File = name // "users.csv:7: ..."
			return ImportResult{}, Errorf(CodeInvalid, "%v", ie)
		}
		return ImportResult{}, Errorf(CodeInvalid, "%s: %v", name, err)
	}
	n, err := s.Repo.Import(a.Realm, us, s.now())
	if err != nil {
		return ImportResult{Read: len(us), Imported: n}, wrapCode(err, "%s: %v", name, err)
	}
	return ImportResult{Read: len(us), Imported: n}, nil
}

// wrapCode formats a new message for err while keeping the code toError
// would give it.
func wrapCode(err error, format string, args ...any) error {
	return &Error{Code: toError(err).Code, Message: fmt.Sprintf(format, args...)}
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// DidYouMean returns the candidate closest to s when it is close enough to
// be a likely typo (edit distance at most a third of its length, and at
// least 1), else "".
func DidYouMean(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, len(s)/3)
	if bestD >= 0 && bestD <= limit {
		return best
	}
	return ""
}

// levenshtein is the optimal-string-alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours ("crop" is one
// step from "corp") each cost 1.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
