package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/admin"
)

func TestAuditedRecordsChangesWithoutSecrets(t *testing.T) {
	log, err := audit.New(memstore.New(), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := admin.NewMux()
	m.Handle("user.add", admin.Typed(func(_ context.Context, a admin.UserAddArgs) (admin.OK, error) {
		if a.Name == "taken" {
			return admin.OK{}, admin.Errorf(admin.CodeExists, "user taken already exists in realm corp")
		}
		return admin.OK{}, nil
	}))
	m.Handle("user.list", admin.Typed(func(context.Context, admin.UserListArgs) ([]string, error) { return nil, nil }))
	m.Handle("store.backup", admin.Typed(func(context.Context, struct{ Path string }) (admin.OK, error) {
		return admin.OK{}, errors.New("disk full")
	}))
	c := admin.Local(admin.Audited(m, log, "cli"))
	if err := c.Call("user.add", admin.UserAddArgs{Realm: "corp", Name: "bob", Password: "hunter2-secret"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Call("user.add", admin.UserAddArgs{Realm: "corp", Name: "taken", Password: "hunter2-secret"}, nil); err == nil {
		t.Fatal("want an error")
	}
	_ = c.Call("user.list", admin.UserListArgs{Realm: "corp"}, nil)
	_ = c.Call("ping", struct{}{}, nil)
	_ = c.Call("store.backup", struct{ Path string }{"/tmp/x"}, nil)

	p, err := log.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 3 {
		t.Fatalf("want user.add twice and store.backup, got %+v", p.Entries)
	}
	ok, refused, failed := p.Entries[0], p.Entries[1], p.Entries[2]
	if ok.Kind != audit.KindAdmin || ok.Realm != "corp" || ok.User != "bob" || ok.Result != audit.ResultSuccess ||
		ok.Detail["op"] != "user.add" || !strings.HasPrefix(ok.Actor, "uid ") || ok.Frontend != "cli" {
		t.Fatalf("success: %+v", ok)
	}
	if refused.Result != audit.ResultFailure || refused.Detail["code"] != admin.CodeExists || !strings.Contains(refused.Reason, "already exists") {
		t.Fatalf("refusal: %+v", refused)
	}
	if failed.Result != audit.ResultError {
		t.Fatalf("store error: %+v", failed)
	}
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), "hunter2") {
		t.Fatal("a password reached the audit log")
	}
}

func TestAuditOps(t *testing.T) {
	log, err := audit.New(memstore.New(), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"alice", "bob", "alice"} {
		log.Log(ctx, audit.Entry{Kind: audit.KindJourney, User: u, Result: audit.ResultSuccess})
	}
	m := admin.NewMux()
	(&admin.AuditService{Log: log}).Register(m)
	c := admin.Local(m)
	var page audit.Page
	if err := c.Call("audit.query", admin.AuditQueryArgs{User: "alice"}, &page); err != nil || len(page.Entries) != 2 || page.Next != 3 {
		t.Fatalf("query: %v %+v", err, page)
	}
	if err := c.Call("audit.query", admin.AuditQueryArgs{Since: "yesterday"}, &page); err == nil {
		t.Fatal("a bad since was accepted")
	}
	// follow waits for the next entry.
	go func() {
		time.Sleep(50 * time.Millisecond)
		log.Log(ctx, audit.Entry{Kind: audit.KindAdmin, Result: audit.ResultSuccess})
	}()
	start := time.Now()
	if err := c.Call("audit.follow", admin.AuditQueryArgs{After: 3, WaitMS: 5000}, &page); err != nil || len(page.Entries) != 1 || page.Entries[0].Seq != 4 {
		t.Fatalf("follow: %v %+v", err, page)
	}
	if time.Since(start) > 4*time.Second {
		t.Fatal("follow waited for its timeout instead of the entry")
	}
	// Nothing new: follow returns empty at the end of its wait.
	if err := c.Call("audit.follow", admin.AuditQueryArgs{After: 4, WaitMS: 30}, &page); err != nil || len(page.Entries) != 0 || page.Next != 4 {
		t.Fatalf("idle follow: %v %+v", err, page)
	}
}
