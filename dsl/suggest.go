package dsl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// decodeContent decodes a block's body against its schema, as Body.Content
// does, with hintUnknown's help for what the schema does not know. Every
// block of the language is read through it (node settings through
// decodeSettings), so a misspelt argument gets the same "did you mean"
// in whatever block it sits.
func decodeContent(body hcl.Body, schema *hcl.BodySchema, owner string) (*hcl.BodyContent, hcl.Diagnostics) {
	c, diags := body.Content(schema)
	return c, hintUnknown(diags, schema, c, owner)
}

// Content is decodeContent for the other HCL files authd reads (the
// scenarios of authd test), so a misspelt name there says what was meant
// as it does in a configuration.
func Content(body hcl.Body, schema *hcl.BodySchema, owner string) (*hcl.BodyContent, hcl.Diagnostics) {
	return decodeContent(body, schema, owner)
}

// unknownSummaries are hcl's summaries for a name the schema lacks: an
// argument or a block in native syntax, either in JSON.
var unknownSummaries = map[string]bool{
	"Unsupported argument":            true,
	"Unsupported block type":          true,
	"Extraneous JSON object property": true,
}

// hintUnknown makes sure every unknown argument or block in diags says
// what was meant. hcl adds "Did you mean" itself when a name is close to
// one the schema has and the body has not set yet; where it has not, the
// closest of the names it left out (arguments it hides, like a node's
// next and outcomes read beforehand) is suggested, else the names the
// block takes are listed, or, for a block that takes none (poll, log),
// that its body stays empty. owner names the block, like
// `radius_client "vpn"`; set is what the body already set (may be nil).
func hintUnknown(diags hcl.Diagnostics, schema *hcl.BodySchema, set *hcl.BodyContent, owner string) hcl.Diagnostics {
	for i, d := range diags {
		if d == nil || !unknownSummaries[d.Summary] || strings.Contains(d.Detail, "Did you mean") {
			continue
		}
		name, ok := quotedName(d.Detail)
		if !ok {
			continue
		}
		var attrs, blocks, free []string
		for _, a := range schema.Attributes {
			attrs = append(attrs, a.Name)
			if set == nil || set.Attributes[a.Name] == nil {
				free = append(free, a.Name)
			}
		}
		for _, b := range schema.Blocks {
			blocks = append(blocks, b.Type)
			free = append(free, b.Type)
		}
		c := *d
		switch s := nameSuggestion(name, free); {
		case s != "":
			c.Detail += fmt.Sprintf(" Did you mean %q?", s)
		case len(attrs) == 0 && len(blocks) == 0:
			c.Detail += fmt.Sprintf(" Nothing goes in %s: leave its body empty.", owner)
		case len(attrs) == 0:
			c.Detail += fmt.Sprintf(" Only blocks go in %s: %s.", owner, quoteList(blocks))
		default:
			c.Detail += fmt.Sprintf(" The arguments of %s are %s", owner, quoteList(attrs))
			if len(blocks) > 0 {
				c.Detail += fmt.Sprintf(", and its blocks %s", quoteList(blocks))
			}
			c.Detail += "."
		}
		diags[i] = &c
	}
	return diags
}

// quotedName is the first quoted name in an hcl detail: the argument or
// block type it reports.
func quotedName(detail string) (string, bool) {
	i := strings.IndexByte(detail, '"')
	if i < 0 {
		return "", false
	}
	q, err := strconv.QuotedPrefix(detail[i:])
	if err != nil {
		return "", false
	}
	name, err := strconv.Unquote(q)
	return name, err == nil
}

// blockTitle is a block as the configuration writes its header:
// radius_client "vpn", push_provider "poll" "p", lockout.
func blockTitle(b *hcl.Block) string {
	var s strings.Builder
	s.WriteString(b.Type)
	for _, l := range b.Labels {
		fmt.Fprintf(&s, " %q", l)
	}
	return s.String()
}
