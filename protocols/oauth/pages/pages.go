// Package pages renders the login pages of the OAuth front end: one
// html/template per kind of step (user name and password, code, choice,
// push wait, QR enrolment, message), plus error and logout pages. They work
// without JavaScript, label every control for screen readers, carry a CSRF
// token in every form and show the realm's display name.
package pages

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
)

//go:embed templates/*.html
var files embed.FS

//go:embed templates/authd.css
var Stylesheet []byte

// Kinds of page.
const (
	Credentials = "credentials" // name and/or password fields
	Code        = "code"        // a one-time code field
	Choice      = "choice"      // one of several options
	Wait        = "wait"        // a push wait that refreshes itself
	QR          = "qr"          // an enrolment QR code
	Message     = "message"     // text to acknowledge
	Error       = "error"       // something went wrong; maybe a link to start again
	Logout      = "logout"      // confirm signing out
)

var kinds = []string{Credentials, Code, Choice, Wait, QR, Message, Error, Logout}

var templates = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, k := range kinds {
		m[k] = template.Must(template.ParseFS(files, "templates/layout.html", "templates/"+k+".html"))
	}
	return m
}()

// Field is one text or password input.
type Field struct {
	ID, Name, Label string
	Type            string // text | password
	Value           string
	Autocomplete    string
	InputMode       string
	Required        bool
}

// ChoiceField is a set of options, one of which is picked.
type ChoiceField struct {
	Name, Legend string
	Options      []string
}

// QRCode is an image of URI with its text alternative.
type QRCode struct {
	Src, URI, Alt string
}

// Link is a plain link (e.g. "start again").
type Link struct {
	Href, Text string
}

// Page is everything a template shows.
type Page struct {
	Lang            string
	Title           string
	Realm           string
	Heading         string
	Messages        []string
	Error           string
	Action          string
	CSRF            string
	Fields          []Field
	Choice          *ChoiceField
	Buttons         bool // render a lone choice as one button per option
	QRs             []QRCode
	Submit          string
	ChallengeNumber int
	// RefreshSeconds and RefreshURL make the page reload itself (the push
	// wait), without JavaScript.
	RefreshSeconds int
	RefreshURL     string
	ExitLabel      string
	Link           *Link
	Hidden         map[string]string
	StylesheetURL  string
}

// Refresh is the content of the meta refresh element. The URL is one the
// front end built from its own path and an opaque id, never user input;
// the template escapes it for the attribute.
func (p *Page) Refresh() string {
	return strconv.Itoa(p.RefreshSeconds) + ";url=" + p.RefreshURL
}

// Render writes the page of kind to w. The whole page is rendered before
// anything is written, so a template error never leaves half a page.
func Render(w io.Writer, kind string, p *Page) error {
	t := templates[kind]
	if t == nil {
		return fmt.Errorf("pages: unknown page kind %q", kind)
	}
	if p.Lang == "" {
		p.Lang = "en"
	}
	if p.StylesheetURL == "" {
		p.StylesheetURL = "/oauth2/static/authd.css"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
