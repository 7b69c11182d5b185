// Package wire is the device protocol of authd's push MFA, shared by the
// server (protocols/push) and the software authenticator
// (protocols/push/authenticator): the enrolment URI, the signed requests
// a device sends, and the JSON bodies.
//
// # Keys and signatures
//
// A device holds a P-256 key pair created at enrolment; the private key
// never leaves it. Every request a device makes is an ES256 JWT (RFC 7515
// compact form) signed with that key. Its claims always carry
//
//	use   what the token is for: "enroll", "respond" or "pending"
//	aud   the server's public URL as the device knows it
//	iat   issue time; exp: expiry, at most MaxLifetime after iat
//	jti   a random nonce
//	iss   the device id (absent on "enroll": the server assigns it)
//
// so a token made for one endpoint, one server or one moment is useless
// for another. An answer adds the message id (mid), the push's random
// challenge (chl), the decision (dec: "approve" or "deny"), the chosen
// number (num, for number matching) and the report flag (rep, "deny and
// report"). authd accepts an answer once: the pending → approved/denied
// flip is one store transaction, so a replay finds the push decided.
//
// # Enrolment
//
// push_registration shows
//
//	authd://enroll?v=1&url=PUBLIC_URL&realm=R&user=U&issuer=I&id=ENROLMENT_ID&secret=SECRET
//
// (as text and as a QR code). The device creates its key pair and posts an
// "enroll" token to PUBLIC_URL/api/v1/push/enroll carrying its public key
// (key: base64url PKIX DER), platform (apns, fcm, poll, webhook), push
// token, app id and name, plus prf = base64url(HMAC-SHA256(SECRET,
// "authd-enroll|" + ENROLMENT_ID + "|" + key)). The token is signed by
// the new key itself (proof of possession); prf proves knowledge of the
// one-time secret without sending it.
//
// # Pushes
//
// The notification sent through APNs or FCM carries only the message id
// and the reply URL, because Apple and Google can read push payloads. The
// device fetches the details (message, context, numbers, challenge) with a
// signed GET of /api/v1/push/pending, and answers with a signed POST of
// /api/v1/push/respond.
package wire

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// Endpoint paths, below the server's public URL.
const (
	PathEnroll  = "/api/v1/push/enroll"
	PathRespond = "/api/v1/push/respond"
	PathPending = "/api/v1/push/pending"
)

// Token uses.
const (
	UseEnroll  = "enroll"
	UseRespond = "respond"
	UsePending = "pending"
)

// Decisions.
const (
	Approve = "approve"
	Deny    = "deny"
)

// MaxLifetime bounds exp - iat of a device token; ClockSkew is how far
// in the future iat may be.
const (
	MaxLifetime = 5 * time.Minute
	ClockSkew   = time.Minute
	// MaxTokenBytes bounds a token before it is parsed.
	MaxTokenBytes = 8 << 10
)

// URIScheme is the scheme of enrolment URIs.
const URIScheme = "authd"

// Claims are the claims of every device token; which are set depends on
// Use.
type Claims struct {
	Use      string `json:"use"`
	Issuer   string `json:"iss,omitempty"`
	Audience string `json:"aud"`
	IssuedAt int64  `json:"iat"`
	Expires  int64  `json:"exp"`
	Nonce    string `json:"jti"`

	// respond
	MessageID string `json:"mid,omitempty"`
	Challenge string `json:"chl,omitempty"`
	Decision  string `json:"dec,omitempty"`
	Number    int    `json:"num,omitempty"`
	Report    bool   `json:"rep,omitempty"`

	// enroll
	Enrollment string `json:"eid,omitempty"`
	Proof      string `json:"prf,omitempty"`
	Key        string `json:"key,omitempty"`
	Platform   string `json:"platform,omitempty"`
	PushToken  string `json:"push_token,omitempty"`
	AppID      string `json:"app_id,omitempty"`
	Name       string `json:"name,omitempty"`
}

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid,omitempty"`
}

var b64 = base64.RawURLEncoding

