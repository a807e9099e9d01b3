// Command helm-render renders a Helm chart directory the way `helm template`
// does, for tests on machines where Helm itself cannot be installed. It
// supports a single chart without subcharts; tests/chart/README.md lists what
// else it leaves out.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code, 0 on success,
// 1 when the chart fails to render, 2 on a bad command line.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	var usage usageError
	if errors.As(err, &usage) {
		if usage.msg == "" {
			fmt.Fprint(stdout, usageText)
			return 0
		}
		fmt.Fprintf(stderr, "Error: %s\n\n%s", usage.msg, usageText)
		return 2
	}
	warn := func(msg string) { fmt.Fprintln(stderr, msg) }
	out, err := renderChart(o, stdin, warn)
	// With --debug a failed render still prints what it has, as Helm does.
	if err == nil || o.debug {
		if _, werr := io.WriteString(stdout, out); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %s\n", err)
		return 1
	}
	return 0
}

// releaseNamePattern is Helm's rule for release names (at most 53 chars).
var releaseNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// renderChart does the whole `helm template` run and returns stdout's text.
// On failure the text is only what --debug should show.
func renderChart(o *options, stdin io.Reader, warn func(string)) (string, error) {
	if !releaseNamePattern.MatchString(o.releaseName) || len(o.releaseName) > 53 {
		return "", fmt.Errorf("release name %q: invalid release name, must match regex %s and the length must not be longer than 53",
			o.releaseName, releaseNamePattern)
	}
	caps, err := newCapabilities(o.kubeVersion, o.apiVersions)
	if err != nil {
		return "", err
	}
	chart, err := loadChart(o.chartDir)
	if err != nil {
		return "", err
	}
	user, err := userValues(o, stdin)
	if err != nil {
		return "", err
	}
	values := coalesce(chart.Values, user, warn)
	if o.printValues {
		data, err := json.MarshalIndent(values, "", "  ")
		return string(data) + "\n", err
	}
	out, notes, err := renderTemplates(o, chart, values, caps, warn)
	if err != nil {
		if !o.debug {
			// Helm adds this hint to every failure once a release is being rendered.
			err = fmt.Errorf("%w\n\nUse --debug flag to render out invalid YAML", err)
		}
		return out, err
	}
	if len(o.showOnly) > 0 {
		if out, err = filterShowOnly(out, o.showOnly); err != nil {
			return "", err
		}
	}
	if o.showNotes && strings.TrimSpace(notes) != "" {
		out += fmt.Sprintf("NOTES:\n%s\n", strings.TrimSpace(notes))
	}
	return out, nil
}

// renderTemplates renders the chart's templates with the final values and
// returns the manifests as `helm template` prints them, and the notes.
func renderTemplates(o *options, chart *Chart, values map[string]interface{}, caps *Capabilities, warn func(string)) (out, notes string, err error) {
	if err := checkKubeVersion(chart.Metadata.KubeVersion, caps); err != nil {
		return "", "", err
	}

	name := chart.Metadata.Name
	sources := make(map[string]string, len(chart.Templates))
	for rel, text := range chart.Templates {
		sources[name+"/"+rel] = text
	}
	eng, err := newEngine(sources)
	if err != nil {
		return "", "", err
	}
	top := map[string]interface{}{
		"Values":       values,
		"Chart":        chart.Metadata,
		"Capabilities": caps,
		"Files":        chart.Files,
		"Subcharts":    map[string]interface{}{},
		"Release": map[string]interface{}{
			"Name":      o.releaseName,
			"Namespace": o.namespace,
			"Service":   "Helm",
			"IsInstall": !o.isUpgrade,
			"IsUpgrade": o.isUpgrade,
			"Revision":  1,
		},
	}
	rendered, err := eng.render(top, name+"/templates")
	if err != nil {
		return "", "", err
	}
	return assembleOutput(o, chart, rendered, warn)
}

// assembleOutput takes NOTES.txt out of the rendered files, sorts the rest
// into manifests and hooks and formats them as `helm template` prints them.
func assembleOutput(o *options, chart *Chart, rendered map[string]string, warn func(string)) (out, notes string, err error) {
	name := chart.Metadata.Name
	for file, text := range rendered {
		// Every */NOTES.txt is left out of the manifests; only the chart's own
		// templates/NOTES.txt is shown.
		if strings.HasSuffix(file, "NOTES.txt") {
			if file == name+"/templates/NOTES.txt" {
				notes = text
			}
			delete(rendered, file)
		}
	}
	generic, hooks, err := sortManifests(rendered, warn)
	if err != nil {
		return rawFiles(rendered), "", err
	}
	var crds []manifest
	if o.includeCRDs {
		for _, file := range chart.crdFiles() {
			crds = append(crds, manifest{source: path.Join(name, file), content: string(chart.Files[file])})
		}
	}
	var b strings.Builder
	if err := writeOutput(&b, crds, generic, hooks, o.skipTests); err != nil {
		return "", "", err
	}
	return b.String(), notes, nil
}

// rawFiles lists every non-empty rendered file, for --debug to show why the
// YAML did not parse.
func rawFiles(rendered map[string]string) string {
	files := make([]string, 0, len(rendered))
	for file := range rendered {
		files = append(files, file)
	}
	sort.Strings(files)
	var b strings.Builder
	for _, file := range files {
		if strings.TrimSpace(rendered[file]) != "" {
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", file, rendered[file])
		}
	}
	return b.String()
}
