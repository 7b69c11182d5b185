// Package smstest is a local fake of Twilio's Messages API for tests: it
// checks what the real API checks (path, basic auth, form fields), records
// every message, and can be told to refuse, so journeys send real HTTP
// requests through the real gateway code without reaching Twilio.
package smstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
)

// Message is one SMS the fake accepted.
type Message struct {
	To, From, MessagingServiceSID, Body string
}

// FakeTwilio is an httptest server speaking Twilio's Messages API for one
// account. Point sms.Twilio.BaseURL (or sms.Options.TwilioBaseURL) at URL.
type FakeTwilio struct {
	*httptest.Server
	AccountSID string
	AuthToken  string

	mu       sync.Mutex
	messages []Message
	fail     []failure
}

type failure struct {
	status, code int
	message      string
}

// NewFakeTwilio starts a fake for an account; Close it when done.
func NewFakeTwilio(accountSID, authToken string) *FakeTwilio {
	f := &FakeTwilio{AccountSID: accountSID, AuthToken: authToken}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Messages returns the messages accepted so far.
func (f *FakeTwilio) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.messages...)
}

// FailNext makes the next request fail with Twilio's error format.
func (f *FakeTwilio) FailNext(status, code int, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, failure{status, code, message})
}

var codeRE = regexp.MustCompile(`\b\d{6,8}\b`)

// LastCode returns the code in the last message to `to` (the first run of
// 6 to 8 digits), or "".
func (f *FakeTwilio) LastCode(to string) string {
	msgs := f.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To == to {
			return codeRE.FindString(msgs[i].Body)
		}
	}
	return ""
}

func (f *FakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	errorJSON := func(status, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
			"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+f.AccountSID+"/Messages.json" {
		errorJSON(http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != f.AccountSID || p != f.AuthToken {
		errorJSON(http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		errorJSON(http.StatusBadRequest, 21000, "bad form")
		return
	}
	m := Message{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"), Body: r.PostForm.Get("Body")}
	switch {
	case m.To == "":
		errorJSON(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case m.From == "" && m.MessagingServiceSID == "":
		errorJSON(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case m.Body == "":
		errorJSON(http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	f.mu.Lock()
	if len(f.fail) > 0 {
		e := f.fail[0]
		f.fail = f.fail[1:]
		f.mu.Unlock()
		errorJSON(e.status, e.code, e.message)
		return
	}
	f.messages = append(f.messages, m)
	n := len(f.messages)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"sid": fmt.Sprintf("SM%032x", n), "account_sid": f.AccountSID, "to": m.To, "from": m.From,
		"body": m.Body, "status": "queued", "api_version": "2010-04-01",
	})
}
