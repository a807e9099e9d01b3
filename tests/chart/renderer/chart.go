package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

// Metadata is Chart.yaml. Templates see it as .Chart, so the Go field names
// are the ones Helm exposes (.Chart.Name, .Chart.AppVersion, ...).
type Metadata struct {
	Name         string            `json:"name,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []*Maintainer     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []*Dependency     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

// Maintainer is one entry of Chart.yaml's maintainers list.
type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Dependency is one entry of Chart.yaml's dependencies list. It is read only
// so that a chart declaring one is refused instead of rendered half-way.
type Dependency struct {
	Name         string        `json:"name"`
	Version      string        `json:"version,omitempty"`
	Repository   string        `json:"repository"`
	Condition    string        `json:"condition,omitempty"`
	Tags         []string      `json:"tags,omitempty"`
	Enabled      bool          `json:"enabled,omitempty"`
	ImportValues []interface{} `json:"import-values,omitempty"`
	Alias        string        `json:"alias,omitempty"`
}

// Chart is a chart directory loaded the way Helm's loader sorts its files.
type Chart struct {
	Metadata  *Metadata
	Values    map[string]interface{}
	Templates map[string]string // "templates/x.yaml" -> source
	Files     Files             // every other file, including crds/
}

// loadChart reads dir. Like Helm, it puts Chart.yaml, values.yaml,
// values.schema.json, lock files and templates/ into their own slots and
// everything else into .Files, after applying .helmignore.
func loadChart(dir string) (*Chart, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a chart directory (packaged charts are not supported)", dir)
	}
	ignore, err := loadIgnoreRules(filepath.Join(dir, ".helmignore"))
	if err != nil {
		return nil, err
	}
	c := &Chart{Templates: map[string]string{}, Files: Files{}}
	var chartYAML, valuesYAML []byte
	var subcharts []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignore.ignored(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// WalkDir does not follow links; a linked file is read below, a
			// linked directory would be silently empty, so refuse it.
			if target, err := os.Stat(p); err == nil && target.IsDir() {
				return fmt.Errorf("%s: symlinked directories are not supported", rel)
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case rel == "Chart.yaml":
			chartYAML = data
		case rel == "values.yaml":
			valuesYAML = data
		case rel == "values.schema.json", rel == "Chart.lock",
			rel == "requirements.yaml", rel == "requirements.lock":
			// Helm keeps these apart from .Files; this renderer does not use them.
		case strings.HasPrefix(rel, "templates/"):
			c.Templates[rel] = string(data)
		case strings.HasPrefix(rel, "charts/"):
			// Helm skips names starting with "." or "_" under charts/.
			if name := strings.TrimPrefix(rel, "charts/"); !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_") {
				subcharts = append(subcharts, rel)
			}
		default:
			c.Files[rel] = data
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if chartYAML == nil {
		return nil, fmt.Errorf("Chart.yaml file is missing in %s", dir)
	}
	c.Metadata = &Metadata{}
	if err := yaml.Unmarshal(chartYAML, c.Metadata); err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %w", err)
	}
	if err := validateMetadata(c.Metadata); err != nil {
		return nil, err
	}
	if len(c.Metadata.Dependencies) > 0 || len(subcharts) > 0 {
		return nil, fmt.Errorf("chart %q has dependencies or charts/: subcharts are not supported by this renderer", c.Metadata.Name)
	}
	c.Values, err = parseValues(valuesYAML)
	if err != nil {
		return nil, fmt.Errorf("cannot load values.yaml: %w", err)
	}
	return c, nil
}

// validateMetadata applies the checks Helm makes before it renders anything,
// with the same wording, so a bad Chart.yaml fails here as it would there.
func validateMetadata(md *Metadata) error {
	switch {
	case md.APIVersion == "":
		return fmt.Errorf("validation: chart.metadata.apiVersion is required")
	case md.APIVersion != "v1" && md.APIVersion != "v2":
		return fmt.Errorf("validation: chart.metadata.apiVersion %q is invalid", md.APIVersion)
	case md.Name == "":
		return fmt.Errorf("validation: chart.metadata.name is required")
	case md.Name != path.Base(md.Name) || strings.Contains(md.Name, "\\"):
		return fmt.Errorf("validation: chart.metadata.name %q is invalid", md.Name)
	case md.Version == "":
		return fmt.Errorf("validation: chart.metadata.version is required")
	case !isSemver(md.Version):
		return fmt.Errorf("validation: chart.metadata.version %q is invalid", md.Version)
	case md.Type != "" && md.Type != "application" && md.Type != "library":
		return fmt.Errorf("validation: chart.metadata.type must be application or library")
	}
	if md.Type == "library" {
		return fmt.Errorf("library charts are not installable")
	}
	return nil
}

func isSemver(v string) bool {
	_, err := semver.NewVersion(v)
	return err == nil
}

// crdFiles returns the files Helm treats as CRDs: crds/*.{yaml,yml,json}, in
// path order.
func (c *Chart) crdFiles() []string {
	var names []string
	for name := range c.Files {
		ext := path.Ext(name)
		if strings.HasPrefix(name, "crds/") && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
