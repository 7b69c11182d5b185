package oauth

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// sessionBinary marks the binary form of a stored Session. JSON, the other
// form, always starts with '{'.
const sessionBinary = 0x01

var errSessionCorrupt = errors.New("oauth: corrupt stored session")

// MarshalBinary is the stored form of a session. Every token and code
// stores one and every introspection, userinfo and refresh decodes one, so
// the common session — no ID token claims beyond the subject, no extra
// headers (client credentials, access and refresh tokens) — is written in
// a small binary form that decodes without reflection:
//
//	0x01, then sub, username, realm, user, journey (uvarint length +
//	bytes), auth_time (0, or 1 + 8 bytes of Unix seconds + 4 of
//	nanoseconds), and the expiries (uvarint count, then token type + time
//	each).
//
// Any other session (an authorization code's, carrying the ID token's
// claims) is JSON (MarshalJSON). Times come back in UTC.
func (s *Session) MarshalBinary() ([]byte, error) {
	d := s.DefaultSession
	if d != nil && ((d.Claims != nil && !onlySubject(d.Claims, d.Subject)) || (d.Headers != nil && len(d.Headers.Extra) > 0)) {
		return s.MarshalJSON()
	}
	var sub, username string
	var exp map[fosite.TokenType]time.Time
	if d != nil {
		sub, username, exp = d.Subject, d.Username, d.ExpiresAt
	}
	b := make([]byte, 0, 64+len(sub)+len(username)+len(s.Realm)+len(s.User)+len(s.Journey)+len(exp)*24)
	b = append(b, sessionBinary)
	for _, x := range []string{sub, username, s.Realm, s.User, s.Journey} {
		b = binary.AppendUvarint(b, uint64(len(x)))
		b = append(b, x...)
	}
	b = appendTime(b, s.AuthTime)
	b = binary.AppendUvarint(b, uint64(len(exp)))
	// Map order does not matter to the reader; sessions hold one to three.
	for k, t := range exp {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = appendTime(b, t)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, either form, keeping
// the expiries s holds that the stored form does not name (keptExpiries).
func (s *Session) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != sessionBinary {
		return s.UnmarshalJSON(b)
	}
	b = b[1:]
	var f [5]string
	for i := range f {
		var err error
		if f[i], b, err = readSessionString(b); err != nil {
			return err
		}
	}
	auth, b, err := readTime(b)
	if err != nil {
		return err
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return errSessionCorrupt
	}
	b = b[k:]
	var exp map[fosite.TokenType]time.Time
	if n > 0 {
		exp = make(map[fosite.TokenType]time.Time, n)
	}
	for range n {
		var typ string
		var t time.Time
		if typ, b, err = readSessionString(b); err != nil {
			return err
		}
		if t, b, err = readTime(b); err != nil {
			return err
		}
		exp[fosite.TokenType(typ)] = t
	}
	if len(b) != 0 {
		return errSessionCorrupt
	}
	*s = Session{
		DefaultSession: &openid.DefaultSession{
			Subject: f[0], Username: f[1], ExpiresAt: s.keptExpiries(exp),
			Claims: &jwt.IDTokenClaims{Subject: f[0]}, Headers: &jwt.Headers{},
		},
		Realm: f[2], User: f[3], Journey: f[4], AuthTime: auth,
	}
	return nil
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())) // seconds and nanoseconds: any year
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func readTime(b []byte) (time.Time, []byte, error) {
	switch {
	case len(b) >= 1 && b[0] == 0:
		return time.Time{}, b[1:], nil
	case len(b) >= 13 && b[0] == 1:
		sec, ns := int64(binary.BigEndian.Uint64(b[1:9])), binary.BigEndian.Uint32(b[9:13])
		if ns >= 1e9 {
			break
		}
		return time.Unix(sec, int64(ns)).UTC(), b[13:], nil
	}
	return time.Time{}, nil, errSessionCorrupt
}

func readSessionString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, errSessionCorrupt
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}
