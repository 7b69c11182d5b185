package mfa

import (
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"
)

// Token types.
const (
	TypeTOTP = "totp" // RFC 6238: the code changes every Period
	TypeHOTP = "hotp" // RFC 4226: the code changes on every button press
)

// Params describe a token: what the authenticator app computes. The zero
// value is the Google Authenticator-compatible default: TOTP, SHA1, 6 digits,
// 30 seconds.
type Params struct {
	Type      string        // TypeTOTP (default) or TypeHOTP
	Algorithm string        // "SHA1" (default), "SHA256" or "SHA512"
	Digits    int           // 6 (default) or 8
	Period    time.Duration // TOTP time step (default 30s), whole seconds
}

// DefaultPeriod is the TOTP time step of RFC 6238 and of every app.
const DefaultPeriod = 30 * time.Second

// withDefaults fills in the zero fields and checks the rest.
func (p Params) withDefaults() (Params, error) {
	p.Type = strings.ToLower(p.Type)
	if p.Type == "" {
		p.Type = TypeTOTP
	}
	if p.Type != TypeTOTP && p.Type != TypeHOTP {
		return p, fmt.Errorf("token type must be totp or hotp, not %q", p.Type)
	}
	p.Algorithm = strings.ToUpper(p.Algorithm)
	if p.Algorithm == "" {
		p.Algorithm = "SHA1"
	}
	if _, err := algorithm(p.Algorithm); err != nil {
		return p, err
	}
	if p.Digits == 0 {
		p.Digits = 6
	}
	if p.Digits != 6 && p.Digits != 8 {
		return p, fmt.Errorf("digits must be 6 or 8, not %d", p.Digits)
	}
	if p.Type == TypeHOTP {
		p.Period = 0
		return p, nil
	}
	if p.Period == 0 {
		p.Period = DefaultPeriod
	}
	if p.Period < time.Second || p.Period > time.Hour || p.Period%time.Second != 0 {
		return p, fmt.Errorf("period must be whole seconds between 1s and 1h, not %s", p.Period)
	}
	return p, nil
}

func algorithm(name string) (otp.Algorithm, error) {
	switch strings.ToUpper(name) {
	case "SHA1":
		return otp.AlgorithmSHA1, nil
	case "SHA256":
		return otp.AlgorithmSHA256, nil
	case "SHA512":
		return otp.AlgorithmSHA512, nil
	}
	return 0, fmt.Errorf("algorithm must be SHA1, SHA256 or SHA512, not %q", name)
}

