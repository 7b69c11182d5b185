// Package authenticator is a software push authenticator: it enrols with
// an authd server through an enrolment URI, keeps its P-256 device keys in
// a local state file, fetches pending pushes with signed requests and
// answers them. `authd authenticator` is a thin command line over it, and
// the push tests drive the same code, so what the quick start shows is
// what is tested.
//
// It speaks the device protocol of package wire with the `poll` platform
// (it has no APNs or FCM token), so it needs no outside service: the
// realm must list a push_provider "poll".
package authenticator

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd/protocols/push/wire"
)

// StateVersion is the layout version of the state file.
const StateVersion = 1

// State is the authenticator's state file: its enrolled accounts and their
// private keys. It is written with mode 0600.
type State struct {
	Version  int        `json:"version"`
	Accounts []*Account `json:"accounts"`
	// OTP are one-time-password tokens (otpauth:// URIs) for
	// `authd authenticator code`.
	OTP []*OTPToken `json:"otp,omitempty"`
}

// OTPToken is one TOTP/HOTP token; its URI holds the secret.
type OTPToken struct {
	URI     string `json:"uri"`
	Issuer  string `json:"issuer,omitempty"`
	Account string `json:"account,omitempty"`
	// Counter is the next HOTP counter.
	Counter uint64    `json:"counter,omitempty"`
	Added   time.Time `json:"added"`
}

// AddOTP stores a token, replacing one of the same issuer and account.
func (s *State) AddOTP(uri, issuer, account string, counter uint64) {
	t := &OTPToken{URI: uri, Issuer: issuer, Account: account, Counter: counter, Added: time.Now().UTC()}
	for i, o := range s.OTP {
		if o.Issuer == issuer && o.Account == account {
			s.OTP[i] = t
			return
		}
	}
	s.OTP = append(s.OTP, t)
}

// Account is one enrolment: a device of one user on one server.
type Account struct {
	Server   string    `json:"server"`
	Realm    string    `json:"realm"`
	User     string    `json:"user"`
	Issuer   string    `json:"issuer,omitempty"`
	DeviceID string    `json:"device_id"`
	Platform string    `json:"platform"`
	Key      string    `json:"key"` // base64 PKCS#8 DER of the P-256 private key
	Enrolled time.Time `json:"enrolled"`

	key *ecdsa.PrivateKey
}

// Label names the account for people: "alice@corp (Example Corp)".
func (a *Account) Label() string {
	l := a.User + "@" + a.Realm
	if a.Issuer != "" {
		l += " (" + a.Issuer + ")"
	}
	return l
}

// PrivateKey decodes the account's key.
func (a *Account) PrivateKey() (*ecdsa.PrivateKey, error) {
	if a.key != nil {
		return a.key, nil
	}
	der, err := base64.StdEncoding.DecodeString(a.Key)
	if err != nil {
		return nil, fmt.Errorf("account %s: the key is not base64", a.Label())
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("account %s: the key is not PKCS#8", a.Label())
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("account %s: the key is not an ECDSA key", a.Label())
	}
	a.key = ec
	return ec, nil
}

// Load reads a state file; a missing file is an empty state. A file that
// others can read is refused, since it holds private keys.
func Load(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &State{Version: StateVersion}, nil
	}
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by other users (mode %#o) and holds private keys: chmod 600 it", path, fi.Mode().Perm())
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s is not an authenticator state file: %v", path, err)
	}
	if s.Version > StateVersion {
		return nil, fmt.Errorf("%s was written by a newer authd (version %d)", path, s.Version)
	}
	return &s, nil
}

