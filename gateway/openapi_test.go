package gateway

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes walks the routes the server registered and the
// document's operations: each must be in the other, every path parameter
// declared, every operation answered with at least one response.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/openapi.json", "", nil).want(t, http.StatusOK)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, p := range e.gw.Patterns() {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Errorf("route %q has no method: the document cannot describe it", p)
			continue
		}
		registered[strings.ToLower(method)+" "+path] = true
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	var documented []string
	for path, ops := range doc.Paths {
		for method, o := range ops {
			key := method + " " + path
			documented = append(documented, key)
			if !registered[key] {
				t.Errorf("the document has %s, which the server does not register", key)
			}
			if len(o.Responses) == 0 {
				t.Errorf("%s has no responses", key)
			}
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				if !slices.ContainsFunc(o.Parameters, func(p struct {
					Name string `json:"name"`
					In   string `json:"in"`
				}) bool {
					return p.Name == m[1] && p.In == "path"
				}) {
					t.Errorf("%s does not declare its path parameter %q", key, m[1])
				}
			}
		}
	}
	for key := range registered {
		if !slices.Contains(documented, key) {
			t.Errorf("route %s is registered but not in openapi.json", key)
		}
	}
	if len(registered) < 20 {
		t.Errorf("only %d routes registered", len(registered))
	}
}
