package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// valueParser turns the text after "=" into a value: typedValue for --set,
// stringValue for --set-string, fileValue for --set-file.
type valueParser func(string) (interface{}, error)

// typedValue follows Helm's --set typing: true/false become booleans, null
// becomes nil, integers without a leading zero become int64 (note: int64,
// unlike the float64 a values file gives), everything else stays a string.
func typedValue(s string) (interface{}, error) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, nil
	case strings.EqualFold(s, "false"):
		return false, nil
	case strings.EqualFold(s, "null"):
		return nil, nil
	case s == "0":
		return int64(0), nil
	}
	if s != "" && s[0] != '0' {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	return s, nil
}

func stringValue(s string) (interface{}, error) { return s, nil }

func fileValue(s string) (interface{}, error) {
	data, err := os.ReadFile(s)
	if err != nil {
		return nil, err
	}
	return string(data), nil
}

// parseSet applies one --set argument ("a.b=1,c[0]=x,d={x,y}") to dst.
// A backslash escapes the next character, so "a\.b=1" sets the key "a.b".
// lists says whether "{x,y}" means a list (not for --set-file).
func parseSet(arg string, dst map[string]interface{}, parse valueParser, lists bool) error {
	for _, assignment := range splitTopLevel(arg) {
		if assignment == "" {
			continue
		}
		keyText, valueText, ok := cutUnescaped(assignment, '=')
		if !ok {
			return fmt.Errorf("key %q has no value", unescape(assignment))
		}
		path, err := parseKeyPath(keyText)
		if err != nil {
			return err
		}
		var value interface{}
		if strings.HasPrefix(valueText, "{") && strings.HasSuffix(valueText, "}") && lists {
			list := []interface{}{}
			inner := valueText[1 : len(valueText)-1]
			if inner != "" {
				for _, item := range splitEscaped(inner, ',') {
					v, err := parse(unescape(item))
					if err != nil {
						return err
					}
					list = append(list, v)
				}
			}
			value = list
		} else if value, err = parse(unescape(valueText)); err != nil {
			return err
		}
		if err := setPath(dst, path, value); err != nil {
			return fmt.Errorf("%s: %w", unescape(keyText), err)
		}
	}
	return nil
}

// pathStep is one step of a key path: a map key, or a list index when
// isIndex is set.
type pathStep struct {
	key     string
	index   int
	isIndex bool
}

// parseKeyPath splits "a.b[0][1].c" into steps.
func parseKeyPath(text string) ([]pathStep, error) {
	var steps []pathStep
	for _, part := range splitEscaped(text, '.') {
		name := part
		var indexes []int
		for {
			open := lastUnescaped(name, '[')
			if open < 0 || !strings.HasSuffix(name, "]") {
				break
			}
			n, err := strconv.Atoi(name[open+1 : len(name)-1])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid list index in %q", unescape(text))
			}
			indexes = append([]int{n}, indexes...)
			name = name[:open]
		}
		if name == "" {
			return nil, fmt.Errorf("key %q has an empty segment", unescape(text))
		}
		steps = append(steps, pathStep{key: unescape(name)})
		for _, n := range indexes {
			steps = append(steps, pathStep{index: n, isIndex: true})
		}
	}
	return steps, nil
}

// setPath stores value at path inside dst, creating maps and lists on the
// way and replacing anything of the wrong shape, as Helm's --set does.
func setPath(dst map[string]interface{}, steps []pathStep, value interface{}) error {
	var container interface{} = dst
	set := func(interface{}) {}
	for i, step := range steps {
		last := i == len(steps)-1
		if step.isIndex {
			list, _ := container.([]interface{})
			if step.index > 65536 {
				return fmt.Errorf("list index %d is too large", step.index)
			}
			for len(list) <= step.index {
				list = append(list, nil)
			}
			set(list)
			if last {
				list[step.index] = value
				return nil
			}
			idx := step.index
			container = list[idx]
			set = func(v interface{}) { list[idx] = v }
			continue
		}
		m, ok := container.(map[string]interface{})
		if !ok {
			m = map[string]interface{}{}
			set(m)
		}
		if last {
			m[step.key] = value
			return nil
		}
		key := step.key
		container = m[key]
		set = func(v interface{}) { m[key] = v }
	}
	return nil
}

// splitTopLevel splits on commas that are neither escaped nor inside {...}.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// splitEscaped splits on sep unless a backslash precedes it; the escapes stay
// in the parts for the caller to remove.
func splitEscaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func cutUnescaped(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func lastUnescaped(s string, c byte) int {
	found := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == c {
			found = i
		}
	}
	return found
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
