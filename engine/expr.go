package engine

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// UserType is the type of the `user` variable of runtime expressions.
var UserType = cty.Object(map[string]cty.Type{
	"name":       cty.String,
	"email":      cty.String,
	"phone":      cty.String,
	"groups":     cty.List(cty.String),
	"attributes": cty.Map(cty.String),
})

// RequestType is the type of the `request` variable of runtime expressions.
var RequestType = cty.Object(map[string]cty.Type{
	"protocol":   cty.String,
	"client_ip":  cty.String,
	"user_agent": cty.String,
	"locale":     cty.String,
	"radius": cty.Object(map[string]cty.Type{
		"nas_identifier":     cty.String,
		"nas_ip":             cty.String,
		"calling_station_id": cty.String,
	}),
	"oauth": cty.Object(map[string]cty.Type{
		"client_id": cty.String,
		"scopes":    cty.List(cty.String),
	}),
})

// RuntimeVariables are the variables a runtime expression may use, by type.
// `state` is checked separately: its keys come from the journey's nodes.
var RuntimeVariables = map[string]cty.Type{
	"user":    UserType,
	"request": RequestType,
	"now":     cty.String,
	"state":   cty.DynamicPseudoType,
}

// Functions returns the functions available to expressions: the go-cty
// standard library under the names policy authors know from Terraform.
// dsl adds env() and file() for configuration-time values only.
func Functions() map[string]function.Function {
	return map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"index":           stdlib.IndexFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setunion":        stdlib.SetUnionFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
}

// RuntimeEvalContext builds the context for one evaluation from the
// variables' values.
func RuntimeEvalContext(user, request, state cty.Value, now string) *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"user":    user,
			"request": request,
			"state":   state,
			"now":     cty.StringVal(now),
		},
		Functions: runtimeFunctions,
	}
}

var runtimeFunctions = Functions()
