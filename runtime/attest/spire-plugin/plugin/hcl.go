package plugin

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
)

var trustDomain = regexp.MustCompile(`^[a-z0-9._-]{1,255}$`)

// DecodeHCL decodes plugin_data into out, refusing keys out does not name (a typo must not silently fall back
// to a default) and a core configuration without a trust domain.
func DecodeHCL(td, text string, out interface{}, known ...string) error {
	if !trustDomain.MatchString(td) {
		return fmt.Errorf("core configuration: trust domain %q is not a SPIFFE trust domain name", td)
	}
	file, err := hcl.Parse(text)
	if err != nil {
		return fmt.Errorf("plugin_data: %v", err)
	}
	if list, ok := file.Node.(*ast.ObjectList); ok {
		allowed := map[string]bool{}
		for _, k := range known {
			allowed[k] = true
		}
		for _, item := range list.Items {
			if k := item.Keys[0].Token.Value(); !allowed[fmt.Sprint(k)] {
				return fmt.Errorf("plugin_data: unknown key %v (known: %v)", k, known)
			}
		}
	}
	if err := hcl.DecodeObject(out, file); err != nil {
		return fmt.Errorf("plugin_data: %v", err)
	}
	return nil
}
