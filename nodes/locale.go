package nodes

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

// Localised text settings are maps keyed by language tag ({ en = "...",
// fr = "..." }). The text shown is the first of: the request's locale (an
// Accept-Language list is read in order, and "fr-CA" also tries "fr"), the
// realm's default_locale, "en", then the first language in sorted order, so
// a message never comes out empty because of a missing translation.

var langRE = regexp.MustCompile(`^[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*$`)

// checkLocalized validates a localised text setting: language tags as keys
// and no empty text.
func checkLocalized(setting string, m map[string]string, p *problems) {
	for _, k := range sortedKeys(m) {
		if !langRE.MatchString(k) {
			p.add(setting, "%q is not a language tag (write en, fr, pt-BR...)", k)
			continue
		}
		if strings.TrimSpace(m[k]) == "" {
			p.add(setting, "the %s text is empty", k)
		}
	}
}

// normLang folds a language tag for comparison: "en_GB" equals "en-gb".
func normLang(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
}

// localize picks the text of m for this request.
func localize(m map[string]string, nc *engine.Context) string {
	if len(m) == 0 {
		return ""
	}
	norm := make(map[string]string, len(m))
	for k, v := range m {
		norm[normLang(k)] = v
	}
	var want []string
	for _, part := range strings.Split(request(nc).Locale, ",") {
		tag := normLang(strings.SplitN(part, ";", 2)[0])
		if tag == "" || tag == "*" {
			continue
		}
		want = append(want, tag)
		if i := strings.IndexByte(tag, '-'); i > 0 {
			want = append(want, tag[:i])
		}
	}
	if nc.Realm != nil && nc.Realm.DefaultLocale != "" {
		want = append(want, normLang(nc.Realm.DefaultLocale))
	}
	want = append(want, "en")
	for _, tag := range want {
		if v, ok := norm[tag]; ok {
			return v
		}
	}
	return m[sortedKeys(m)[0]]
}

// localizedValue turns an evaluated text expression into a localised map:
// a string is the text in every language; an object or map of strings is
// keyed by language.
func localizedValue(v cty.Value) (map[string]string, error) {
	v, _ = v.UnmarkDeep()
	switch {
	case v.IsNull():
		return nil, fmt.Errorf("is null")
	case !v.IsWhollyKnown():
		return nil, fmt.Errorf("is not known")
	case v.Type() == cty.String:
		return map[string]string{"": v.AsString()}, nil
	case v.Type().IsObjectType() || v.Type().IsMapType():
		out := map[string]string{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() || e.Type() != cty.String {
				return nil, fmt.Errorf("the %s text must be a string, not %s", k.AsString(), friendly(e))
			}
			if !langRE.MatchString(k.AsString()) {
				return nil, fmt.Errorf("%q is not a language tag (write en, fr, pt-BR...)", k.AsString())
			}
			out[k.AsString()] = e.AsString()
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("has no text")
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a string or a map of language to text, not %s", friendly(v))
}

// friendly names a value's type for messages.
func friendly(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return v.Type().FriendlyName()
}
