package main

import (
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"
)

// parseValues reads a values document the way Helm does: YAML converted to
// JSON and decoded, so every number becomes a float64 (which is why Helm
// prints a large integer value as 1e+06 unless the template formats it).
func parseValues(data []byte) (map[string]interface{}, error) {
	vals := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, err
	}
	if vals == nil {
		vals = map[string]interface{}{}
	}
	return vals, nil
}

// userValues merges every source of user values in Helm's order: the -f files
// in command-line order, then --set, --set-string and --set-file. It does not
// look at the chart's own values.yaml; coalesce does that.
func userValues(o *options, stdin io.Reader) (map[string]interface{}, error) {
	base := map[string]interface{}{}
	for _, file := range o.valueFiles {
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, err
		}
		current, err := parseValues(data)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %s: %w", file, err)
		}
		base = mergeMaps(base, current)
	}
	for _, s := range o.setValues {
		if err := parseSet(s, base, typedValue, true); err != nil {
			return nil, fmt.Errorf("failed parsing --set data: %w", err)
		}
	}
	for _, s := range o.setStrings {
		if err := parseSet(s, base, stringValue, true); err != nil {
			return nil, fmt.Errorf("failed parsing --set-string data: %w", err)
		}
	}
	for _, s := range o.setFiles {
		if err := parseSet(s, base, fileValue, false); err != nil {
			return nil, fmt.Errorf("failed parsing --set-file data: %w", err)
		}
	}
	return base, nil
}

// mergeMaps merges b over a: maps merge key by key, anything else in b
// replaces what a had (a null included: coalesce turns it into a deletion).
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]interface{}); ok {
			if am, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesce lays the user's values over the chart defaults. User values win;
// maps merge recursively; a user null deletes the chart default, which is how
// Helm lets a values file remove a key. warn receives the same warnings Helm
// prints when a table meets a non-table.
func coalesce(defaults, user map[string]interface{}, warn func(string)) map[string]interface{} {
	dst := deepCopy(user).(map[string]interface{})
	coalesceInto(dst, deepCopy(defaults).(map[string]interface{}), "", warn)
	return dst
}

func coalesceInto(dst, src map[string]interface{}, prefix string, warn func(string)) {
	for key, def := range src {
		full := prefix + key
		userVal, present := dst[key]
		switch {
		case !present:
			dst[key] = def
		case userVal == nil:
			delete(dst, key)
		default:
			userMap, userIsMap := userVal.(map[string]interface{})
			defMap, defIsMap := def.(map[string]interface{})
			switch {
			case userIsMap && defIsMap:
				coalesceInto(userMap, defMap, full+".", warn)
			case defIsMap && !userIsMap:
				warn(fmt.Sprintf("warning: cannot overwrite table with non table for %s (%v)", full, def))
			case userIsMap && def != nil:
				warn(fmt.Sprintf("warning: destination for %s is a table. Ignoring non-table value (%v)", full, def))
			}
		}
	}
}

// deepCopy copies maps and slices so coalescing never aliases the chart's
// defaults into the user's tree.
func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}
