// Package pushtest holds local fakes of Apple's and Google's push APIs,
// so the APNs and FCM providers are tested end to end (token
// authentication, HTTP/2 and TLS for APNs, the OAuth token exchange for
// FCM, the error answers that mark a device dead) without the internet.
package pushtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Mode is how a fake behaves.
type Mode int

// Modes of a fake.
const (
	Normal      Mode = iota // accept (unless the token is listed as dead)
	Unavailable             // answer 503 to everything
	Hang                    // never answer (until the request is cancelled or the fake closes)
)

// Delivery is one notification a fake accepted or refused.
type Delivery struct {
	Token   string
	Topic   string          // APNs: apns-topic
	Payload json.RawMessage // APNs: the body; FCM: the message
	Status  int
}

type base struct {
	mu         sync.Mutex
	mode       Mode
	dead       map[string]string // token → reason
	deliveries []Delivery
	hang       chan struct{}
	closeOnce  sync.Once
}

func newBase() base { return base{dead: map[string]string{}, hang: make(chan struct{})} }

// SetMode switches the fake's behaviour.
func (b *base) SetMode(m Mode) {
	b.mu.Lock()
	b.mode = m
	b.mu.Unlock()
}

// Deliveries returns what the fake received, in order.
func (b *base) Deliveries() []Delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Delivery(nil), b.deliveries...)
}

func (b *base) record(d Delivery) {
	b.mu.Lock()
	b.deliveries = append(b.deliveries, d)
	b.mu.Unlock()
}

func (b *base) state(token string) (Mode, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mode, b.dead[token]
}

func (b *base) release() { b.closeOnce.Do(func() { close(b.hang) }) }

// hangUntil blocks a handler until the client gives up or the fake closes.
func (b *base) hangUntil(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-b.hang:
	}
}

// ---- APNs ----

// APNs is a fake of Apple's provider API: HTTP/2 over TLS, POST
// /3/device/{token} with a bearer provider token (ES256 JWT by the .p8
// key), answering 200, 410 Unregistered or 400 BadDeviceToken like Apple.
type APNs struct {
	base
	Server *httptest.Server
	// Topic is the bundle id it expects as apns-topic.
	Topic  string
	TeamID string
	KeyID  string
	// KeyFile is a .p8 key the fake accepts tokens of.
	KeyFile string
	pub     *ecdsa.PublicKey
}

// NewAPNs starts a fake APNs with a fresh .p8 key written to dir.
func NewAPNs(dir, topic string) (*APNs, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "AuthKey_FAKEKEY123.p8")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	a := &APNs{base: newBase(), Topic: topic, TeamID: "TEAM123456", KeyID: "FAKEKEY123", KeyFile: path, pub: &key.PublicKey}
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.Server.EnableHTTP2 = true
	a.Server.StartTLS()
	return a, nil
}

// URL is the host to give the APNs client.
func (a *APNs) URL() string { return a.Server.URL }

// TLSConfig trusts the fake's certificate.
func (a *APNs) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(a.Server.Certificate())
	return &tls.Config{RootCAs: pool}
}

// Unregister makes the fake answer 410 Unregistered for token.
func (a *APNs) Unregister(token string) { a.setDead(token, "Unregistered") }

// BadToken makes the fake answer 400 BadDeviceToken for token.
func (a *APNs) BadToken(token string) { a.setDead(token, "BadDeviceToken") }

func (a *APNs) setDead(token, reason string) {
	a.mu.Lock()
	a.dead[token] = reason
	a.mu.Unlock()
}

// Close stops the fake, releasing hanging requests.
func (a *APNs) Close() {
	a.release()
	a.Server.Close()
}

