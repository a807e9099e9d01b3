package main

import (
	"encoding/json"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// baseFuncs is sprig's text function map with Helm's changes: no access to
// the environment (env, expandenv) or DNS, and Helm's own YAML/JSON helpers
// in place of sprig's. The functions that need the template set (include, tpl) or
// render-time state (required, fail) are added by the engine.
func baseFuncs() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	helm := template.FuncMap{
		"toYaml":        toYAML,
		"mustToYaml":    mustToYAML,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"toJson":        toJSON,
		"mustToJson":    mustToJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"lookup":        lookup,
		// Helm answers "" unless --enable-dns is given; a test render must
		// not depend on the network either.
		"getHostByName": func(string) string { return "" },
	}
	for name, fn := range helm {
		f[name] = fn
	}
	return f
}

// toYAML marshals through JSON (sigs.k8s.io/yaml), so keys come out sorted
// and only JSON-representable data survives; the final newline is dropped so
// `toYaml | nindent 4` lines up. Errors become "", as in Helm.
func toYAML(v interface{}) string {
	out, _ := mustToYAML(v)
	return out
}

func mustToYAML(v interface{}) (string, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}

// fromYAML never fails the render: a parse error is returned under the key
// "Error", which is Helm's contract.
func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// fromYAMLArray returns the error text as the only element on failure.
func fromYAMLArray(s string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	out, _ := mustToJSON(v)
	return out
}

func mustToJSON(v interface{}) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(data), nil
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(s string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

// lookup finds nothing: `helm template` has no cluster to ask, and returns an
// empty map so charts can write `if (lookup ...)` safely.
func lookup(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
	return map[string]interface{}{}, nil
}
