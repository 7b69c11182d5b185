package main

import (
	"regexp"
	"strings"
	"testing"
)

var recoveryLine = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$`)

func TestRecoveryCodesCommands(t *testing.T) {
	e := mfaEnv(t)
	e.run(t, "recovery-codes", "status", "-realm", "corp", "alice").want(t, 0, []string{"alice has no recovery codes"}, nil)
	r := e.run(t, "recovery-codes", "generate", "-realm", "corp", "alice")
	r.want(t, 0, nil, []string{"generated 10 recovery codes", "shown only now"})
	codes := strings.Fields(r.stdout)
	if len(codes) != 10 {
		t.Fatalf("stdout %q", r.stdout)
	}
	for _, c := range codes {
		if !recoveryLine.MatchString(c) {
			t.Errorf("code %q", c)
		}
	}
	e.run(t, "recovery-codes", "status", "-realm", "corp", "alice").want(t, 0, []string{"alice: 10 left, 0 used"}, nil)

	// The printed codes work, once; regenerating voids them.
	repo := openMFAStoreAfter(t, e)
	if ok, err := repo.UseRecoveryCode("corp", "alice", codes[0]); !ok || err != nil {
		t.Fatalf("printed code: %v %v", ok, err)
	}
	if ok, _ := repo.UseRecoveryCode("corp", "alice", codes[0]); ok {
		t.Error("code worked twice")
	}
	closeRepoStore()
	e.run(t, "recovery-codes", "status", "-realm", "corp", "alice").want(t, 0, []string{"alice: 9 left, 1 used"}, nil)
	r = e.run(t, "recovery-codes", "generate", "-realm", "corp", "-count", "3", "alice")
	r.want(t, 0, nil, []string{"generated 3 recovery codes"})
	repo = openMFAStoreAfter(t, e)
	if ok, _ := repo.UseRecoveryCode("corp", "alice", codes[1]); ok {
		t.Error("an old code survived regeneration")
	}
	closeRepoStore()

	e.run(t, "recovery-codes", "generate", "-realm", "corp", "-count", "0", "alice").want(t, 2, nil, []string{"-count must be 1 to 50"})
	e.run(t, "recovery-codes", "generate", "-realm", "corp", "nobody").oneLineErr(t, `no user "nobody"`)
	e.run(t, "recovery-codes", "generate", "alice").want(t, 2, nil, []string{"-realm is required"})
	e.run(t, "recovery-codes").want(t, 2, nil, []string{"generate"})
	e.run(t, "recovery-codes", "generate", "-h").want(t, 0, []string{"only time they are shown"}, nil)
}