// NewKey creates a device key pair.
func NewKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// EncodePublicKey is the key claim: base64url of the PKIX DER encoding.
func EncodePublicKey(k *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(der), nil
}

// ParsePublicKey reads a PKIX DER public key and insists on P-256.
func ParsePublicKey(der []byte) (*ecdsa.PublicKey, error) {
	pk, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("the public key is not PKIX DER")
	}
	ec, ok := pk.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("the public key is not a P-256 key")
	}
	return ec, nil
}

// Nonce returns a fresh random jti.
func Nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

// Sign makes a compact ES256 JWT of c signed by key; kid names the key
// (the device id, or "" at enrolment).
func Sign(key *ecdsa.PrivateKey, kid string, c *Claims) (string, error) {
	h, err := json.Marshal(header{Alg: "ES256", Typ: "JWT", Kid: kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig), nil
}

// Token is a parsed, not yet verified, device token.
type Token struct {
	Kid    string
	Claims Claims
	input  string
	sig    []byte
}

// ErrMalformed is a token that is not a compact ES256 JWT.
var ErrMalformed = errors.New("malformed token")

// ErrBadSignature is a token whose signature does not verify.
var ErrBadSignature = errors.New("bad signature")

// Parse splits and decodes a token without verifying it, so the server
// can find the key that must have signed it. Only ES256 is accepted.
func Parse(tok string) (*Token, error) {
	if len(tok) > MaxTokenBytes {
		return nil, ErrMalformed
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, ErrMalformed
	}
	hb, err1 := b64.DecodeString(parts[0])
	pb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(sig) != 64 {
		return nil, ErrMalformed
	}
	var h header
	if json.Unmarshal(hb, &h) != nil || h.Alg != "ES256" {
		return nil, ErrMalformed
	}
	t := &Token{Kid: h.Kid, input: parts[0] + "." + parts[1], sig: sig}
	if err := json.Unmarshal(pb, &t.Claims); err != nil {
		return nil, ErrMalformed
	}
	return t, nil
}

// Verify checks the signature with pub.
func (t *Token) Verify(pub *ecdsa.PublicKey) error {
	if pub == nil {
		return ErrBadSignature
	}
	digest := sha256.Sum256([]byte(t.input))
	r := new(big.Int).SetBytes(t.sig[:32])
	s := new(big.Int).SetBytes(t.sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return ErrBadSignature
	}
	return nil
}

// CheckTime checks iat and exp against now: not expired, not issued in the
// future beyond ClockSkew, and not valid for longer than MaxLifetime.
func (c *Claims) CheckTime(now time.Time) error {
	iat, exp := time.Unix(c.IssuedAt, 0), time.Unix(c.Expires, 0)
	switch {
	case c.IssuedAt == 0 || c.Expires == 0:
		return errors.New("iat and exp are required")
	case !now.Before(exp):
		return errors.New("the token expired")
	case iat.After(now.Add(ClockSkew)):
		return errors.New("the token was issued in the future (check the device's clock)")
	case exp.Sub(iat) > MaxLifetime:
		return fmt.Errorf("the token is valid for longer than %s", MaxLifetime)
	}
	return nil
}

// NewClaims fills the common claims for a token made at now.
func NewClaims(use, deviceID, audience string, now time.Time) *Claims {
	return &Claims{
		Use: use, Issuer: deviceID, Audience: audience,
		IssuedAt: now.Unix(), Expires: now.Add(time.Minute).Unix(), Nonce: Nonce(),
	}
}

// EnrollProof is the prf claim: HMAC-SHA256 of the enrolment id and the
// device's key under the one-time secret.
func EnrollProof(secret []byte, enrollmentID, key string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("authd-enroll|" + enrollmentID + "|" + key))
	return b64.EncodeToString(m.Sum(nil))
}

// CheckEnrollProof compares a prf claim in constant time.
func CheckEnrollProof(secret []byte, enrollmentID, key, proof string) bool {
	want := EnrollProof(secret, enrollmentID, key)
	return hmac.Equal([]byte(want), []byte(proof))
}