// secretSize is the key length RFC 6238's test vectors use for each HMAC:
// the hash's output size, the length RFC 4226 recommends.
func secretSize(alg string) int {
	switch alg {
	case "SHA256":
		return 32
	case "SHA512":
		return 64
	}
	return 20
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// code computes the code of secret for counter (a TOTP time step or an
// HOTP counter). p must have its defaults.
func code(p Params, secret []byte, counter uint64) (string, error) {
	alg, err := algorithm(p.Algorithm)
	if err != nil {
		return "", err
	}
	return hotp.GenerateCodeCustom(b32.EncodeToString(secret), counter, hotp.ValidateOpts{
		Digits: otp.Digits(p.Digits), Algorithm: alg,
	})
}

// step is the TOTP time step at t.
func step(p Params, t time.Time) int64 {
	s := int64(p.Period / time.Second)
	u := t.Unix()
	if u < 0 {
		return -1 // before 1970: no valid step
	}
	return u / s
}

// buildURI renders the otpauth:// URI (Google's Key Uri Format) an app
// enrols from. The issuer prefixes the label, so a colon in it would split
// the label wrongly; it is replaced there and in the issuer parameter.
func buildURI(p Params, secret []byte, issuer, account string) (string, error) {
	issuer = strings.TrimSpace(strings.ReplaceAll(issuer, ":", " "))
	if issuer == "" {
		issuer = "authd"
	}
	alg, err := algorithm(p.Algorithm)
	if err != nil {
		return "", err
	}
	var k *otp.Key
	if p.Type == TypeHOTP {
		k, err = hotp.Generate(hotp.GenerateOpts{
			Issuer: issuer, AccountName: account, Secret: secret,
			Digits: otp.Digits(p.Digits), Algorithm: alg,
		})
	} else {
		k, err = totp.Generate(totp.GenerateOpts{
			Issuer: issuer, AccountName: account, Secret: secret,
			Period: uint(p.Period / time.Second), Digits: otp.Digits(p.Digits), Algorithm: alg,
		})
	}
	if err != nil {
		return "", err
	}
	uri := k.String()
	if p.Type == TypeHOTP {
		uri += "&counter=0" // required for hotp by the Key Uri Format
	}
	return uri, nil
}

// URIKey is a token as an authenticator holds it, parsed from its
// otpauth:// URI. It lets a software authenticator (`authd authenticator
// code`) compute the same codes an app would, with the same code as the
// server, so the two cannot drift apart.
type URIKey struct {
	Params
	Issuer  string
	Account string
	// Counter is the next HOTP counter (the URI's counter parameter).
	Counter uint64
	secret  []byte
}

// ParseURI reads an otpauth://totp/... or otpauth://hotp/... URI. Errors
// never quote the URI: it carries the secret.
func ParseURI(uri string) (*URIKey, error) {
	u, err := url.Parse(strings.TrimSpace(uri))
	if err != nil || u.Scheme != "otpauth" {
		return nil, errors.New("not an otpauth:// URI")
	}
	k, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return nil, errors.New("not an otpauth:// URI")
	}
	q := u.Query()
	p := Params{Type: strings.ToLower(u.Host), Algorithm: q.Get("algorithm"), Digits: 6}
	if d := q.Get("digits"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 6 || n > 8 {
			return nil, errors.New("otpauth URI: digits must be 6, 7 or 8")
		}
		p.Digits = n
	}
	if p.Type == TypeTOTP {
		p.Period = DefaultPeriod
		if s := q.Get("period"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 3600 {
				return nil, errors.New("otpauth URI: period must be 1 to 3600 seconds")
			}
			p.Period = time.Duration(n) * time.Second
		}
	}
	if p.Type != TypeTOTP && p.Type != TypeHOTP {
		return nil, errors.New("otpauth URI: the type must be totp or hotp")
	}
	digits := p.Digits
	p.Digits = 6 // withDefaults knows 6 and 8 only; apps also use 7
	if p, err = p.withDefaults(); err != nil {
		// Its message would quote the parameter, which a garbled URI may
		// have filled with the secret.
		return nil, errors.New("otpauth URI: the algorithm must be SHA1, SHA256 or SHA512")
	}
	p.Digits = digits
	s := strings.ToUpper(strings.TrimRight(strings.TrimSpace(q.Get("secret")), "="))
	secret, err := b32.DecodeString(s)
	if err != nil || len(secret) == 0 {
		return nil, errors.New("otpauth URI: the secret is missing or not base32")
	}
	key := &URIKey{Params: p, Issuer: k.Issuer(), Account: k.AccountName(), secret: secret}
	if p.Type == TypeHOTP {
		if c := q.Get("counter"); c != "" {
			n, err := strconv.ParseUint(c, 10, 64)
			if err != nil {
				return nil, errors.New("otpauth URI: counter is not a number")
			}
			key.Counter = n
		}
	}
	return key, nil
}

// Code is the code the token shows at t: the TOTP code of t's time step,
// or the HOTP code of k.Counter (t is ignored).
func (k *URIKey) Code(t time.Time) (string, error) {
	if k.Type == TypeHOTP {
		return k.CodeAt(k.Counter)
	}
	s := step(k.Params, t)
	if s < 0 {
		return "", errors.New("the clock is before 1970")
	}
	return k.CodeAt(uint64(s))
}

// CodeAt is the code of one counter value (an HOTP counter or a TOTP time
// step), for tests and for authenticators that keep their own counter.
func (k *URIKey) CodeAt(counter uint64) (string, error) {
	return code(k.Params, k.secret, counter)
}

// Remaining is how long the TOTP code of t stays current (0 for HOTP), so
// an authenticator can say "valid for 12 s".
func (k *URIKey) Remaining(t time.Time) time.Duration {
	if k.Type != TypeTOTP {
		return 0
	}
	s := step(k.Params, t)
	end := time.Unix((s+1)*int64(k.Period/time.Second), 0)
	return end.Sub(t)
}

// CodeFromURI is the code an authenticator app holding uri shows at t
// (for HOTP, the code of the URI's counter): the helper behind
// `authd authenticator code`.
func CodeFromURI(uri string, t time.Time) (string, error) {
	k, err := ParseURI(uri)
	if err != nil {
		return "", err
	}
	return k.Code(t)
}

// QRCodePNG renders uri as a PNG QR code of size pixels, for enrolment
// pages and `authd otp enroll -qr`. The image holds the secret: write it
// only where the URI itself may go.
func QRCodePNG(uri string, size int) ([]byte, error) {
	if size < 64 || size > 2048 {
		return nil, fmt.Errorf("QR code size must be 64 to 2048 pixels, not %d", size)
	}
	return qrcode.Encode(uri, qrcode.Medium, size)
}

// normalizeCode strips what people type around digits (spaces, dashes)
// and reports whether the rest is all digits.
func normalizeCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\t':
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

// IsCode reports whether s looks like a one-time code (digits, perhaps
// grouped with spaces or dashes), so otp_or_push can tell a code from the
// word "push".
func IsCode(s string) bool {
	_, ok := normalizeCode(s)
	return ok
}
