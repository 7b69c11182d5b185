package users

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/engine/store/memstore"
)

const sha512Hello = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"

func TestParseCSV(t *testing.T) {
	in := "\ufeffGroups, name ,attributes,password_hash,email,phone\n" +
		"staff;vpn; ,alice,dept=ops;cost center=42,\"" + sha512Hello + "\",alice@example.com,+15550100\n" +
		"\n" + // blank lines are skipped
		",bob,,,,\n" +
		"\"a,b\",carol, k = v=w ,,,\n"
	us, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 3 {
		t.Fatalf("%d users", len(us))
	}
	a, b, c := us[0], us[1], us[2]
	if a.Name != "alice" || a.PasswordHash != sha512Hello || a.Email != "alice@example.com" || a.Phone != "+15550100" ||
		strings.Join(a.Groups, "|") != "staff|vpn" || a.Attributes["dept"] != "ops" || a.Attributes["cost center"] != "42" {
		t.Errorf("alice = %+v", a)
	}
	if b.Name != "bob" || b.PasswordHash != "" || b.Groups != nil || b.Attributes != nil {
		t.Errorf("bob = %+v", b)
	}
	if strings.Join(c.Groups, "|") != "a,b" || c.Attributes["k"] != "v=w" {
		t.Errorf("carol = %+v", c)
	}

	only, err := ParseCSV(strings.NewReader("name\nx\ny\n"))
	if err != nil || len(only) != 2 {
		t.Errorf("name-only file: %v, %v", only, err)
	}
	none, err := ParseCSV(strings.NewReader("name,email\n"))
	if err != nil || len(none) != 0 {
		t.Errorf("header only: %v, %v", none, err)
	}
}

func TestParseCSVErrors(t *testing.T) {
	const header = "name,password_hash,email\n"
	cases := []struct {
		name, in string
		line     int
		want     string
	}{
		{"empty file", "", 1, "empty file"},
		{"unknown column", "name,passwd_hash\n", 1, `unknown column "passwd_hash"`},
		{"plaintext column", "name,password\n", 1, `unknown column "password": import takes password_hash`},
		{"duplicate column", "name,email,Name\n", 1, `column "name" appears twice`},
		{"no name column", "email,phone\n", 1, `no "name" column`},
		{"md5 hash", header + "a,,\nb,,\nc,,\nd,,\ne,,\nf,$1$ab$e2KlfqG5YBMTjSz7XF.Eu1,\n", 7, `unsupported hash scheme "$1$"`},
		{"plaintext in hash column", header + "a,hunter2,\n", 2, "not a $scheme$ password hash"},
		{"empty name", header + ",,\n", 2, "user name is empty"},
		{"control in name", header + "\"a\x07b\",,\n", 2, "user name contains a control character"},
		{"bad email", header + "a,,nope\n", 2, "email is not an address"},
		{"duplicate user", header + "a,,\nb,,\na,,\n", 4, `user "a" is also on line 2`},
		{"bad attribute", "name,attributes\na,novalue\n", 2, `attributes must be "key=value"`},
		{"duplicate attribute", "name,attributes\na,k=1;k=2\n", 2, `attribute "k" is set twice`},
		{"too many fields", header + "a,,,extra\n", 2, "wrong number of fields"},
		{"quote error", header + "a,\"x,\n", 2, `"`},
		{"record spanning lines", header + "a,,\n\"multi\nline\",,\n", 3, "user name contains a control character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			us, err := ParseCSV(strings.NewReader(c.in))
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v (%T), want *ImportError", err, err)
			}
			if us != nil {
				t.Error("users returned with an error")
			}
			if ie.Line != c.line || !strings.Contains(ie.Err.Error(), c.want) {
				t.Errorf("got line %d: %v; want line %d: %s", ie.Line, ie.Err, c.line, c.want)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("message %q does not start with the line", err)
			}
		})
	}
}

func TestParseCSVFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.csv")
	body := "name,password_hash\n" + "a,\nb,\nc,\nd,\ne,\nf,$1$ab$e2KlfqG5YBMTjSz7XF.Eu1\n"
	os.WriteFile(path, []byte(body), 0o600)
	_, err := ParseCSVFile(path)
	want := path + `:7: unsupported hash scheme "$1$"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v\nwant %s...", err, want)
	}
	if _, err := ParseCSVFile(filepath.Join(t.TempDir(), "missing.csv")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestImport(t *testing.T) {
	bc, _ := bcrypt.GenerateFromPassword([]byte("bcrypt pw"), bcrypt.MinCost)
	csvText := "name,password_hash,groups\n" +
		"alice," + string(bc) + ",staff\n" +
		"bob," + sha512Hello + ",\n" +
		"carol,,\n"
	us, err := ParseCSV(strings.NewReader(csvText))
	if err != nil {
		t.Fatal(err)
	}
	backends(t, func(t *testing.T, r *Repo) {
		n, err := r.Import("corp", us, t0)
		if err != nil || n != 3 {
			t.Fatalf("Import = %d, %v", n, err)
		}
		for _, u := range us {
			if u.Realm != "" {
				t.Fatal("Import changed the parsed users")
			}
		}
		got, _ := r.List("corp")
		if len(got) != 3 || got[0].Realm != "corp" || !got[0].Created.Equal(t0) || got[0].Groups[0] != "staff" {
			t.Errorf("imported %+v", got[0])
		}
		// The imported hashes log in.
		for name, pw := range map[string]string{"alice": "bcrypt pw", "bob": "Hello world!"} {
			if res, err := r.CheckPassword("corp", name, pw, nil, t0); res != PasswordOK || err != nil {
				t.Errorf("%s logs in: %v, %v", name, res, err)
			}
		}

		// All or nothing: one existing user rejects the whole import.
		more, _ := ParseCSV(strings.NewReader("name\ndave\nbob\nerin\n"))
		n, err = r.Import("corp", more, t0)
		if n != 0 || !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `"bob"`) {
			t.Errorf("import over an existing user: %d, %v", n, err)
		}
		for _, name := range []string{"dave", "erin"} {
			if _, err := r.Get("corp", name); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s was written by a failed import", name)
			}
		}
		// The same names are free in another realm.
		if n, err := r.Import("lab", more, t0); n != 3 || err != nil {
			t.Errorf("import into another realm: %d, %v", n, err)
		}
	})
}

func TestImportRejects(t *testing.T) {
	r := NewRepo(memstore.New())
	cases := []struct {
		name  string
		realm string
		us    []*User
		want  string
	}{
		{"bad realm", "", []*User{{Name: "a"}}, "realm is empty"},
		{"nil user", "corp", []*User{nil}, "nil user"},
		{"twice", "corp", []*User{{Name: "a"}, {Name: "a"}}, `user "a" is listed twice`},
		{"invalid user", "corp", []*User{{Name: "a"}, {Name: "b", PasswordHash: "$1$x$y"}}, `user "b": unsupported hash scheme "$1$"`},
	}
	for _, c := range cases {
		n, err := r.Import(c.realm, c.us, t0)
		if n != 0 || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %d, %v; want %q", c.name, n, err, c.want)
		}
	}
	if us, _ := r.List("corp"); len(us) != 0 {
		t.Errorf("rejected imports wrote %d users", len(us))
	}
}
