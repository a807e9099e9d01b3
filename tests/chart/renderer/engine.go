package main

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"text/template"
)

// maxIncludeDepth stops a template that includes itself forever, with an
// error instead of a stack overflow (Helm uses the same bound).
const maxIncludeDepth = 1000

// engine renders every template of one chart as a single template set, so a
// `define` in any file can be `include`d from any other.
type engine struct {
	set   *template.Template
	names []string       // template names in Helm's parse and execution order
	depth map[string]int // current include depth per template name
}

// templateFailure is the error `required` and `fail` raise. Keeping it a type
// lets us find it under text/template's wrapping and print only its message,
// as Helm does.
type templateFailure struct{ msg string }

func (f *templateFailure) Error() string { return f.msg }

// newEngine parses sources (name -> text). Names are "CHART/templates/x.yaml".
func newEngine(sources map[string]string) (*engine, error) {
	e := &engine{depth: map[string]int{}}
	e.set = template.New("gotpl").Option("missingkey=zero")
	e.set.Funcs(baseFuncs()).Funcs(e.boundFuncs(e.set)).Funcs(template.FuncMap{
		"required": required,
		"fail":     fail,
	})
	e.names = helmOrder(sources)
	for _, name := range e.names {
		if _, err := e.set.New(name).Parse(sources[name]); err != nil {
			return nil, parseError(name, err)
		}
	}
	return e, nil
}

// helmOrder sorts template names deepest path first, then by reverse name.
// Helm parses in this order, so when two files define the same name, the
// definition in the shallower, alphabetically first file wins.
func helmOrder(sources map[string]string) []string {
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		di, dj := strings.Count(names[i], "/"), strings.Count(names[j], "/")
		if di != dj {
			return di > dj
		}
		return names[i] > names[j]
	})
	return names
}

// boundFuncs returns include and tpl bound to set. tpl binds them again to
// its own clone, so a tpl string can include named templates too.
func (e *engine) boundFuncs(set *template.Template) template.FuncMap {
	return template.FuncMap{
		"include": func(name string, data interface{}) (string, error) {
			if e.depth[name] >= maxIncludeDepth {
				return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
			}
			e.depth[name]++
			defer func() { e.depth[name]-- }()
			var buf strings.Builder
			err := set.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
		"tpl": func(text string, vals map[string]interface{}) (string, error) {
			return e.tpl(set, text, vals)
		},
	}
}

// tpl renders text as a template under the name of the file being rendered,
// with the same data and named templates, in a clone so the parsed text does
// not leak into the chart's template set.
func (e *engine) tpl(set *template.Template, text string, vals map[string]interface{}) (string, error) {
	tmplInfo, _ := vals["Template"].(map[string]interface{})
	name, ok := tmplInfo["Name"].(string)
	if !ok {
		return "", fmt.Errorf("cannot retrieve Template.Name from values inside tpl function: %s", text)
	}
	clone, err := set.Clone()
	if err != nil {
		return "", err
	}
	clone.Option("missingkey=zero").Funcs(e.boundFuncs(clone))
	t, err := clone.New(name).Parse(text)
	if err != nil {
		return "", fmt.Errorf("error during tpl function execution for %q: %w", text, parseError(name, err))
	}
	var buf strings.Builder
	if err := t.Execute(&buf, vals); err != nil {
		return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
	}
	return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
}

// required fails the render when val is missing or an empty string.
func required(msg string, val interface{}) (interface{}, error) {
	if s, isString := val.(string); val == nil || (isString && s == "") {
		return val, &templateFailure{msg}
	}
	return val, nil
}

func fail(msg string) (string, error) { return "", &templateFailure{msg} }

// render executes every template that is not a partial (a base name starting
// with "_") and returns name -> output. top is the shared top-level object;
// each template gets its own copy with .Template set.
func (e *engine) render(top map[string]interface{}, basePath string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range e.names {
		if strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		data := make(map[string]interface{}, len(top)+1)
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": name, "BasePath": basePath}
		var buf strings.Builder
		if err := e.set.ExecuteTemplate(&buf, name, data); err != nil {
			return nil, execError(err)
		}
		// missingkey=zero still prints "<no value>" for a missing key of an
		// interface-typed map; Helm removes it, and so do we.
		out[name] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return out, nil
}

// execError shortens a `required`/`fail` error to Helm's form
// "execution error at (FILE:LINE:COL): MESSAGE"; other execution errors keep
// text/template's full message, which already names the file and position.
func execError(err error) error {
	var failure *templateFailure
	if !errors.As(err, &failure) {
		return err
	}
	return fmt.Errorf("execution error at (%s): %s", errorLocation(err.Error()), failure.msg)
}

// parseError gives Helm's "parse error at (FILE:LINE): MESSAGE".
func parseError(name string, err error) error {
	msg := err.Error()
	parts := strings.Split(msg, ": ")
	if len(parts) < 3 {
		return fmt.Errorf("parse error in (%s): %s", name, msg)
	}
	return fmt.Errorf("parse error at (%s): %s", errorLocation(msg), parts[len(parts)-1])
}

// errorLocation extracts "FILE:LINE[:COL]" from text/template's
// "template: FILE:LINE:COL: ..." messages.
func errorLocation(msg string) string {
	rest := strings.TrimPrefix(msg, "template: ")
	loc, _, _ := strings.Cut(rest, ": ")
	return loc
}
