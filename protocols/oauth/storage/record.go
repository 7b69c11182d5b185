package storage

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/ory/fosite"
)

// A record is what one code, PKCE or OIDC session, or token keeps in its
// bucket: a small binary header, then the request as JSON. The header holds
// what a write transaction must read or change — the active flag, when a
// refresh token was first used, the expiry, the grant's request id and the
// access token issued with a refresh token — so check-and-flip needs no JSON
// work while bbolt's writer lock is held.
//
//	flags(1) usedAt(8) expires(8) uvarint len + request id, uvarint len + access signature, JSON
type record struct {
	active    bool
	usedAt    int64 // unix nanos; 0 until a refresh token is rotated
	expires   int64 // unix nanos; 0 never
	requestID string
	accessSig string
	body      []byte // storedRequest, see marshalRequest
}

const (
	flagActive = 1 << 0
	fixedLen   = 1 + 8 + 8
)

var errCorrupt = errors.New("storage: malformed record")

func (r *record) encode() []byte {
	n := fixedLen + binary.MaxVarintLen64*2 + len(r.requestID) + len(r.accessSig) + len(r.body)
	b := make([]byte, fixedLen, n)
	if r.active {
		b[0] = flagActive
	}
	binary.BigEndian.PutUint64(b[1:9], uint64(r.usedAt))
	binary.BigEndian.PutUint64(b[9:17], uint64(r.expires))
	b = binary.AppendUvarint(b, uint64(len(r.requestID)))
	b = append(b, r.requestID...)
	b = binary.AppendUvarint(b, uint64(len(r.accessSig)))
	b = append(b, r.accessSig...)
	return append(b, r.body...)
}

// decodeRecord parses v; the result shares no memory with v, so it outlives
// the transaction v came from.
func decodeRecord(v []byte) (*record, error) {
	if len(v) < fixedLen {
		return nil, errCorrupt
	}
	r := &record{
		active:  v[0]&flagActive != 0,
		usedAt:  int64(binary.BigEndian.Uint64(v[1:9])),
		expires: int64(binary.BigEndian.Uint64(v[9:17])),
	}
	rest := v[fixedLen:]
	s, rest, err := readString(rest)
	if err != nil {
		return nil, err
	}
	r.requestID = s
	if r.accessSig, rest, err = readString(rest); err != nil {
		return nil, err
	}
	r.body = append([]byte(nil), rest...)
	return r, nil
}

// decodeHeader parses only the header, for writers that flip a flag.
func decodeHeader(v []byte) (*record, error) {
	if len(v) < fixedLen {
		return nil, errCorrupt
	}
	r := &record{
		active:  v[0]&flagActive != 0,
		usedAt:  int64(binary.BigEndian.Uint64(v[1:9])),
		expires: int64(binary.BigEndian.Uint64(v[9:17])),
	}
	rest := v[fixedLen:]
	var err error
	if r.requestID, rest, err = readString(rest); err != nil {
		return nil, err
	}
	if r.accessSig, _, err = readString(rest); err != nil {
		return nil, err
	}
	return r, nil
}

// withFlags returns a copy of v with a new active flag, use time and expiry.
func withFlags(v []byte, active bool, usedAt, expires int64) []byte {
	out := append([]byte(nil), v...)
	out[0] &^= flagActive
	if active {
		out[0] |= flagActive
	}
	binary.BigEndian.PutUint64(out[1:9], uint64(usedAt))
	binary.BigEndian.PutUint64(out[9:17], uint64(expires))
	return out
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil, errCorrupt
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

// storedRequest is a fosite.Requester without its client (looked up again
// by id, so a relying party removed from the configuration takes its
// tokens with it) and with the session as raw JSON (decoded into the
// session type the caller passes). It is stored in a small binary form —
// introspection decodes one per call, and JSON decoding was a sixth of its
// CPU time:
//
//	version(1) id requested_at(8) client_id scopes granted audience granted_audience form session
//
// strings are uvarint length + bytes, lists uvarint count + strings, and
// the session JSON is the rest.
type storedRequest struct {
	ID              string
	RequestedAt     time.Time
	ClientID        string
	Scopes          []string
	GrantedScopes   []string
	Audience        []string
	GrantedAudience []string
	Form            string
	Session         []byte
}

const bodyVersion = 1

func marshalRequest(req fosite.Requester) ([]byte, error) {
	var session []byte
	if s := req.GetSession(); s != nil {
		var raw []byte
		var err error
		if bm, ok := s.(encoding.BinaryMarshaler); ok {
			raw, err = bm.MarshalBinary() // a compact form; see decodeSession
		} else {
			raw, err = json.Marshal(s)
		}
		if err != nil {
			return nil, err
		}
		session = raw
	}
	form := ""
	if f := req.GetRequestForm(); len(f) > 0 {
		f = cloneValues(f)
		// Belt and braces: fosite sanitizes forms before storing them, but
		// a credential must never reach the store whatever a handler does.
		f.Del("password")
		f.Del("client_secret")
		form = f.Encode()
	}
	clientID := ""
	if c := req.GetClient(); c != nil {
		clientID = c.GetID()
	}
	b := make([]byte, 0, 128+len(form)+len(session))
	b = append(b, bodyVersion)
	b = appendString(b, req.GetID())
	b = binary.BigEndian.AppendUint64(b, uint64(req.GetRequestedAt().UnixNano()))
	b = appendString(b, clientID)
	for _, l := range [][]string{req.GetRequestedScopes(), req.GetGrantedScopes(), req.GetRequestedAudience(), req.GetGrantedAudience()} {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, x := range l {
			b = appendString(b, x)
		}
	}
	b = appendString(b, form)
	return append(b, session...), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func unmarshalRequest(b []byte) (*storedRequest, error) {
	if len(b) < 1 || b[0] != bodyVersion {
		return nil, errCorrupt
	}
	b = b[1:]
	sr := &storedRequest{}
	var err error
	if sr.ID, b, err = readString(b); err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, errCorrupt
	}
	sr.RequestedAt = time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))).UTC()
	b = b[8:]
	if sr.ClientID, b, err = readString(b); err != nil {
		return nil, err
	}
	for _, dst := range []*[]string{&sr.Scopes, &sr.GrantedScopes, &sr.Audience, &sr.GrantedAudience} {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, errCorrupt
		}
		b = b[k:]
		l := make([]string, 0, n)
		for range n {
			var x string
			if x, b, err = readString(b); err != nil {
				return nil, err
			}
			l = append(l, x)
		}
		*dst = l
	}
	if sr.Form, b, err = readString(b); err != nil {
		return nil, err
	}
	sr.Session = b
	return sr, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// decodeSession decodes a stored session into session: with its
// UnmarshalBinary when it has one (the provider's Session writes a binary
// form for the common case and JSON otherwise, and reads both, so records
// written before the binary form still decode), else as JSON.
func decodeSession(b []byte, session fosite.Session) error {
	if bu, ok := session.(encoding.BinaryUnmarshaler); ok {
		return bu.UnmarshalBinary(b)
	}
	return json.Unmarshal(b, session)
}
