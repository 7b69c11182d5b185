package dsl

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// secretAttributes are the attributes whose value decodes as a Secret
// (every l.secret call reads one of these names). decodeWebhook's headers
// are the other secrets: their values, under names sensitiveHeader picks.
// Keep this list in step with the decoders: it is what masks a secret
// when the file does not parse, and so is never decoded.
var secretAttributes = map[string]bool{
	"secret":         true, // radius_client, api_client
	"client_secret":  true, // relying_party, identity_provider, protected_resource
	"password":       true, // api_client callback_auth
	"encryption_key": true, // server store
	"auth_token":     true, // sms_gateway twilio
}

// maxResyncs bounds how often one file's scan restarts after a line the
// lexer misreads (an unterminated string or heredoc); each restart lexes
// the rest of the file again, so a file broken on every line would cost
// quadratic time. Past it the rest of the file is masked whole.
const maxResyncs = 64

// redactSource masks the values of secret attributes in a file's source,
// for diagnostic snippets. Decoding masks the literal secrets it reads
// (l.redact), but a file that does not parse is never decoded, and a
// syntax error's snippet would print the raw line; so this works on
// tokens, not on the syntax tree, and holds for lines that do not parse.
// Every masked byte becomes '*' and line breaks stay, so byte offsets,
// lines and columns still point at the same text. It errs towards
// masking: a value it cannot delimit is masked to the end of the file.
// env() and file() calls are kept, since their arguments name where a
// secret lives, not the secret. So is the rest of a URL whose password
// is masked, in any attribute.
func redactSource(filename string, src []byte) []byte {
	m := &masker{src: src}
	if strings.HasSuffix(filename, ".json") {
		m.json()
	} else {
		m.native(filename)
	}
	if m.out == nil {
		return src
	}
	return m.out
}

// redactFiles returns files with every source passed through
// redactSource, sharing the files where nothing was masked.
func redactFiles(files map[string]*hcl.File) map[string]*hcl.File {
	out := make(map[string]*hcl.File, len(files))
	for name, f := range files {
		out[name] = f
		if f == nil {
			continue
		}
		if b := redactSource(name, f.Bytes); !sameBytes(b, f.Bytes) {
			nf := *f
			nf.Bytes = b
			out[name] = &nf
		}
	}
	return out
}

// sameBytes reports whether a and b are the same slice (not merely equal
// contents).
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// masker copies src on the first masked byte.
type masker struct {
	src, out []byte
}

// mask turns src[from:to] into '*' but for quotes and line breaks, which
// keep a string looking like one and every line where it was.
func (m *masker) mask(from, to int) {
	from, to = max(from, 0), min(to, len(m.src))
	for i := from; i < to; i++ {
		switch c := m.src[i]; c {
		case '"', '\n', '\r':
		default:
			if m.out == nil {
				if c == '*' {
					continue
				}
				m.out = bytes.Clone(m.src)
			}
			// Each byte, UTF-8 continuations included, becomes one '*'.
			m.out[i] = '*'
		}
	}
}

// urlUserinfo finds the user info of a URL (scheme://USERINFO@host): as
// net/url reads it, up to the last '@' before the path, query or
// fragment, so a password holding an unescaped '@' is found whole.
var urlUserinfo = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://([^/?#\s"\\]*)@`)

// urlCredentials returns the byte ranges of the credentials in the URLs
// of s: each password (user:PASSWORD@), or the whole user info when it
// has no password, since a lone user name there is usually a token
// (https://TOKEN@host). It is the one place that decides what of a URL is
// secret, for snippets (masker) and messages (MaskURLCredentials) alike.
func urlCredentials(s []byte) [][2]int {
	if !bytes.Contains(s, []byte("://")) {
		return nil
	}
	var out [][2]int
	for _, g := range urlUserinfo.FindAllSubmatchIndex(s, -1) {
		from, to := g[2], g[3]
		if i := bytes.IndexByte(s[from:to], ':'); i >= 0 {
			from += i + 1
		}
		if from < to {
			out = append(out, [2]int{from, to})
		}
	}
	return out
}

