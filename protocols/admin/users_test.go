package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/protocols/admin"
)

func userCaller(t *testing.T, realms []string) (admin.Caller, *users.Repo) {
	t.Helper()
	repo := users.NewRepo(memstore.New())
	m := admin.NewMux()
	svc := &admin.UserService{Repo: repo, Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
	if realms != nil {
		svc.Realms = func() []string { return realms }
	}
	svc.Register(m)
	return admin.Local(m), repo
}

func TestUserOps(t *testing.T) {
	c, repo := userCaller(t, []string{"corp", "lab"})
	hash, err := bcrypt.GenerateFromPassword([]byte("imported-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		op       string
		in       any
		wantCode string // "" = success
		wantMsg  string
	}{
		{"add", "user.add", admin.UserAddArgs{Realm: "corp", Name: "alice", Password: "pw-1", Groups: []string{"vpn", "vpn", "ops"}, Email: "alice@example.com"}, "", ""},
		{"add twice", "user.add", admin.UserAddArgs{Realm: "corp", Name: "alice", Password: "pw"}, admin.CodeExists, `user "alice" already exists in realm "corp"`},
		{"same name other realm", "user.add", admin.UserAddArgs{Realm: "lab", Name: "alice", Password: "pw"}, "", ""},
		{"realm typo", "user.add", admin.UserAddArgs{Realm: "crop", Name: "bob", Password: "pw"}, admin.CodeNotFound, `did you mean "corp"`},
		{"unknown realm", "user.list", admin.UserListArgs{Realm: "zzzzzz"}, admin.CodeNotFound, `"corp", "lab"`},
		{"no realm", "user.list", admin.UserListArgs{}, admin.CodeInvalid, "realm is required"},
		{"empty password", "user.add", admin.UserAddArgs{Realm: "corp", Name: "bob"}, admin.CodeInvalid, "password is empty"},
		{"bad name", "user.add", admin.UserAddArgs{Realm: "corp", Name: "bo\x00b", Password: "x"}, admin.CodeInvalid, "control character"},
		{"bad email", "user.add", admin.UserAddArgs{Realm: "corp", Name: "bob", Password: "x", Email: "nope"}, admin.CodeInvalid, "email"},
		{"passwd", "user.passwd", admin.UserPasswdArgs{Realm: "corp", Name: "alice", Password: "pw-2"}, "", ""},
		{"passwd unknown", "user.passwd", admin.UserPasswdArgs{Realm: "corp", Name: "nobody", Password: "pw"}, admin.CodeNotFound, `no user "nobody" in realm "corp"`},
		{"unlock", "user.unlock", admin.UserRef{Realm: "corp", Name: "alice"}, "", ""},
		{"unlock unknown", "user.unlock", admin.UserRef{Realm: "corp", Name: "nobody"}, admin.CodeNotFound, "nobody"},
		{"import", "user.import", admin.UserImportArgs{Realm: "corp", File: "u.csv", CSV: []byte("name,password_hash,groups\ncarol," + string(hash) + ",a;b\ndan,,\n")}, "", ""},
		{"import plaintext", "user.import", admin.UserImportArgs{Realm: "corp", File: "u.csv", CSV: []byte("name,password\nx,y\n")}, admin.CodeInvalid, "u.csv:1:"},
		{"import existing", "user.import", admin.UserImportArgs{Realm: "corp", File: "u.csv", CSV: []byte("name\nerin\ncarol\n")}, admin.CodeExists, "nothing was imported"},
		{"delete", "user.delete", admin.UserRef{Realm: "lab", Name: "alice"}, "", ""},
		{"delete again", "user.delete", admin.UserRef{Realm: "lab", Name: "alice"}, admin.CodeNotFound, `no user "alice" in realm "lab"`},
	}
	for _, s := range steps {
		err := c.Call(s.op, s.in, nil)
		if s.wantCode == "" {
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			continue
		}
		var ae *admin.Error
		if !errors.As(err, &ae) || ae.Code != s.wantCode || !strings.Contains(ae.Message, s.wantMsg) {
			t.Fatalf("%s: err = %#v, want code %q with %q", s.name, err, s.wantCode, s.wantMsg)
		}
		if strings.Contains(ae.Message, "\n") {
			t.Fatalf("%s: multi-line error %q", s.name, ae.Message)
		}
	}

	var list []admin.UserInfo
	if err := c.Call("user.list", admin.UserListArgs{Realm: "corp"}, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
	}
	if got := strings.Join(names, ","); got != "alice,carol,dan" {
		t.Fatalf("users = %s", got)
	}
	if a := list[0]; strings.Join(a.Groups, ",") != "vpn,ops" || !a.HasPassword || a.Email != "alice@example.com" {
		t.Fatalf("alice = %+v", a)
	}
	if d := list[2]; d.HasPassword {
		t.Fatalf("dan has a password: %+v", d)
	}
	if r, _ := repo.CheckPassword("corp", "alice", "pw-2", nil, time.Now()); r != users.PasswordOK {
		t.Fatalf("passwd did not take: %v", r)
	}
	if r, _ := repo.CheckPassword("corp", "carol", "imported-pw", nil, time.Now()); r != users.PasswordOK {
		t.Fatalf("imported hash does not verify: %v", r)
	}
}

func TestUserOpsLockout(t *testing.T) {
	c, repo := userCaller(t, nil) // no configuration: any realm
	if err := c.Call("user.add", admin.UserAddArgs{Realm: "anything", Name: "eve", Password: "right"}, nil); err != nil {
		t.Fatal(err)
	}
	policy := &users.Lockout{MaxFailures: 2, Window: time.Hour, Duration: time.Hour}
	now := time.Now()
	for i := 0; i < 3; i++ {
		repo.CheckPassword("anything", "eve", "wrong", policy, now)
	}
	var list []admin.UserInfo
	if err := c.Call("user.list", admin.UserListArgs{Realm: "anything"}, &list); err != nil {
		t.Fatal(err)
	}
	// The service's fixed clock is before the lock's end, so it shows.
	if len(list) != 1 || !list[0].Locked || list[0].LockedUntil == nil {
		t.Fatalf("want eve locked: %+v", list)
	}
	if err := c.Call("user.unlock", admin.UserRef{Realm: "anything", Name: "eve"}, nil); err != nil {
		t.Fatal(err)
	}
	if r, _ := repo.CheckPassword("anything", "eve", "right", policy, now); r != users.PasswordOK {
		t.Fatalf("after unlock: %v", r)
	}
}
