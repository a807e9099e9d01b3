package main

import (
	"fmt"
	"strings"
)

// options holds everything the command line can say. Flag names and meanings
// follow `helm template` so a test written against this renderer reads the
// same as one written against Helm.
type options struct {
	chartDir     string
	releaseName  string
	namespace    string
	kubeVersion  string
	apiVersions  []string
	valueFiles   []string
	setValues    []string
	setStrings   []string
	setFiles     []string
	showOnly     []string
	showNotes    bool
	includeCRDs  bool
	skipTests    bool
	isUpgrade    bool
	debug        bool
	printValues  bool
	releaseGiven bool
}

// usageError marks a command-line mistake: main prints the usage and exits 2,
// which keeps it apart from a chart that fails to render (exit 1).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usageText = `Usage: helm-render [flags] [NAME] CHART_DIR

Renders a chart directory like "helm template" does, without a cluster.

Flags:
  -f, --values FILE            values file, may repeat; later files win
      --set key=value          set values (a.b=1,c[0]=x,d={x,y}); may repeat
      --set-string key=value   like --set, but every value stays a string
      --set-file key=FILE      set a value to the content of FILE
      --release-name NAME      release name (default "release-name")
  -n, --namespace NS           release namespace (default "default")
      --kube-version VERSION   Capabilities.KubeVersion (default 1.32.0)
  -a, --api-versions G/V[/K]   extra Capabilities.APIVersions, may repeat
  -s, --show-only PATH         only print manifests from templates matching PATH
      --show-notes             print the rendered NOTES.txt after the manifests
      --include-crds           print the files under crds/ first
      --skip-tests             leave out hooks of type test
      --is-upgrade             set .Release.IsUpgrade instead of .Release.IsInstall
      --debug                  on a YAML error, print the rendered files anyway
      --print-values           print the final merged values as JSON and exit
  -h, --help                   show this help
`

// flagSpec describes one flag: takesValue says whether it consumes an argument;
// apply stores it.
type flagSpec struct {
	takesValue bool
	apply      func(o *options, value string)
}

func appendTo(field func(o *options) *[]string) flagSpec {
	return flagSpec{true, func(o *options, v string) { p := field(o); *p = append(*p, v) }}
}

func setBool(field func(o *options) *bool) flagSpec {
	return flagSpec{false, func(o *options, _ string) { *field(o) = true }}
}

var flagSpecs = map[string]flagSpec{
	"values":       appendTo(func(o *options) *[]string { return &o.valueFiles }),
	"set":          appendTo(func(o *options) *[]string { return &o.setValues }),
	"set-string":   appendTo(func(o *options) *[]string { return &o.setStrings }),
	"set-file":     appendTo(func(o *options) *[]string { return &o.setFiles }),
	"api-versions": appendTo(func(o *options) *[]string { return &o.apiVersions }),
	"show-only":    appendTo(func(o *options) *[]string { return &o.showOnly }),
	"release-name": {true, func(o *options, v string) {
		o.releaseName, o.releaseGiven = v, true
	}},
	"namespace":    {true, func(o *options, v string) { o.namespace = v }},
	"kube-version": {true, func(o *options, v string) { o.kubeVersion = v }},
	"show-notes":   setBool(func(o *options) *bool { return &o.showNotes }),
	"include-crds": setBool(func(o *options) *bool { return &o.includeCRDs }),
	"skip-tests":   setBool(func(o *options) *bool { return &o.skipTests }),
	"is-upgrade":   setBool(func(o *options) *bool { return &o.isUpgrade }),
	"debug":        setBool(func(o *options) *bool { return &o.debug }),
	"print-values": setBool(func(o *options) *bool { return &o.printValues }),
}

var shortFlags = map[string]string{
	"f": "values", "n": "namespace", "a": "api-versions", "s": "show-only",
}

// parseArgs reads the command line. Flags may come before or after the
// positional arguments, as with Helm's cobra-based parser.
func parseArgs(args []string) (*options, error) {
	o := &options{releaseName: "release-name", namespace: "default", kubeVersion: "1.32.0"}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if arg == "-h" || arg == "--help" {
			return nil, usageError{""}
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "--") {
			long, ok := shortFlags[name]
			if !ok {
				return nil, usageError{fmt.Sprintf("unknown shorthand flag: %q in %s", name, arg)}
			}
			name = long
		}
		spec, ok := flagSpecs[name]
		if !ok {
			return nil, usageError{fmt.Sprintf("unknown flag: --%s", name)}
		}
		if spec.takesValue && !hasValue {
			if i+1 >= len(args) {
				return nil, usageError{fmt.Sprintf("flag needs an argument: --%s", name)}
			}
			i++
			value = args[i]
		} else if !spec.takesValue && hasValue {
			return nil, usageError{fmt.Sprintf("flag --%s takes no value", name)}
		}
		spec.apply(o, value)
	}
	switch len(positional) {
	case 1:
		o.chartDir = positional[0]
	case 2:
		// `helm template NAME CHART`: the positional name wins over the default,
		// but two different names are a mistake worth reporting.
		if o.releaseGiven && o.releaseName != positional[0] {
			return nil, usageError{"release name given twice: as NAME and as --release-name"}
		}
		o.releaseName, o.chartDir = positional[0], positional[1]
	case 0:
		return nil, usageError{"a chart directory is required"}
	default:
		return nil, usageError{fmt.Sprintf("expected [NAME] CHART_DIR, got %d arguments", len(positional))}
	}
	return o, nil
}
