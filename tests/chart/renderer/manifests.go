package main

import (
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// installOrder is the order in which Helm 3 installs (and `helm template`
// prints) resources by kind; unknown kinds come last, sorted by kind name.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
	"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
	"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService",
}

// hookEvents are the values of the helm.sh/hook annotation Helm accepts. A
// manifest with any other value is dropped, as Helm drops it.
var hookEvents = map[string]bool{
	"pre-install": true, "post-install": true, "pre-delete": true, "post-delete": true,
	"pre-upgrade": true, "post-upgrade": true, "pre-rollback": true, "post-rollback": true,
	"test": true, "test-success": true,
}

// documentSeparator matches "---" at the start of a line with the whitespace
// around it, which is how Helm splits a rendered file into documents.
var documentSeparator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// manifest is one YAML document of a rendered template.
type manifest struct {
	source  string // "CHART/templates/x.yaml"
	content string // trimmed document text
	kind    string
	isTest  bool
}

// head is the part of a document Helm reads to sort it and find hooks. The
// typed fields matter: as in Helm, a non-string name or annotation value
// fails the render.
type head struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   *struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
}

// splitDocuments trims a rendered file and cuts it into non-empty documents.
func splitDocuments(text string) []string {
	var docs []string
	for _, d := range documentSeparator.Split(strings.TrimSpace(text), -1) {
		if d = strings.TrimSpace(d); d != "" {
			docs = append(docs, d)
		}
	}
	return docs
}

// sortManifests turns rendered files into ordinary manifests and hooks, each
// stably sorted by kind, starting from path order and document order. Hook
// weights do not matter here: Helm uses them when it runs hooks, not when it
// prints them. A document that is not valid YAML fails the whole render.
func sortManifests(rendered map[string]string, warn func(string)) (generic, hooks []manifest, err error) {
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasPrefix(path.Base(name), "_") || strings.TrimSpace(rendered[name]) == "" {
			continue
		}
		for _, doc := range splitDocuments(rendered[name]) {
			var h head
			if err := yaml.Unmarshal([]byte(doc), &h); err != nil {
				return nil, nil, fmt.Errorf("YAML parse error on %s: %w", name, err)
			}
			m := manifest{source: name, content: doc, kind: h.Kind}
			hookValue, isHook := "", false
			if h.Metadata != nil {
				hookValue, isHook = h.Metadata.Annotations["helm.sh/hook"]
			}
			if !isHook {
				generic = append(generic, m)
				continue
			}
			known := true
			for _, event := range strings.Split(hookValue, ",") {
				event = strings.ToLower(strings.TrimSpace(event))
				known = known && hookEvents[event]
				m.isTest = m.isTest || event == "test" || event == "test-success"
			}
			if !known {
				warn(fmt.Sprintf("info: skipping unknown hook: %q", hookValue))
				continue
			}
			hooks = append(hooks, m)
		}
	}
	sortByKind(generic)
	sortByKind(hooks)
	return generic, hooks, nil
}

func sortByKind(ms []manifest) {
	rank := make(map[string]int, len(installOrder))
	for i, k := range installOrder {
		rank[k] = i
	}
	sort.SliceStable(ms, func(i, j int) bool {
		ri, iKnown := rank[ms[i].kind]
		rj, jKnown := rank[ms[j].kind]
		switch {
		case !iKnown && !jKnown:
			return ms[i].kind < ms[j].kind
		case !iKnown:
			return false
		case !jKnown:
			return true
		}
		return ri < rj
	})
}

// writeOutput prints what `helm template` prints: CRDs if asked, the ordinary
// manifests, then the hooks, each as "---\n# Source: FILE\nDOC\n".
func writeOutput(w io.Writer, crds, generic, hooks []manifest, skipTests bool) error {
	var body strings.Builder
	for _, m := range append(append([]manifest{}, crds...), generic...) {
		fmt.Fprintf(&body, "---\n# Source: %s\n%s\n", m.source, m.content)
	}
	// Helm trims the ordinary part and ends it with one newline, so an
	// output without ordinary manifests starts with an empty line.
	out := strings.TrimSpace(body.String()) + "\n"
	for _, h := range hooks {
		if skipTests && h.isTest {
			continue
		}
		out += fmt.Sprintf("---\n# Source: %s\n%s\n", h.source, h.content)
	}
	_, err := io.WriteString(w, out)
	return err
}

// sourcePattern finds the template path after the chart name in a
// "# Source:" line, for --show-only.
var sourcePattern = regexp.MustCompile(`# Source: [^/]+/(.+)`)

// filterShowOnly keeps the documents of full output whose template path
// matches one of the patterns, in output order, printing each as Helm's
// --show-only does.
func filterShowOnly(full string, patterns []string) (string, error) {
	docs := documentSeparator.Split(strings.TrimSpace(full), -1)
	var out strings.Builder
	for _, pattern := range patterns {
		found := false
		for _, doc := range docs {
			doc = strings.TrimSpace(doc)
			match := sourcePattern.FindStringSubmatch(doc)
			if match == nil {
				continue
			}
			if ok, _ := path.Match(pattern, match[1]); ok {
				fmt.Fprintf(&out, "---\n%s\n", doc)
				found = true
			}
		}
		if !found {
			return "", fmt.Errorf("could not find template %s in chart", pattern)
		}
	}
	return out.String(), nil
}