// Save writes the state file atomically with mode 0600.
func (s *State) Save(path string) error {
	s.Version = StateVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".authd-authenticator-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Add stores a (or replaces the account of the same server, realm and
// user, which the server replaced too when it let the enrolment through).
func (s *State) Add(a *Account) {
	for i, b := range s.Accounts {
		if b.Server == a.Server && b.Realm == a.Realm && b.User == a.User {
			s.Accounts[i] = a
			return
		}
	}
	s.Accounts = append(s.Accounts, a)
}

// ServerError is a refusal by the server, with its error code.
type ServerError struct {
	Status  int
	Code    string
	Message string
}

func (e *ServerError) Error() string {
	switch {
	case e.Message == "":
		return fmt.Sprintf("server answered %d %s", e.Status, e.Code)
	case strings.Contains(e.Message, strings.ReplaceAll(e.Code, "_", " ")):
		return e.Message // "the enrolment code expired", not "... (expired)"
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// Client talks to authd servers.
type Client struct {
	// HTTP is the client used (default: one with a 45 s timeout).
	HTTP *http.Client
	// Now is the clock of the tokens (default time.Now).
	Now func() time.Time
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 45 * time.Second}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// EnrollOptions describe the device to enrol; the zero value is a `poll`
// device named "authd authenticator".
type EnrollOptions struct {
	Platform  string // default "poll"
	PushToken string
	AppID     string
	Name      string
}

// Enroll enrols a new device with the enrolment URI and returns its
// account (with its fresh private key).
func (c *Client) Enroll(ctx context.Context, uri string, o EnrollOptions) (*Account, error) {
	e, err := wire.ParseEnrollURI(uri)
	if err != nil {
		return nil, err
	}
	if o.Platform == "" {
		o.Platform = "poll"
	}
	if o.Name == "" {
		o.Name = "authd authenticator"
	}
	key, err := wire.NewKey()
	if err != nil {
		return nil, err
	}
	pub, err := wire.EncodePublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	cl := wire.NewClaims(wire.UseEnroll, "", e.URL, c.now())
	cl.Enrollment, cl.Key, cl.Proof = e.ID, pub, wire.EnrollProof(e.Secret, e.ID, pub)
	cl.Platform, cl.PushToken, cl.AppID, cl.Name = o.Platform, o.PushToken, o.AppID, o.Name
	tok, err := wire.Sign(key, "", cl)
	if err != nil {
		return nil, err
	}
	var out wire.EnrollResponse
	if err := c.do(ctx, http.MethodPost, e.URL+wire.PathEnroll, "", wire.EnrollRequest{Request: tok}, &out); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Account{
		Server: e.URL, Realm: out.Realm, User: out.User, Issuer: out.Issuer, DeviceID: out.DeviceID,
		Platform: o.Platform, Key: base64.StdEncoding.EncodeToString(der), Enrolled: c.now().UTC(), key: key,
	}, nil
}

// Pending fetches the pushes pending for the account's device; with wait
// > 0 the server holds the request until one arrives (at most 30 s).
func (c *Client) Pending(ctx context.Context, a *Account, wait time.Duration) ([]wire.PendingPush, error) {
	key, err := a.PrivateKey()
	if err != nil {
		return nil, err
	}
	tok, err := wire.Sign(key, a.DeviceID, wire.NewClaims(wire.UsePending, a.DeviceID, a.Server, c.now()))
	if err != nil {
		return nil, err
	}
	u := a.Server + wire.PathPending
	if wait > 0 {
		u += "?wait=" + strconv.Itoa(int(wait.Round(time.Second)/time.Second))
	}
	var out wire.PendingResponse
	if err := c.do(ctx, http.MethodGet, u, tok, nil, &out); err != nil {
		return nil, err
	}
	return out.Pushes, nil
}

// Answer is a decision about one push.
type Answer struct {
	Approve bool
	// Number is the number picked, for challenge pushes.
	Number int
	// Report marks a denial as "this was not me".
	Report bool
}

// Respond answers push p for the account with a signed answer.
func (c *Client) Respond(ctx context.Context, a *Account, p wire.PendingPush, ans Answer) (*wire.RespondResponse, error) {
	tok, err := c.AnswerToken(a, p, ans)
	if err != nil {
		return nil, err
	}
	var out wire.RespondResponse
	if err := c.do(ctx, http.MethodPost, a.Server+wire.PathRespond, "", wire.RespondRequest{Answer: tok}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AnswerToken signs an answer without sending it (tests replay it).
func (c *Client) AnswerToken(a *Account, p wire.PendingPush, ans Answer) (string, error) {
	key, err := a.PrivateKey()
	if err != nil {
		return "", err
	}
	cl := wire.NewClaims(wire.UseRespond, a.DeviceID, a.Server, c.now())
	cl.MessageID, cl.Challenge, cl.Number, cl.Report = p.MessageID, p.Challenge, ans.Number, ans.Report
	cl.Decision = wire.Deny
	if ans.Approve {
		cl.Decision = wire.Approve
	}
	return wire.Sign(key, a.DeviceID, cl)
}

// PostAnswer sends a raw answer token.
func (c *Client) PostAnswer(ctx context.Context, server, tok string) (*wire.RespondResponse, error) {
	var out wire.RespondResponse
	if err := c.do(ctx, http.MethodPost, strings.TrimRight(server, "/")+wire.PathRespond, "", wire.RespondRequest{Answer: tok}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) do(ctx context.Context, method, u, bearer string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("User-Agent", "authd-authenticator")
	resp, err := c.http().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %v", ue.URL, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e wire.Error
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return &ServerError{Status: resp.StatusCode, Code: e.Error, Message: e.Message}
		}
		return &ServerError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s answered something that is not the expected JSON", u)
	}
	return nil
}