// maskURLPasswords masks the URL credentials in src[from:to], byte for
// byte, so positions hold.
func (m *masker) maskURLPasswords(from, to int) {
	from, to = max(from, 0), min(to, len(m.src))
	if from >= to {
		return
	}
	for _, c := range urlCredentials(m.src[from:to]) {
		m.mask(from+c[0], from+c[1])
	}
}

// urlMask stands for a URL's password (or lone user name) in messages:
// always the same, so it tells nothing of the secret's length.
const urlMask = "*****"

// MaskURLCredentials returns s with the credentials of every URL in it
// masked: https://user:password@host/x reads https://user:*****@host/x,
// and https://token@host reads https://*****@host. s may be a bare URL or
// any text quoting URLs (a diagnostic, a log line, a diff), and a URL
// need not parse to be masked. Every message, diff and log line of
// authd that may quote a configured URL goes through it.
func MaskURLCredentials(s string) string {
	cs := urlCredentials([]byte(s))
	if len(cs) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, c := range cs {
		b.WriteString(s[last:c[0]])
		b.WriteString(urlMask)
		last = c[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// maskDiagnostic returns d, or a copy of it with the URL credentials in
// its summary and detail masked.
func maskDiagnostic(d *hcl.Diagnostic) *hcl.Diagnostic {
	summary, detail := MaskURLCredentials(d.Summary), MaskURLCredentials(d.Detail)
	if summary == d.Summary && detail == d.Detail {
		return d
	}
	c := *d
	c.Summary, c.Detail = summary, detail
	return &c
}

// native scans HCL native syntax. The lexer runs over the whole file, so
// heredocs and values over several lines are delimited as the parser
// delimits them; where its view of a line stops matching what a reader
// sees (it reads the lines after an unterminated string as string
// content), the scan restarts at the next line. After a restart the
// block a line belongs to is unknown, so header-like names (key_id too)
// are masked as well. URL passwords are masked in every string, whatever
// its attribute.
func (m *masker) native(filename string) {
	start := hcl.InitialPos
	isSecret := func(name string) bool { return secretAttributes[name] }
	for resyncs := 0; ; resyncs++ {
		if resyncs > maxResyncs {
			m.mask(start.Byte, len(m.src))
			return
		}
		toks, _ := hclsyntax.LexConfig(m.src[start.Byte:], filename, start)
		toks, next := lexedUntilMisread(toks)
		for _, t := range toks {
			if t.Type == hclsyntax.TokenQuotedLit || t.Type == hclsyntax.TokenStringLit {
				m.maskURLPasswords(t.Range.Start.Byte, t.Range.End.Byte)
			}
		}
		m.walk(toks, isSecret)
		if next < 0 || next >= len(m.src) {
			return
		}
		start = hcl.Pos{Byte: next, Line: 1 + bytes.Count(m.src[:next], []byte{'\n'}), Column: 1}
		isSecret = func(name string) bool { return secretAttributes[name] || sensitiveHeader(name) }
	}
}

// lexedUntilMisread returns the tokens that read as a reader reads them,
// and the byte offset of the line to lex again from, or -1. An
// unterminated quoted string ends at its line (what follows is garbage to
// the lexer); an unterminated heredoc runs to the end of the file, which
// is kept, so a secret heredoc is masked to the end, but the lines after
// its opening are scanned again as code.
func lexedUntilMisread(toks hclsyntax.Tokens) (hclsyntax.Tokens, int) {
	var heredocs []int
	for i, t := range toks {
		switch t.Type {
		case hclsyntax.TokenQuotedNewline:
			return toks[:i], t.Range.End.Byte
		case hclsyntax.TokenOHeredoc:
			heredocs = append(heredocs, i)
		case hclsyntax.TokenCHeredoc:
			if len(heredocs) > 0 {
				heredocs = heredocs[:len(heredocs)-1]
			}
		}
	}
	if len(heredocs) > 0 {
		return toks, toks[heredocs[0]].Range.End.Byte
	}
	return toks, -1
}

// walk masks the values of the keys isSecret picks in toks, at any depth:
// block attributes (name = value) and object items (name = value,
// name: value, "name" = value).
func (m *masker) walk(toks hclsyntax.Tokens, isSecret func(string) bool) {
	for i := 0; i < len(toks); i++ {
		name, j, ok := nativeKey(toks, i)
		if !ok {
			continue
		}
		end := nativeValueEnd(toks, j)
		switch {
		case isSecret(name):
			m.maskNativeValue(toks[j:end])
		case name == "headers":
			m.walk(toks[j:end], func(n string) bool { return isSecret(n) || sensitiveHeader(n) })
		default:
			continue // nested blocks and objects are walked in turn
		}
		i = end - 1
	}
}

// nativeKey reads a key (an identifier or a quoted name followed by = or
// :) at i, returning the index of its value's first token.
func nativeKey(toks hclsyntax.Tokens, i int) (string, int, bool) {
	isAssign := func(k int) bool {
		return k < len(toks) && (toks[k].Type == hclsyntax.TokenEqual || toks[k].Type == hclsyntax.TokenColon)
	}
	switch {
	case toks[i].Type == hclsyntax.TokenIdent && isAssign(i+1):
		return string(toks[i].Bytes), i + 2, true
	case toks[i].Type == hclsyntax.TokenOQuote && i+3 < len(toks) &&
		toks[i+1].Type == hclsyntax.TokenQuotedLit && toks[i+2].Type == hclsyntax.TokenCQuote && isAssign(i+3):
		return string(toks[i+1].Bytes), i + 4, true
	}
	return "", 0, false
}

// nativeValueEnd returns the index just past a value starting at j: the
// line break, comma or closing bracket that ends it outside any nesting
// (a comment that ends the line is part of it), or the end of toks.
func nativeValueEnd(toks hclsyntax.Tokens, j int) int {
	depth := 0
	for k := j; k < len(toks); k++ {
		switch t := toks[k]; t.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl, hclsyntax.TokenOHeredoc:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenTemplateSeqEnd, hclsyntax.TokenCHeredoc:
			if depth == 0 {
				return k
			}
			depth--
		case hclsyntax.TokenNewline, hclsyntax.TokenComma, hclsyntax.TokenEOF:
			if depth == 0 {
				return k
			}
		case hclsyntax.TokenComment:
			if depth == 0 && bytes.HasSuffix(t.Bytes, []byte{'\n'}) {
				return k + 1
			}
		}
	}
	return len(toks)
}

// maskNativeValue masks every token of a value but its quotes, heredoc
// and template delimiters, function calls' names, parentheses and commas
// (trimspace(file("x")) stays legible), and env() and file() calls whole.
func (m *masker) maskNativeValue(toks hclsyntax.Tokens) {
	keep := map[int]bool{}
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		switch t.Type {
		case hclsyntax.TokenOQuote, hclsyntax.TokenCQuote, hclsyntax.TokenOHeredoc, hclsyntax.TokenCHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl, hclsyntax.TokenTemplateSeqEnd,
			hclsyntax.TokenNewline, hclsyntax.TokenEOF:
			continue
		case hclsyntax.TokenIdent:
			if k+1 >= len(toks) || toks[k+1].Type != hclsyntax.TokenOParen {
				break
			}
			end, commas := callEnd(toks, k+1)
			if end < 0 {
				break
			}
			if name := string(t.Bytes); name == "env" || name == "file" {
				k = end
				continue
			}
			keep[k+1], keep[end] = true, true
			for _, c := range commas {
				keep[c] = true
			}
			continue
		}
		if !keep[k] {
			m.mask(t.Range.Start.Byte, t.Range.End.Byte)
		}
	}
}

// callEnd returns the index of the parenthesis closing the one at open
// and those of the commas between the arguments; an unclosed call gives
// -1, and no commas, so that all of it is masked.
func callEnd(toks hclsyntax.Tokens, open int) (int, []int) {
	depth := 0
	var commas []int
	for k := open; k < len(toks); k++ {
		switch toks[k].Type {
		case hclsyntax.TokenOParen, hclsyntax.TokenOBrace, hclsyntax.TokenOBrack:
			depth++
		case hclsyntax.TokenCParen, hclsyntax.TokenCBrace, hclsyntax.TokenCBrack:
			depth--
			if depth == 0 {
				if toks[k].Type != hclsyntax.TokenCParen {
					return -1, nil
				}
				return k, commas
			}
		case hclsyntax.TokenComma:
			if depth == 1 {
				commas = append(commas, k)
			}
		}
	}
	return -1, nil
}

// jsonTok is a token of the JSON syntax: a string (quotes included), one
// of {}[]:, or a run of anything else (numbers, true, junk).
type jsonTok struct {
	start, end int
	kind       byte // '"' string, 'a' other, or the punctuation itself
}

// envOrFileJSON matches a JSON string that is a whole env() or file()
// call, "${env(\"NAME\")}", which names a secret's source, not the secret.
var envOrFileJSON = regexp.MustCompile(`^"\$\{\s*(env|file)\(\s*\\"[^"\\]*\\"\s*\)\s*\}"$`)

// json scans the JSON syntax (*.hcl.json) with a tokenizer of its own
// that, unlike the parser, ends an unterminated string at its line.
func (m *masker) json() {
	var toks []jsonTok
	src := m.src
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("{}[]:,", c) >= 0:
			toks = append(toks, jsonTok{i, i + 1, c})
			i++
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' && j+1 < len(src) && src[j+1] != '\n' {
					j++
				}
				j++
			}
			if j < len(src) && src[j] == '"' {
				j++
			}
			toks = append(toks, jsonTok{i, j, '"'})
			i = j
		default:
			j := i
			for j < len(src) && strings.IndexByte(" \t\r\n{}[]:,\"", src[j]) < 0 {
				j++
			}
			toks = append(toks, jsonTok{i, j, 'a'})
			i = j
		}
	}
	for _, t := range toks {
		if t.kind == '"' {
			m.maskURLPasswords(t.start, t.end)
		}
	}
	m.walkJSON(toks, func(name string) bool { return secretAttributes[name] })
}

