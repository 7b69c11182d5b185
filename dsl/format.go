package dsl

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns the canonical formatting of one file (hclwrite.Format,
// as `terraform fmt` does), or the syntax errors that prevent it. JSON
// files (*.hcl.json) have no canonical form here and come back unchanged.
func Format(src []byte, filename string) ([]byte, hcl.Diagnostics) {
	if strings.HasSuffix(filename, ".json") {
		return src, nil
	}
	_, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), diags
}
