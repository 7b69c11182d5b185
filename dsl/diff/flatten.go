package diff

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/dsl"
)

// settings is a block's settings as flat key = text pairs, so two
// versions compare field by field whatever the block's Go type. Secrets
// are kept apart: their text says only where they come from.
type settings struct {
	vals    map[string]string
	secrets map[string]dsl.Secret
	// base is the configuration's directory: paths below it (key files,
	// certificates) are shown relative, so two checkouts compare equal.
	base string
}

var (
	exprType   = reflect.TypeOf((*hcl.Expression)(nil)).Elem()
	secretType = reflect.TypeOf(dsl.Secret{})
	rangeType  = reflect.TypeOf(hcl.Range{})
	durType    = reflect.TypeOf(time.Duration(0))
	ipnetType  = reflect.TypeOf(&net.IPNet{})
)

// skipFields are identity or bookkeeping, not settings: names are the
// section's key, ranges move with every edit, Compiled duplicates Nodes.
var skipFields = map[string]bool{"Name": true, "DeclRange": true, "Compiled": true, "Nodes": true}

// keyNames overrides the snake_case of Go field names where an acronym
// plural would come out wrong.
var keyNames = map[string]string{"RedirectURIs": "redirect_uris", "PostLogoutRedirectURIs": "post_logout_redirect_uris"}

func flatten(v any, files map[string]*hcl.File) settings {
	s := settings{vals: map[string]string{}, secrets: map[string]dsl.Secret{}, base: baseDir(files)}
	s.walk("", reflect.ValueOf(v), files)
	return s
}

// baseDir is the directory the configuration's files share.
func baseDir(files map[string]*hcl.File) string {
	base := ""
	for name := range files {
		d := filepath.Dir(name)
		if base == "" || len(d) < len(base) {
			base = d
		}
	}
	return base
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (s settings) walk(prefix string, v reflect.Value, files map[string]*hcl.File) {
	if !v.IsValid() {
		return
	}
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		if v.Type() == exprType || v.Type().Implements(exprType) {
			s.vals[prefix] = exprText(v.Interface().(hcl.Expression), files)
			return
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == secretType:
		sec := v.Interface().(dsl.Secret)
		if sec.IsSet() {
			s.secrets[prefix] = sec
			s.vals[prefix] = secretText(sec)
		}
		return
	case v.Type() == durType:
		s.vals[prefix] = durationText(time.Duration(v.Int()))
		return
	case v.Type() == ipnetType:
		if !v.IsNil() {
			s.vals[prefix] = v.Interface().(*net.IPNet).String()
		}
		return
	case v.Type().Implements(exprType):
		if !(v.Kind() == reflect.Pointer && v.IsNil()) {
			s.vals[prefix] = exprText(v.Interface().(hcl.Expression), files)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			s.walk(prefix, v.Elem(), files)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || skipFields[f.Name] || f.Type == rangeType {
				continue
			}
			if f.Anonymous {
				s.walk(prefix, v.Field(i), files)
				continue
			}
			s.walk(join(prefix, fieldKey(f)), v.Field(i), files)
		}
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return
		}
		if named := elemName(v.Index(0)); named != "" {
			for i := 0; i < v.Len(); i++ {
				e := v.Index(i)
				s.walk(join(prefix, elemName(e)), e, files)
			}
			return
		}
		var parts []string
		for i := 0; i < v.Len(); i++ {
			parts = append(parts, s.scalarText(v.Index(i)))
		}
		s.vals[prefix] = "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			s.walk(fmt.Sprintf("%s[%q]", prefix, fmt.Sprint(k)), v.MapIndex(k), files)
		}
	default:
		s.vals[prefix] = s.scalarText(v)
	}
}

// secretText says where a secret comes from, never what it is.
func secretText(sec dsl.Secret) string {
	if sec.Source() == "literal" {
		return "(literal secret)"
	}
	return "(secret from " + sec.Source() + "())"
}

// elemName is the Name of a struct element (claims), which keys it better
// than its position.
func elemName(e reflect.Value) string {
	for e.Kind() == reflect.Pointer || e.Kind() == reflect.Interface {
		if e.IsNil() {
			return ""
		}
		e = e.Elem()
	}
	if e.Kind() != reflect.Struct {
		return ""
	}
	if f := e.FieldByName("Name"); f.IsValid() && f.Kind() == reflect.String {
		return strings.ToLower(e.Type().Name()) + " " + fmt.Sprintf("%q", f.String())
	}
	return ""
}

func (s settings) scalarText(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		str := v.String()
		if s.base != "" && s.base != "." && filepath.IsAbs(str) == filepath.IsAbs(s.base) {
			if rel, ok := strings.CutPrefix(str, s.base+string(filepath.Separator)); ok {
				str = rel
			}
		}
		b, _ := json.Marshal(str)
		return string(b)
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return "null"
		}
		return s.scalarText(v.Elem())
	}
	return fmt.Sprint(v.Interface())
}

func fieldKey(f reflect.StructField) string {
	if tag := f.Tag.Get("hcl"); tag != "" {
		if name, _, _ := strings.Cut(tag, ","); name != "" {
			return name
		}
	}
	if k, ok := keyNames[f.Name]; ok {
		return k
	}
	return snake(f.Name)
}

// snake turns a Go name into the configuration's spelling:
// AccessTokenTTL → access_token_ttl, ClientID → client_id.
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// exprText is an expression as written, whitespace collapsed, so a
// reformatted file is no change. Sources of literal secrets are masked in
// Config.Files already.
func exprText(e hcl.Expression, files map[string]*hcl.File) string {
	r := e.Range()
	if f := files[r.Filename]; f != nil && r.Start.Byte >= 0 && r.End.Byte <= len(f.Bytes) && r.Start.Byte <= r.End.Byte {
		return strings.Join(strings.Fields(string(f.Bytes[r.Start.Byte:r.End.Byte])), " ")
	}
	return fmt.Sprintf("(expression at %s)", r)
}

// durationText writes a duration as the configuration would: "10h",
// "30d", "1h30m", "90s".
func durationText(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	if d < 0 {
		return "never"
	}
	const day = 24 * time.Hour
	if d%(7*day) == 0 {
		return fmt.Sprintf("%dw", d/(7*day))
	}
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	if d > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%dns", d)
	}
	return b.String()
}

// compare lists the keys whose text differs, sorted. A secret whose value
// changed while its source did not reads "(value changed)", never the
// value; so does a URL whose credentials alone changed, since the texts
// have URL credentials masked (dsl.MaskURLCredentials).
func compare(old, new settings) []Line {
	keys := map[string]bool{}
	for k := range old.vals {
		keys[k] = true
	}
	for k := range new.vals {
		keys[k] = true
	}
	var out []Line
	for _, k := range sortedKeys(keys) {
		rawOld, inOld := old.vals[k]
		rawNew, inNew := new.vals[k]
		o, n := dsl.MaskURLCredentials(rawOld), dsl.MaskURLCredentials(rawNew)
		if inOld && inNew && o == n {
			os, ns := old.secrets[k], new.secrets[k]
			if rawOld != rawNew || os.IsSet() && ns.IsSet() && os.Value() != ns.Value() {
				out = append(out, Line{Key: k, Old: o, New: n + " (value changed)"})
			}
			continue
		}
		out = append(out, Line{Key: k, Old: orNone(o, inOld), New: orNone(n, inNew)})
	}
	return out
}

func orNone(s string, ok bool) string {
	if !ok {
		return "(unset)"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
