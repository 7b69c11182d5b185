package dsl

import (
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
)

// settingsPlan is how to decode one settings struct type: its attributes
// and the node meta-arguments in one schema, so a node body is read with
// a single Content call. gohcl recomputes a struct's tags by reflection on
// every decode; with ten thousand nodes that is most of validate's
// garbage, so plans are computed once per type. Types with blocks,
// labels or remain fields are left to gohcl (plan nil).
type settingsPlan struct {
	schema *hcl.BodySchema // settings plus next and outcomes
	fields []planField
}

type planField struct {
	name  string
	index int
	expr  bool // an hcl.Expression field: kept, not evaluated
}

var (
	plans     sync.Map // reflect.Type -> *settingsPlan (nil stored as noPlan)
	noPlan    = &settingsPlan{}
	exprType  = reflect.TypeOf((*hcl.Expression)(nil)).Elem()
	metaAttrs = []hcl.AttributeSchema{{Name: "next"}, {Name: "outcomes"}}
)

// planFor returns the plan for cfg's type, or nil when gohcl must decode
// it. A nil cfg (a type without settings) gets a plan of meta-arguments
// only.
func planFor(cfg any) *settingsPlan {
	if cfg == nil {
		return &settingsPlan{schema: &hcl.BodySchema{Attributes: metaAttrs}}
	}
	t := reflect.TypeOf(cfg)
	if p, ok := plans.Load(t); ok {
		if p == noPlan {
			return nil
		}
		return p.(*settingsPlan)
	}
	p := buildPlan(t)
	if p == nil {
		plans.Store(t, noPlan)
		return nil
	}
	plans.Store(t, p)
	return p
}

func buildPlan(t reflect.Type) *settingsPlan {
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	st := t.Elem()
	p := &settingsPlan{schema: &hcl.BodySchema{}}
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		tag, ok := f.Tag.Lookup("hcl")
		if !ok {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		switch kind {
		case "", "attr", "optional":
		default:
			return nil // block, label, remain, body: gohcl's job
		}
		if !f.IsExported() || name == "next" || name == "outcomes" {
			return nil
		}
		p.schema.Attributes = append(p.schema.Attributes, hcl.AttributeSchema{Name: name, Required: kind != "optional"})
		p.fields = append(p.fields, planField{name: name, index: i, expr: f.Type == exprType})
	}
	p.schema.Attributes = append(p.schema.Attributes, metaAttrs...)
	return p
}

// decode reads body into cfg as gohcl would (same conversions and
// messages, through gohcl.DecodeExpression) and returns the content, from
// which the caller takes next and outcomes.
func (p *settingsPlan) decode(body hcl.Body, ctx *hcl.EvalContext, cfg any) (*hcl.BodyContent, hcl.Diagnostics) {
	content, diags := body.Content(p.schema)
	if content == nil || cfg == nil {
		return content, diags
	}
	v := reflect.ValueOf(cfg).Elem()
	for _, f := range p.fields {
		fv := v.Field(f.index)
		attr := content.Attributes[f.name]
		if attr == nil {
			if f.expr {
				// As gohcl does: an absent expression reads as null.
				fv.Set(reflect.ValueOf(hcl.StaticExpr(cty.NullVal(cty.DynamicPseudoType), body.MissingItemRange())))
			}
			continue
		}
		if f.expr {
			fv.Set(reflect.ValueOf(attr.Expr))
			continue
		}
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, ctx, fv.Addr().Interface())...)
	}
	return content, diags
}