func (m *masker) walkJSON(toks []jsonTok, isSecret func(string) bool) {
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind != '"' || toks[i+1].kind != ':' {
			continue
		}
		raw := m.src[toks[i].start:toks[i].end]
		var name string
		if json.Unmarshal(raw, &name) != nil {
			name = strings.Trim(string(raw), `"`)
		}
		j := i + 2
		end := jsonValueEnd(toks, j)
		switch {
		case name == "headers":
			m.walkJSON(toks[j:end], func(n string) bool { return isSecret(n) || sensitiveHeader(n) })
		case isSecret(name) && j < end && toks[j].kind != '{' && toks[j].kind != '[':
			// An object or array under a secret's name is a block
			// labelled like one ("radius_client": {"secret": {...}}):
			// it is walked, not masked.
			for _, t := range toks[j:end] {
				switch {
				case t.kind == 'a':
					m.mask(t.start, t.end)
				case t.kind == '"' && !envOrFileJSON.Match(m.src[t.start:t.end]):
					from, to := t.start+1, t.end
					if to-1 > t.start && m.src[to-1] == '"' {
						to--
					}
					m.mask(from, to)
				}
			}
		default:
			continue
		}
		i = end - 1
	}
}

// jsonValueEnd returns the index just past a JSON value starting at j.
func jsonValueEnd(toks []jsonTok, j int) int {
	depth := 0
	for k := j; k < len(toks); k++ {
		switch toks[k].kind {
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return k
			}
			depth--
			if depth == 0 {
				return k + 1
			}
		case ',':
			if depth == 0 {
				return k
			}
		}
	}
	return len(toks)
}