// EnrollURI is a parsed enrolment URI.
type EnrollURI struct {
	URL    string // the server's public URL
	Realm  string
	User   string
	Issuer string
	ID     string
	Secret []byte
}

// String formats the URI.
func (e *EnrollURI) String() string {
	q := url.Values{}
	q.Set("v", "1")
	q.Set("url", e.URL)
	q.Set("realm", e.Realm)
	if e.User != "" {
		q.Set("user", e.User)
	}
	if e.Issuer != "" {
		q.Set("issuer", e.Issuer)
	}
	q.Set("id", e.ID)
	q.Set("secret", b64.EncodeToString(e.Secret))
	return URIScheme + "://enroll?" + q.Encode()
}

// ParseEnrollURI reads an enrolment URI.
func ParseEnrollURI(s string) (*EnrollURI, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme != URIScheme || u.Host != "enroll" {
		return nil, errors.New("not an authd enrolment URI (authd://enroll?...)")
	}
	q := u.Query()
	if v := q.Get("v"); v != "" && v != "1" {
		return nil, fmt.Errorf("enrolment URI version %q is not supported", v)
	}
	e := &EnrollURI{URL: strings.TrimRight(q.Get("url"), "/"), Realm: q.Get("realm"), User: q.Get("user"), Issuer: q.Get("issuer"), ID: q.Get("id")}
	secret, err := b64.DecodeString(q.Get("secret"))
	if err != nil || len(secret) < 16 {
		return nil, errors.New("the enrolment URI's secret is missing or malformed")
	}
	e.Secret = secret
	su, err := url.Parse(e.URL)
	if err != nil || (su.Scheme != "https" && su.Scheme != "http") || su.Host == "" {
		return nil, errors.New("the enrolment URI's url is not an http(s) URL")
	}
	if e.Realm == "" || e.ID == "" {
		return nil, errors.New("the enrolment URI lacks realm or id")
	}
	return e, nil
}

// Bodies of the device endpoints.
type (
	// EnrollRequest is the body of POST /api/v1/push/enroll.
	EnrollRequest struct {
		Request string `json:"request"`
	}
	// EnrollResponse is its answer.
	EnrollResponse struct {
		DeviceID string `json:"device_id"`
		Realm    string `json:"realm"`
		User     string `json:"user"`
		Issuer   string `json:"issuer,omitempty"`
		// Replaced counts devices this one replaced (override_allowed).
		Replaced int `json:"replaced,omitempty"`
	}
	// RespondRequest is the body of POST /api/v1/push/respond.
	RespondRequest struct {
		Answer string `json:"answer"`
	}
	// RespondResponse is its answer.
	RespondResponse struct {
		MessageID string `json:"message_id"`
		Status    string `json:"status"` // approved | denied
		Reason    string `json:"reason,omitempty"`
	}
	// PendingResponse is the answer of GET /api/v1/push/pending.
	PendingResponse struct {
		Pushes []PendingPush `json:"pushes"`
	}
	// PendingPush is what a device shows the user about one push.
	PendingPush struct {
		MessageID string            `json:"message_id"`
		Realm     string            `json:"realm"`
		User      string            `json:"user"`
		Issuer    string            `json:"issuer,omitempty"`
		Type      string            `json:"type"` // tap | challenge | biometric
		Challenge string            `json:"challenge"`
		Message   string            `json:"message"`
		Context   map[string]string `json:"context,omitempty"`
		Numbers   []int             `json:"numbers,omitempty"`
		Custom    json.RawMessage   `json:"custom,omitempty"`
		Created   time.Time         `json:"created"`
		Expires   time.Time         `json:"expires"`
		ReplyURL  string            `json:"reply_url"`
	}
	// Notification is what APNs, FCM and webhooks carry: the message id
	// and where to fetch and answer, nothing Apple or Google should read.
	Notification struct {
		MessageID string `json:"mid"`
		URL       string `json:"url"`
		Realm     string `json:"realm,omitempty"`
	}
	// Error is the body of every 4xx/5xx answer of the device endpoints.
	Error struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
)
