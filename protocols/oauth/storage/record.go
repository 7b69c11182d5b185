package storage

import (
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
	body      []byte // JSON of storedRequest
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
// session type the caller passes).
type storedRequest struct {
	ID              string          `json:"id"`
	RequestedAt     time.Time       `json:"requested_at"`
	ClientID        string          `json:"client_id"`
	Scopes          []string        `json:"scopes,omitempty"`
	GrantedScopes   []string        `json:"granted_scopes,omitempty"`
	Audience        []string        `json:"audience,omitempty"`
	GrantedAudience []string        `json:"granted_audience,omitempty"`
	Form            string          `json:"form,omitempty"`
	Session         json.RawMessage `json:"session,omitempty"`
}

func marshalRequest(req fosite.Requester) ([]byte, error) {
	sr := storedRequest{
		ID:              req.GetID(),
		RequestedAt:     req.GetRequestedAt(),
		Scopes:          req.GetRequestedScopes(),
		GrantedScopes:   req.GetGrantedScopes(),
		Audience:        req.GetRequestedAudience(),
		GrantedAudience: req.GetGrantedAudience(),
	}
	if c := req.GetClient(); c != nil {
		sr.ClientID = c.GetID()
	}
	if f := req.GetRequestForm(); len(f) > 0 {
		f = cloneValues(f)
		// Belt and braces: fosite sanitizes forms before storing them, but
		// a credential must never reach the store whatever a handler does.
		f.Del("password")
		f.Del("client_secret")
		sr.Form = f.Encode()
	}
	if s := req.GetSession(); s != nil {
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		sr.Session = raw
	}
	return json.Marshal(&sr)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
