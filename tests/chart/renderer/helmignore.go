package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// ignoreRule is one line of .helmignore.
type ignoreRule struct {
	pattern string
	negate  bool // "!pattern": un-ignore what an earlier rule ignored
	dirOnly bool // "pattern/": matches directories only
	rooted  bool // "/pattern" or "a/b": matched against the whole path
}

type ignoreRules []ignoreRule

// loadIgnoreRules reads .helmignore if it exists. Helm always adds
// "templates/.?*" so editor dot-files in templates/ are never rendered; we do
// the same.
func loadIgnoreRules(file string) (ignoreRules, error) {
	rules := ignoreRules{{pattern: "templates/.?*", rooted: true}}
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return rules, nil
	}
	if err != nil {
		return nil, err
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "**") {
			return nil, fmt.Errorf(".helmignore: double-star (**) syntax is not supported: %q", line)
		}
		r := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			r.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly, line = true, strings.TrimSuffix(line, "/")
		}
		if strings.HasPrefix(line, "/") || strings.Contains(line, "/") {
			r.rooted, line = true, strings.TrimPrefix(line, "/")
		}
		if _, err := path.Match(line, ""); err != nil {
			return nil, fmt.Errorf(".helmignore: bad pattern %q: %w", line, err)
		}
		r.pattern = line
		rules = append(rules, r)
	}
	return rules, scanner.Err()
}

// ignored reports whether rel (slash-separated, relative to the chart) is
// ignored. The last matching rule decides, as in .gitignore; a rule without a
// slash looks at the base name only.
func (rules ignoreRules) ignored(rel string, isDir bool) bool {
	result := false
	for _, r := range rules {
		if r.dirOnly && !isDir {
			continue
		}
		subject := rel
		if !r.rooted {
			subject = path.Base(rel)
		}
		if ok, _ := path.Match(r.pattern, subject); ok {
			result = !r.negate
		}
	}
	return result
}
