package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/authd/authd/engine/audit"
)

// AuditQueryArgs are the arguments of audit.query and audit.follow.
type AuditQueryArgs struct {
	// After is the cursor: entries with a higher sequence number only.
	After uint64 `json:"after,omitempty"`
	// Since is an RFC 3339 time; entries before it are skipped.
	Since string `json:"since,omitempty"`
	User  string `json:"user,omitempty"`
	Realm string `json:"realm,omitempty"`
	Kind  string `json:"kind,omitempty"`
	Limit int    `json:"limit,omitempty"`
	// WaitMS is how long audit.follow waits for a new entry when there is
	// none (capped at MaxFollowWait).
	WaitMS int `json:"wait_ms,omitempty"`
}

// MaxFollowWait bounds one audit.follow call, well inside the server's
// per-call timeout; followers call again with the returned cursor.
const MaxFollowWait = 25 * time.Second

// AuditService serves the audit log over the admin channel: audit.query
// reads a page, audit.follow long-polls for entries after a cursor.
type AuditService struct {
	Log *audit.Log
}

// Register adds the audit ops to m.
func (s *AuditService) Register(m *Mux) {
	m.Handle("audit.query", Typed(func(_ context.Context, a AuditQueryArgs) (*audit.Page, error) {
		q, err := a.query()
		if err != nil {
			return nil, err
		}
		return s.Log.Query(q)
	}))
	m.Handle("audit.follow", Typed(func(ctx context.Context, a AuditQueryArgs) (*audit.Page, error) {
		q, err := a.query()
		if err != nil {
			return nil, err
		}
		wait := min(time.Duration(a.WaitMS)*time.Millisecond, MaxFollowWait)
		if wait > 0 {
			wctx, cancel := context.WithTimeout(ctx, wait)
			s.Log.Wait(wctx, a.After)
			cancel()
		}
		return s.Log.Query(q)
	}))
}

func (a AuditQueryArgs) query() (audit.Query, error) {
	q := audit.Query{After: a.After, User: a.User, Realm: a.Realm, Kind: a.Kind, Limit: a.Limit}
	if a.Since != "" {
		t, err := time.Parse(time.RFC3339Nano, a.Since)
		if err != nil {
			return q, Errorf(CodeInvalid, "since %q is not an RFC 3339 time", a.Since)
		}
		q.Since = t
	}
	return q, nil
}

// Audited wraps h so every operation that changes something (all but
// ping and the *.list, *.get, *.query, *.follow, *.status, *.pending ops)
// is recorded in log as an admin entry: the op, who called (peer uid and
// pid, or this process's uid in-process), the realm and name it was
// about, and whether it succeeded. Arguments are never recorded whole,
// since some carry passwords.
func Audited(h Handler, log audit.Logger, frontend string) Handler {
	return &audited{h: h, log: log, frontend: frontend}
}

type audited struct {
	h        Handler
	log      audit.Logger
	frontend string
}

// readOnly lists op name endings that change nothing.
var readOnly = []string{".list", ".get", ".query", ".follow", ".status", ".pending", ".show"}

func changes(op string) bool {
	if op == "ping" {
		return false
	}
	for _, suf := range readOnly {
		if strings.HasSuffix(op, suf) {
			return false
		}
	}
	return true
}

func (a *audited) ServeAdmin(ctx context.Context, r *Request) (any, error) {
	res, err := a.h.ServeAdmin(ctx, r)
	if !changes(r.Op) {
		return res, err
	}
	var who struct {
		Realm  string `json:"realm"`
		Name   string `json:"name"`
		User   string `json:"user"`
		Device string `json:"device"`
		ID     string `json:"id"`
	}
	if len(bytes.TrimSpace(r.Args)) > 0 {
		_ = json.Unmarshal(r.Args, &who) // unknown shapes simply name nobody
	}
	user := who.Name
	if user == "" {
		user = who.User
	}
	e := audit.Entry{
		Kind: audit.KindAdmin, Realm: who.Realm, User: user, Frontend: a.frontend,
		Result: audit.ResultSuccess, Reason: r.Op, Actor: actor(r.Peer),
		Detail: map[string]string{"op": r.Op},
	}
	if who.Device != "" {
		e.Detail["device"] = who.Device
	}
	if who.ID != "" && len(who.ID) <= 64 {
		e.Detail["id"] = who.ID
	}
	if err != nil {
		ae := toError(err)
		e.Result = audit.ResultFailure
		if ae.Code == CodeInternal {
			e.Result = audit.ResultError
		}
		e.Reason = r.Op + ": " + ae.Message
		e.Detail["code"] = ae.Code
	}
	a.log.Log(ctx, e)
	return res, err
}

func actor(p Peer) string {
	if p.UID < 0 {
		return fmt.Sprintf("uid %d (in-process)", os.Getuid())
	}
	return fmt.Sprintf("uid %d pid %d", p.UID, p.PID)
}
