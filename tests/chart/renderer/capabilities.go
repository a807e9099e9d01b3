package main

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/Masterminds/semver/v3"
)

// Capabilities is .Capabilities: what `helm template` pretends the cluster
// offers, since it never asks one.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion BuildInfo
}

// KubeVersion is .Capabilities.KubeVersion; printing it gives Version.
type KubeVersion struct {
	Version string // "v1.32.0"
	Major   string // "1"
	Minor   string // "32"
}

func (kv KubeVersion) String() string { return kv.Version }

// GitVersion is kept because many charts still write
// .Capabilities.KubeVersion.GitVersion in semverCompare calls.
func (kv KubeVersion) GitVersion() string { return kv.Version }

// BuildInfo is .Capabilities.HelmVersion. We claim the Helm release whose
// behaviour this renderer follows.
type BuildInfo struct {
	Version      string
	GitCommit    string
	GitTreeState string
	GoVersion    string
}

// VersionSet is .Capabilities.APIVersions: "group/version" and, when given,
// "group/version/Kind" strings.
type VersionSet []string

// Has reports whether the set contains apiVersion exactly, as Helm's does.
func (vs VersionSet) Has(apiVersion string) bool {
	for _, v := range vs {
		if v == apiVersion {
			return true
		}
	}
	return false
}

// builtinAPIVersions approximates what Helm compiled against client-go 0.32
// reports for a cluster it cannot see: every group/version registered in
// client-go's scheme for Kubernetes 1.32, plus apiextensions, which Helm adds.
// CRD-backed APIs (monitoring.coreos.com/v1, keda.sh/v1alpha1) are not here:
// pass them with --api-versions, as with Helm.
var builtinAPIVersions = []string{
	"v1",
	"admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1alpha1", "admissionregistration.k8s.io/v1beta1",
	"apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1",
	"apps/v1", "apps/v1beta1", "apps/v1beta2",
	"authentication.k8s.io/v1", "authentication.k8s.io/v1alpha1", "authentication.k8s.io/v1beta1",
	"authorization.k8s.io/v1", "authorization.k8s.io/v1beta1",
	"autoscaling/v1", "autoscaling/v2", "autoscaling/v2beta1", "autoscaling/v2beta2",
	"batch/v1", "batch/v1beta1",
	"certificates.k8s.io/v1", "certificates.k8s.io/v1alpha1", "certificates.k8s.io/v1beta1",
	"coordination.k8s.io/v1", "coordination.k8s.io/v1alpha2", "coordination.k8s.io/v1beta1",
	"discovery.k8s.io/v1", "discovery.k8s.io/v1beta1",
	"events.k8s.io/v1", "events.k8s.io/v1beta1",
	"extensions/v1beta1",
	"flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta1",
	"flowcontrol.apiserver.k8s.io/v1beta2", "flowcontrol.apiserver.k8s.io/v1beta3",
	"internal.apiserver.k8s.io/v1alpha1",
	"networking.k8s.io/v1", "networking.k8s.io/v1alpha1", "networking.k8s.io/v1beta1",
	"node.k8s.io/v1", "node.k8s.io/v1alpha1", "node.k8s.io/v1beta1",
	"policy/v1", "policy/v1beta1",
	"rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1alpha1", "rbac.authorization.k8s.io/v1beta1",
	"resource.k8s.io/v1alpha3", "resource.k8s.io/v1beta1",
	"scheduling.k8s.io/v1", "scheduling.k8s.io/v1alpha1", "scheduling.k8s.io/v1beta1",
	"storage.k8s.io/v1", "storage.k8s.io/v1alpha1", "storage.k8s.io/v1beta1",
	"storagemigration.k8s.io/v1alpha1",
}

// helmVersion is the Helm release whose `helm template` output we match.
const helmVersion = "v3.17.0"

// newCapabilities builds .Capabilities from --kube-version (with or without
// a leading "v") and the extra --api-versions.
func newCapabilities(kubeVersion string, extraAPIs []string) (*Capabilities, error) {
	sv, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("invalid kube version '%s': %s", kubeVersion, err)
	}
	apis := append(VersionSet{}, builtinAPIVersions...)
	apis = append(apis, extraAPIs...)
	sort.Strings(apis)
	return &Capabilities{
		KubeVersion: KubeVersion{
			Version: "v" + sv.String(),
			Major:   strconv.FormatUint(sv.Major(), 10),
			Minor:   strconv.FormatUint(sv.Minor(), 10),
		},
		APIVersions: apis,
		HelmVersion: BuildInfo{Version: helmVersion, GitTreeState: "clean", GoVersion: "go1.23"},
	}, nil
}

// checkKubeVersion refuses a chart whose Chart.yaml kubeVersion constraint
// excludes the target version, with Helm's message.
func checkKubeVersion(constraint string, caps *Capabilities) error {
	if constraint == "" {
		return nil
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return fmt.Errorf("chart.metadata.kubeVersion %q is invalid: %w", constraint, err)
	}
	v, err := semver.NewVersion(caps.KubeVersion.Version)
	if err != nil || !c.Check(v) {
		return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s",
			constraint, caps.KubeVersion.Version)
	}
	return nil
}
