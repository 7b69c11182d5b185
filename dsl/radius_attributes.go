package dsl

import (
	"fmt"
	"strings"
	"sync"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// ReplyAttributeChecker reports whether a RADIUS reply attribute called
// name can carry v. v is as known as the configuration makes it: a
// constant is wholly known; a runtime expression (user.groups) is unknown
// but typed (list(string)), or cty.DynamicVal where nothing is known (a
// state key). An unknown name, a reserved attribute or a value that cannot
// be encoded is an error whose message is shown to the user as is.
type ReplyAttributeChecker func(name string, v cty.Value) error

// replyAttrs is what the RADIUS front end registered; nil until then.
var replyAttrs struct {
	sync.Mutex
	check ReplyAttributeChecker
	known func() []string
	names []string          // known(), taken on first use
	lower map[string]string // lower-cased name -> name
}

// RegisterReplyAttributeChecker lets the RADIUS front end check the keys
// and values of every radius_policy's reply_attributes when a
// configuration loads. It exists because the dictionaries live in
// protocols/radius, which imports dsl, so dsl cannot call them directly:
// protocols/radius registers itself from an init function, and anything
// that links it in (authd validate, authd run) gets the check; a program
// without it checks only the references of the values.
//
// known lists the attribute names, for "did you mean" on a misspelt one;
// nil leaves unknown names to check. A later call replaces an earlier one.
func RegisterReplyAttributeChecker(check ReplyAttributeChecker, known func() []string) {
	replyAttrs.Lock()
	defer replyAttrs.Unlock()
	replyAttrs.check, replyAttrs.known = check, known
	replyAttrs.names, replyAttrs.lower = nil, nil
}

// replyAttributeChecker returns the registered checker with the known
// names, lower-cased to the dictionary's spelling (names are
// case-insensitive, as in the dictionaries); lower is nil when no list of
// names was registered.
func replyAttributeChecker() (check ReplyAttributeChecker, names []string, lower map[string]string) {
	replyAttrs.Lock()
	defer replyAttrs.Unlock()
	if replyAttrs.check != nil && replyAttrs.known != nil && replyAttrs.lower == nil {
		replyAttrs.names = replyAttrs.known()
		replyAttrs.lower = make(map[string]string, len(replyAttrs.names))
		for _, n := range replyAttrs.names {
			replyAttrs.lower[strings.ToLower(n)] = n
		}
	}
	return replyAttrs.check, replyAttrs.names, replyAttrs.lower
}

// checkReplyAttribute runs the registered checker on one reply_attributes
// pair: is the name known (else a did-you-mean), may a reply carry it at
// all, then can it carry the value, as far as the value is known. val is
// the value evaluated against the runtime variables' unknown stand-ins, so
// a constant is checked by encoding it and an expression by its type.
func checkReplyAttribute(policy, name string, pair hcl.KeyValuePair, val cty.Value) hcl.Diagnostics {
	check, names, lower := replyAttributeChecker()
	if check == nil {
		return nil
	}
	if lower != nil {
		if _, ok := lower[strings.ToLower(name)]; !ok {
			detail := fmt.Sprintf("radius_policy %q sets %q, which none of authd's RADIUS dictionaries defines.", policy, name)
			if s := attributeSuggestion(name, names); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			}
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unknown RADIUS attribute",
				Detail:   detail,
				Subject:  pair.Key.Range().Ptr(),
			}}
		}
	}
	// Whatever the value, some attributes are not for a policy to set.
	if err := check(name, cty.DynamicVal); err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reply attribute not allowed",
			Detail:   fmt.Sprintf("In radius_policy %q: %s.", policy, strings.TrimSuffix(err.Error(), ".")),
			Subject:  pair.Key.Range().Ptr(),
		}}
	}
	if val == cty.NilVal {
		return nil
	}
	val, _ = val.UnmarkDeep()
	if err := check(name, val); err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reply attribute value",
			Detail:   fmt.Sprintf("In radius_policy %q: %s.", policy, strings.TrimSuffix(err.Error(), ".")),
			Subject:  pair.Value.Range().Ptr(),
		}}
	}
	return nil
}

// attributeSuggestion is the known name closest to given, ignoring case,
// when it is close enough to be a misspelling.
func attributeSuggestion(given string, names []string) string {
	lg := strings.ToLower(given)
	best, bestDist := "", 4
	for _, n := range names {
		if d := len(n) - len(lg); d >= bestDist || -d >= bestDist {
			continue
		}
		if d := levenshtein.Distance(lg, strings.ToLower(n), nil); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}