func apnsReply(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000001")
	if reason == "" {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"reason": reason}
	if status == http.StatusGone {
		body["timestamp"] = time.Now().UnixMilli()
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (a *APNs) serve(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	switch {
	case r.ProtoMajor != 2:
		apnsReply(w, http.StatusBadRequest, "BadPath") // Apple speaks HTTP/2 only
		return
	case r.Method != http.MethodPost:
		apnsReply(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		return
	case !ok || token == "":
		apnsReply(w, http.StatusBadRequest, "MissingDeviceToken")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	mode, dead := a.state(token)
	switch mode {
	case Unavailable:
		apnsReply(w, http.StatusServiceUnavailable, "ServiceUnavailable")
		return
	case Hang:
		a.hangUntil(r)
		return
	}
	status, reason := http.StatusOK, ""
	switch {
	case !a.validProviderToken(r.Header.Get("Authorization")):
		status, reason = http.StatusForbidden, "InvalidProviderToken"
	case r.Header.Get("apns-topic") != a.Topic:
		status, reason = http.StatusBadRequest, "BadTopic"
	case len(body) > 4096:
		status, reason = http.StatusRequestEntityTooLarge, "PayloadTooLarge"
	case dead == "Unregistered":
		status, reason = http.StatusGone, dead
	case dead != "":
		status, reason = http.StatusBadRequest, dead
	}
	a.record(Delivery{Token: token, Topic: r.Header.Get("apns-topic"), Payload: body, Status: status})
	apnsReply(w, status, reason)
}

// validProviderToken checks the bearer JWT like Apple: ES256 by the key,
// kid = key id, iss = team id.
func (a *APNs) validProviderToken(h string) bool {
	tok, ok := strings.CutPrefix(h, "bearer ")
	if !ok {
		return false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	hb, e1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, e2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, e3 := base64.RawURLEncoding.DecodeString(parts[2])
	if e1 != nil || e2 != nil || e3 != nil || len(sig) != 64 {
		return false
	}
	var hdr struct{ Alg, Kid string }
	var cl struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(pb, &cl) != nil {
		return false
	}
	if hdr.Alg != "ES256" || hdr.Kid != a.KeyID || cl.Iss != a.TeamID {
		return false
	}
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return ecdsa.Verify(a.pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// ---- FCM ----

// FCM is a fake of Firebase Cloud Messaging's HTTP v1 API and of Google's
// OAuth token endpoint: the service account it writes names the fake as
// its token_uri, the client exchanges a signed JWT for an access token
// there, then posts /v1/projects/{project}/messages:send with it.
type FCM struct {
	base
	Server    *httptest.Server
	ProjectID string
	// CredentialsFile is the service-account file to configure.
	CredentialsFile string
	key             *rsa.PrivateKey
	tokens          map[string]bool
	exchanges       int
}

// NewFCM starts a fake FCM and writes a service-account file to dir.
func NewFCM(dir string) (*FCM, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	f := &FCM{base: newBase(), ProjectID: "authd-test", key: key, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.serveToken)
	mux.HandleFunc("POST /v1/projects/{project}/{op}", f.serveSend)
	f.Server = httptest.NewServer(mux)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	sa := map[string]string{
		"type":           "service_account",
		"project_id":     f.ProjectID,
		"private_key_id": "fakekeyid",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "authd@authd-test.iam.gserviceaccount.com",
		"client_id":      "1234567890",
		"token_uri":      f.Server.URL + "/token",
	}
	b, _ := json.MarshalIndent(sa, "", "  ")
	f.CredentialsFile = filepath.Join(dir, "firebase.json")
	if err := os.WriteFile(f.CredentialsFile, b, 0o600); err != nil {
		return nil, err
	}
	return f, nil
}

// Endpoint is the base URL to give the FCM client (it replaces
// https://fcm.googleapis.com/v1).
func (f *FCM) Endpoint() string { return f.Server.URL + "/v1" }

// Exchanges counts access tokens issued.
func (f *FCM) Exchanges() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

// Unregister makes the fake answer 404 UNREGISTERED for token.
func (f *FCM) Unregister(token string) {
	f.mu.Lock()
	f.dead[token] = "UNREGISTERED"
	f.mu.Unlock()
}

// Close stops the fake.
func (f *FCM) Close() {
	f.release()
	f.Server.Close()
}

func (f *FCM) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	if !f.validAssertion(r.PostForm.Get("assertion")) {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(b)
	f.mu.Lock()
	f.tokens[tok] = true
	f.exchanges++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

// validAssertion checks the service account's RS256 JWT.
func (f *FCM) validAssertion(a string) bool {
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, d[:], sig) == nil
}

func fcmError(w http.ResponseWriter, status int, gstatus, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	e := map[string]any{"code": status, "message": msg, "status": gstatus}
	if code != "" {
		e["details"] = []any{map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func (f *FCM) serveSend(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("project") != f.ProjectID || r.PathValue("op") != "messages:send" {
		fcmError(w, http.StatusNotFound, "NOT_FOUND", "", "no such project")
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	authed := f.tokens[tok]
	f.mu.Unlock()
	if !authed {
		fcmError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "", "Request had invalid authentication credentials.")
		return
	}
	var in struct {
		Message json.RawMessage `json:"message"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&in); err != nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "bad body")
		return
	}
	var m struct {
		Token string            `json:"token"`
		Data  map[string]string `json:"data"`
	}
	_ = json.Unmarshal(in.Message, &m)
	mode, dead := f.state(m.Token)
	switch mode {
	case Unavailable:
		fcmError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable.")
		return
	case Hang:
		f.hangUntil(r)
		return
	}
	if dead != "" {
		f.record(Delivery{Token: m.Token, Payload: in.Message, Status: http.StatusNotFound})
		fcmError(w, http.StatusNotFound, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
		return
	}
	f.record(Delivery{Token: m.Token, Payload: in.Message, Status: http.StatusOK})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"name": fmt.Sprintf("projects/%s/messages/%d", f.ProjectID, time.Now().UnixNano())})
}
