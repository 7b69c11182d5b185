package engine

// Callback types. A front end renders each in its own way: the journey API
// as JSON, RADIUS as a Reply-Message challenge, OAuth as an HTML form.
const (
	CallbackName     = "name"     // asks a user name
	CallbackPassword = "password" // asks a secret that is never echoed
	CallbackCode     = "code"     // asks a one-time code (blank may mean "push")
	CallbackChoice   = "choice"   // asks one of Options
	CallbackWait     = "wait"     // asks the client to come back after Seconds; "exit" leaves
	CallbackText     = "text"     // shows Message (and ChallengeNumber); needs no answer
	CallbackQR       = "qr"       // shows URI as a QR code; needs no answer
)

// Callback is one thing a suspended node needs, or shows. The same struct
// carries the answer back in Value, so clients can echo what they received.
type Callback struct {
	Type            string   `json:"type"`
	ID              string   `json:"id"`
	Prompt          string   `json:"prompt,omitempty"`
	Options         []string `json:"options,omitempty"`
	Seconds         int      `json:"seconds,omitempty"`
	Exit            bool     `json:"exit,omitempty"`
	Message         string   `json:"message,omitempty"`
	ChallengeNumber int      `json:"challenge_number,omitempty"`
	URI             string   `json:"uri,omitempty"`
	Value           *string  `json:"value,omitempty"`
}

// NeedsAnswer reports whether a client must send a value for the callback
// before the session can move on; display-only callbacks need none, and a
// wait without a value means "keep waiting".
func (c Callback) NeedsAnswer() bool {
	switch c.Type {
	case CallbackText, CallbackQR, CallbackWait:
		return false
	}
	return true
}

// Answer returns the submitted value, or "" when none was given.
func (c Callback) Answer() string {
	if c.Value == nil {
		return ""
	}
	return *c.Value
}
