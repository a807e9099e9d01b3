#!/usr/bin/python3
"""Policy checks on the redrive Helm chart: its values, its schema and what it renders.

Three commands (all need Debian's /usr/bin/python3 for python3-yaml and python3-jsonschema):

  chart_checks.py values --chart DIR --renderer BIN
      Checks of the chart itself, independent of any one values file:
        params          every leaf (and empty map/list) of values.yaml has a `## @param`,
                        and every @param names a real key (Bitnami readme-generator rules)
        schema-strict   every object schema of values.schema.json with `properties` has
                        `additionalProperties: false`
        schema-ci       each ci/*.yaml (as an overlay: `required` is not applied) and the
                        merged values of each (`--print-values`) validate against the schema
        hpa-keda        HPA and KEDA both on: the render fails naming both
        database        neither database.url nor database.existingSecret: the render fails
                        naming both
        webhook-secret  webhook workers on and database.url set but webhook.secret empty: the
                        render fails naming webhook.secret (the worker would exit 2 on start)

  chart_checks.py render --chart DIR --renderer BIN [-f VALUES]... [--manifests FILE]
      Renders the chart with the values files (release `redrive`, namespace `redrive` unless
      --release/--namespace), or reads an already rendered FILE with --manifests, takes the
      merged values from `--print-values` (or --values-json FILE), and runs:
        pod-security    (3) pod and container security contexts, /tmp, tokens, resources
        long-running    (4) probes, grace period vs. drain time, checksum/config present
        checksum        (4) checksum/config changes when config.worker.concurrency changes
                        (renders twice with the values files, even with --manifests;
                        --skip-checksum leaves it out)
        autoscaling     (5) no replicas under HPA/KEDA, targets and TriggerAuthentications
        monitoring      (6) ServiceMonitor / PrometheusRule / dashboards only when toggled,
                        labels, groups equal to rules/*.yaml, dashboards equal to the files
        hooks           (7) migrate Job (pre-install,pre-upgrade), `helm test` status Pod,
                        and what a pre-install hook needs exists before the release does
        network-policy  (8) Ingress+Egress, DNS on 53/UDP and 53/TCP, every pod covered
        secrets         (9) existingSecret: no URL in a rendered Secret, every secretKeyRef
                        names the existing Secret with the configured key; otherwise every
                        URL reaches the right component
        references      every ConfigMap, Secret and ServiceAccount a pod names is rendered
                        (or is the existing Secret), with the keys it reads
        wiring          ConfigMap equals `config`, --config and --consumer flags, image,
                        admin port, Services select pods and reach their ports

  chart_checks.py mutations --chart DIR --renderer BIN
      Proves that each check above can fail: renders the ci values, mutates a copy of the
      rendered output in a temporary folder (or feeds a dynamic check a doctored render) and
      expects exactly the named check to report a problem.

Output: one `ok   CHECK` or `FAIL CHECK: problem` line per check and problem. Exit status 0
when everything passes, 1 when a check fails, 2 on a bad command line or a broken setup.
The functions `check_*` are importable: each returns a list of problem strings.
"""

import argparse
import base64
import binascii
import copy
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

import jsonschema
import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import validate_manifests  # noqa: E402  (same folder)

COMPONENT = "app.kubernetes.io/component"
HOOK = "helm.sh/hook"
HOOK_WEIGHT = "helm.sh/hook-weight"
CRD_API_VERSIONS = ["monitoring.coreos.com/v1", "keda.sh/v1alpha1"]
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
LONG_RUNNING_ROLES = ("controller", "payment", "webhook")
DEFAULT_DRAIN_SECONDS = 20


# --------------------------------------------------------------------------------------------
# Small helpers


def dig(obj, *path, default=None):
    for key in path:
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        elif isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
            obj = obj[key]
        else:
            return default
    return obj


def name_of(doc):
    return "%s/%s" % (doc.get("kind", "?"), dig(doc, "metadata", "name", default="?"))


def labels_of(doc):
    return dig(doc, "metadata", "labels", default={}) or {}


def annotations_of(doc):
    return dig(doc, "metadata", "annotations", default={}) or {}


def hook_events(doc):
    value = annotations_of(doc).get(HOOK)
    if value is None:
        return None
    return {part.strip() for part in str(value).split(",") if part.strip()}


def hook_weight(doc):
    try:
        return int(str(annotations_of(doc).get(HOOK_WEIGHT, "0")).strip())
    except ValueError:
        return 0


def role_of(component):
    """Maps an app.kubernetes.io/component label to controller/payment/webhook/... or None."""
    text = str(component or "").lower()
    if "gateway" in text:
        return "gateway-sim"
    if "controller" in text:
        return "controller"
    if "migrat" in text:
        return "migrations"
    if "payment" in text:
        return "payment"
    if "webhook" in text:
        return "webhook"
    if "test" in text:
        return "test"
    return None


def pod_spec_of(doc):
    kind = doc.get("kind")
    if kind == "Pod":
        return doc.get("spec") or {}
    if kind == "CronJob":
        return dig(doc, "spec", "jobTemplate", "spec", "template", "spec", default={}) or {}
    if kind in POD_KINDS:
        return dig(doc, "spec", "template", "spec", default={}) or {}
    return None


def pod_template_meta(doc):
    if doc.get("kind") == "Pod":
        return doc.get("metadata") or {}
    if doc.get("kind") == "CronJob":
        return dig(doc, "spec", "jobTemplate", "spec", "template", "metadata", default={}) or {}
    return dig(doc, "spec", "template", "metadata", default={}) or {}


def containers_of(spec, init=True):
    out = list(spec.get("containers") or [])
    if init:
        out += list(spec.get("initContainers") or [])
    return [c for c in out if isinstance(c, dict)]


def command_tokens(container):
    tokens = []
    for part in list(container.get("command") or []) + list(container.get("args") or []):
        try:
            tokens.extend(shlex.split(str(part)))
        except ValueError:
            tokens.extend(str(part).split())
    return tokens


def runs(container, program, subcommand):
    """True when the container's command line runs `program ... subcommand`."""
    tokens = command_tokens(container)
    for i, token in enumerate(tokens):
        if os.path.basename(token) == program:
            rest = [t for t in tokens[i + 1:] if not t.startswith("-")]
            if subcommand in rest[:3]:
                return True
    return False


def flag_value(tokens, flag):
    for i, token in enumerate(tokens):
        if token == flag and i + 1 < len(tokens):
            return tokens[i + 1]
        if token.startswith(flag + "="):
            return token[len(flag) + 1:]
    return None


def selector_matches(match_labels, labels):
    return bool(match_labels) and all(labels.get(k) == v for k, v in match_labels.items())


def secret_data(doc):
    """Decoded data of a Secret: stringData wins over data, as in the API server."""
    out = {}
    for key, value in (doc.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            out[key] = "<not base64>"
    for key, value in (doc.get("stringData") or {}).items():
        out[key] = "" if value is None else str(value)
    return out


def configmap_keys(doc):
    return set((doc.get("data") or {}).keys()) | set((doc.get("binaryData") or {}).keys())


def leaves(obj, prefix=""):
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            yield from leaves(value, "%s.%s" % (prefix, key) if prefix else str(key))
    else:
        yield prefix, obj


def norm_number(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def port_matches(rule_port, port, protocol):
    """Does one NetworkPolicyPort allow `port`/`protocol`? (A named port matches nothing here.)"""
    if str(rule_port.get("protocol") or "TCP").upper() != protocol:
        return False
    if "port" not in rule_port or rule_port.get("port") is None:
        return True
    value = rule_port.get("port")
    if isinstance(value, str):
        if not value.isdigit():
            return False
        value = int(value)
    end = rule_port.get("endPort") or value
    return value <= port <= end


def rules_allow(rules, port, protocol="TCP", named=None):
    """Do the ingress/egress rules allow a port? A rule without ports allows every port."""
    for rule in rules or []:
        ports = (rule or {}).get("ports")
        if not ports:
            return True
        for rule_port in ports:
            if named and rule_port.get("port") == named and \
                    str(rule_port.get("protocol") or "TCP").upper() == protocol:
                return True
            if port is not None and port_matches(rule_port, port, protocol):
                return True
    return False


# --------------------------------------------------------------------------------------------
# A rendering: the documents plus the values that produced them


class Rendering:
    def __init__(self, docs, values, chart_dir, label=""):
        self.docs = [d for d in docs if isinstance(d, dict)]
        self.values = values or {}
        self.chart_dir = chart_dir
        self.label = label

    def kind(self, kind, hooks=None):
        out = []
        for doc in self.docs:
            if doc.get("kind") != kind:
                continue
            is_hook = hook_events(doc) is not None
            if hooks is None or hooks == is_hook:
                out.append(doc)
        return out

    def named(self, kind, name):
        return [d for d in self.docs if d.get("kind") == kind and dig(d, "metadata", "name") == name]

    def workloads(self):
        return [d for d in self.docs if d.get("kind") in POD_KINDS and pod_spec_of(d) is not None]

    def deployments_by_role(self, role):
        return [d for d in self.kind("Deployment", hooks=False)
                if role_of(labels_of(d).get(COMPONENT) or pod_template_meta(d).get("labels", {}).get(COMPONENT)) == role]

    def long_running(self):
        return [d for role in LONG_RUNNING_ROLES for d in self.deployments_by_role(role)]

    def v(self, *path, default=None):
        return dig(self.values, *path, default=default)

    def config_map(self):
        """The (non-hook) ConfigMap holding redrive.yaml and its parsed content, or (None, None)."""
        for doc in self.kind("ConfigMap", hooks=False):
            text = (doc.get("data") or {}).get("redrive.yaml")
            if text is not None:
                try:
                    return doc, yaml.safe_load(text) or {}
                except yaml.YAMLError:
                    return doc, None
        return None, None

    def drain_seconds(self):
        _, config = self.config_map()
        value = dig(config or {}, "worker", "shutdown_grace_seconds")
        try:
            return int(value) if value is not None else DEFAULT_DRAIN_SECONDS
        except (TypeError, ValueError):
            return DEFAULT_DRAIN_SECONDS


# --------------------------------------------------------------------------------------------
# 1. @param comments in values.yaml


PARAM_RE = re.compile(r"^\s*##\s*@(param|skip|extra)\s+(\S+)")


def values_tree_paths(node, prefix=()):
    """(leaf paths, all paths) of a composed YAML mapping: a leaf is a scalar, a list, or an
    empty map; a non-empty map is an inner node."""
    leaf_paths, all_paths = [], []
    if not isinstance(node, yaml.MappingNode):
        return leaf_paths, all_paths
    for key_node, value_node in node.value:
        path = prefix + (str(key_node.value),)
        all_paths.append(path)
        if isinstance(value_node, yaml.MappingNode) and value_node.value:
            sub_leaves, sub_all = values_tree_paths(value_node, path)
            leaf_paths += sub_leaves
            all_paths += sub_all
        else:
            leaf_paths.append(path)
    return leaf_paths, all_paths


def split_param(text):
    parts = []
    for piece in text.split("."):
        match = re.match(r"^([^\[]*)((\[\d+\])*)$", piece)
        parts.append(match.group(1) if match else piece)
    return tuple(p for p in parts if p != "")


def check_params(chart_dir):
    path = os.path.join(chart_dir, "values.yaml")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        return ["cannot read %s: %s" % (path, exc)]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return ["values.yaml does not parse: %s" % exc]
    leaf_paths, all_paths = values_tree_paths(root) if root is not None else ([], [])
    known = set(all_paths)
    params = {}  # path -> (kind, line)
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = PARAM_RE.match(line)
        if not match:
            continue
        kind, dotted = match.group(1), match.group(2)
        param = split_param(dotted)
        if param in params:
            problems.append("values.yaml:%d: @%s %s is declared twice (first at line %d)"
                            % (number, kind, dotted, params[param][1]))
        params[param] = (kind, number)
        if kind != "extra" and param not in known:
            problems.append("values.yaml:%d: @%s %s names no key of values.yaml" % (number, kind, dotted))
    covering = [p for p, (kind, _) in params.items() if kind in ("param", "skip")]
    for leaf in leaf_paths:
        if not any(leaf[:len(p)] == p for p in covering):
            node_line = _line_of(root, leaf)
            problems.append("values.yaml:%s: %s has no ## @param comment (nor one for a map that holds it)"
                            % (node_line, ".".join(leaf)))
    return problems


def _line_of(root, path):
    node = root
    line = "?"
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if str(key_node.value) == key:
                line = key_node.start_mark.line + 1
                node = value_node
                break
    return line


# --------------------------------------------------------------------------------------------
# 2. values.schema.json


SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_MAP_KEYS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
SCHEMA_ONE_KEYS = ("additionalProperties", "additionalItems", "unevaluatedProperties",
                   "unevaluatedItems", "not", "if", "then", "else", "contains", "propertyNames")


def walk_schemas(schema, pointer="#"):
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for key in SCHEMA_MAP_KEYS:
        for name, sub in (schema.get(key) or {}).items():
            yield from walk_schemas(sub, "%s/%s/%s" % (pointer, key, name.replace("~", "~0").replace("/", "~1")))
    for key in SCHEMA_LIST_KEYS:
        for i, sub in enumerate(schema.get(key) or []):
            yield from walk_schemas(sub, "%s/%s/%d" % (pointer, key, i))
    for key in SCHEMA_ONE_KEYS:
        if isinstance(schema.get(key), dict):
            yield from walk_schemas(schema[key], "%s/%s" % (pointer, key))
    items = schema.get("items")
    if isinstance(items, dict):
        yield from walk_schemas(items, pointer + "/items")
    elif isinstance(items, list):
        for i, sub in enumerate(items):
            yield from walk_schemas(sub, "%s/items/%d" % (pointer, i))
    for name, sub in (schema.get("dependencies") or {}).items():
        if isinstance(sub, dict):
            yield from walk_schemas(sub, "%s/dependencies/%s" % (pointer, name))


def load_values_schema(chart_dir):
    path = os.path.join(chart_dir, "values.schema.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def check_schema_strict(chart_dir):
    try:
        schema = load_values_schema(chart_dir)
    except (OSError, ValueError) as exc:
        return ["values.schema.json: %s" % exc]
    problems = []
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator).check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        problems.append("values.schema.json is not a valid JSON schema: %s" % exc.message)
    for pointer, sub in walk_schemas(schema):
        if "properties" in sub and sub.get("additionalProperties") is not False:
            problems.append("values.schema.json %s declares properties but not additionalProperties: false"
                            % pointer)
    return problems


def schema_errors(validator, instance, overlay=False):
    """Errors of one instance. overlay=True: the instance is one values file laid over the
    defaults, so a missing required key is not an error (`required` inside `not` still counts:
    that error is reported as `not`)."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return ["%s: %s" % (validate_manifests.json_path(e.absolute_path), e.message)
            for e in errors if not (overlay and e.validator == "required")]


def merged_values(renderer, chart_dir, values_files, extra=()):
    cmd = [renderer, chart_dir, "--print-values"] + [a for f in values_files for a in ("-f", f)] + list(extra)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), proc.returncode, proc.stderr.strip()))
    return json.loads(proc.stdout)


def ci_files(chart_dir):
    return sorted(glob.glob(os.path.join(chart_dir, "ci", "*.yaml")))


def check_schema_ci(chart_dir, renderer):
    try:
        schema = load_values_schema(chart_dir)
        strict = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as exc:
        return ["values.schema.json: %s" % exc]
    problems = []
    files = ci_files(chart_dir)
    if not files:
        problems.append("no ci/*.yaml files")
    for path in [None] + files:
        label = "values.yaml" if path is None else "ci/" + os.path.basename(path)
        if path is not None:
            try:
                with open(path, encoding="utf-8") as handle:
                    overlay_values = yaml.safe_load(handle) or {}
            except (OSError, yaml.YAMLError) as exc:
                problems.append("%s: %s" % (label, exc))
                continue
            problems += ["%s (the file): %s" % (label, e) for e in schema_errors(strict, overlay_values, overlay=True)]
        try:
            merged = merged_values(renderer, chart_dir, [path] if path else [])
        except (RuntimeError, ValueError) as exc:
            problems.append("%s: %s" % (label, exc))
            continue
        problems += ["%s (merged values): %s" % (label, e) for e in schema_errors(strict, merged)]
    return problems


# --------------------------------------------------------------------------------------------
# Rendering through helm-render


class Renderer:
    def __init__(self, binary, chart_dir, release="redrive", namespace="redrive", api_versions=None):
        self.binary = binary
        self.chart_dir = chart_dir
        self.release = release
        self.namespace = namespace
        self.api_versions = CRD_API_VERSIONS if api_versions is None else api_versions

    def command(self, values_files=(), extra=()):
        cmd = [self.binary, self.release, self.chart_dir, "-n", self.namespace]
        for api in self.api_versions:
            cmd += ["--api-versions", api]
        for path in values_files:
            cmd += ["-f", path]
        return cmd + list(extra)

    def run(self, values_files=(), extra=()):
        """(exit code, stdout, stderr) of one render."""
        proc = subprocess.run(self.command(values_files, extra), capture_output=True, text=True)
        return proc.returncode, proc.stdout, proc.stderr

    def values(self, values_files=(), extra=()):
        return merged_values(self.binary, self.chart_dir, values_files, extra)


def render_docs(render, values_files, extra=()):
    code, out, err = render(values_files, extra)
    if code != 0:
        raise RuntimeError("render failed (%d): %s" % (code, err.strip()))
    return validate_manifests.load_documents(out)


def check_render_fails(render, values_files, extra, words, what):
    """The render must fail with a message naming every word in `words`."""
    code, _, err = render(values_files, extra)
    if code == 0:
        return ["%s: the render succeeded; it must fail" % what]
    missing = [w for w in words if w.lower() not in err.lower()]
    if missing:
        return ["%s: the render failed but its message does not mention %s: %s"
                % (what, " and ".join(missing), err.strip()[:400])]
    return []


def check_hpa_keda_exclusive(render, values_files=()):
    return check_render_fails(
        render, values_files,
        ["--set", "autoscaling.hpa.enabled=true", "--set", "autoscaling.keda.enabled=true"],
        ["hpa", "keda"], "HPA and KEDA both on")


def check_database_required(render, values_files=()):
    return check_render_fails(
        render, values_files,
        ["--set", "database.url=", "--set", "database.existingSecret="],
        ["database.url", "database.existingSecret"], "no database.url and no database.existingSecret")


def check_webhook_secret_required(render, values_files=()):
    """redrive-worker --consumer webhook exits 2 when webhook.secret is empty (workers/main.cpp):
    a chart-made Secret without it must be refused at render time, not crash-loop."""
    return check_render_fails(
        render, values_files,
        ["--set", "database.existingSecret=", "--set", "database.url=postgresql://redrive@db:5432/redrive",
         "--set", "webhook.secret=", "--set", "workers.webhook.enabled=true"],
        ["webhook.secret"], "webhook workers on, database.url set, webhook.secret empty")


# --------------------------------------------------------------------------------------------
# 3. Pod security


def check_pod_security(r):
    problems = []
    for doc in r.workloads():
        spec = pod_spec_of(doc)
        where = name_of(doc)
        psc = spec.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True:
            problems.append("%s: pod securityContext.runAsNonRoot is not true" % where)
        if dig(psc, "seccompProfile", "type") != "RuntimeDefault":
            problems.append("%s: pod securityContext.seccompProfile.type is not RuntimeDefault" % where)
        if spec.get("automountServiceAccountToken") is not False:
            problems.append("%s: automountServiceAccountToken is not false on the pod" % where)
        volumes = {v.get("name"): v for v in spec.get("volumes") or [] if isinstance(v, dict)}
        containers = containers_of(spec)
        if not containers:
            problems.append("%s: no containers" % where)
        for container in containers:
            cwhere = "%s container %s" % (where, container.get("name"))
            sc = container.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append("%s: allowPrivilegeEscalation is not false" % cwhere)
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append("%s: readOnlyRootFilesystem is not true" % cwhere)
            if "ALL" not in (dig(sc, "capabilities", "drop") or []):
                problems.append("%s: capabilities.drop does not contain ALL" % cwhere)
            if sc.get("privileged") is True:
                problems.append("%s: privileged" % cwhere)
            if sc.get("runAsNonRoot") is False:
                problems.append("%s: runAsNonRoot false overrides the pod's" % cwhere)
            if dig(sc, "seccompProfile", "type") not in (None, "RuntimeDefault"):
                problems.append("%s: seccompProfile %s overrides the pod's RuntimeDefault"
                                % (cwhere, dig(sc, "seccompProfile", "type")))
            if sc.get("runAsUser") == 0 or (sc.get("runAsUser") is None and psc.get("runAsUser") == 0):
                problems.append("%s: runs as user 0" % cwhere)
            tmp = [m for m in container.get("volumeMounts") or []
                   if str(m.get("mountPath", "")).rstrip("/") == "/tmp"]
            if not tmp:
                problems.append("%s: nothing is mounted at /tmp (the root filesystem is read-only)" % cwhere)
            for mount in tmp:
                volume = volumes.get(mount.get("name"))
                if volume is None:
                    problems.append("%s: /tmp mounts volume %s, which the pod does not declare"
                                    % (cwhere, mount.get("name")))
                elif "emptyDir" not in volume:
                    problems.append("%s: /tmp is not an emptyDir volume" % cwhere)
                if mount.get("readOnly") is True:
                    problems.append("%s: /tmp is mounted read-only" % cwhere)
            resources = container.get("resources") or {}
            requests = resources.get("requests") or {}
            for resource in ("cpu", "memory"):
                if resource not in requests:
                    problems.append("%s: no %s request" % (cwhere, resource))
            if not dig(resources, "limits", "memory"):
                problems.append("%s: no memory limit" % cwhere)
    for doc in r.kind("ServiceAccount"):
        if doc.get("automountServiceAccountToken") is not False:
            problems.append("%s: automountServiceAccountToken is not false" % name_of(doc))
    if not r.workloads():
        problems.append("no pods rendered at all")
    return problems


# --------------------------------------------------------------------------------------------
# 4. Long-running Deployments


def _expected_roles(r):
    expected = {"controller": bool(r.v("controller", "enabled", default=True)),
                "payment": bool(r.v("workers", "payment", "enabled", default=True)),
                "webhook": bool(r.v("workers", "webhook", "enabled", default=True))}
    return expected


def check_long_running(r):
    problems = []
    for role, enabled in _expected_roles(r).items():
        found = r.deployments_by_role(role)
        if enabled and len(found) != 1:
            problems.append("%s is enabled: expected one Deployment with an app.kubernetes.io/component "
                            "label naming it, found %d" % (role, len(found)))
        if not enabled and found:
            problems.append("%s is disabled but %s is rendered" % (role, ", ".join(map(name_of, found))))
    cm, config = r.config_map()
    if cm is None:
        problems.append("no ConfigMap with a redrive.yaml key (the drain time and checksum come from it)")
    elif config is None:
        problems.append("%s: redrive.yaml does not parse as YAML" % name_of(cm))
    drain = r.drain_seconds()
    for doc in r.long_running():
        where = name_of(doc)
        spec = pod_spec_of(doc)
        containers = containers_of(spec, init=False)
        main = containers[0] if containers else {}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = dig(main, probe, "httpGet", "path")
            if got != path:
                problems.append("%s: %s is not httpGet %s (got %s)" % (where, probe, path, json.dumps(dig(main, probe))))
        if not main.get("startupProbe"):
            problems.append("%s: no startupProbe" % where)
        grace = spec.get("terminationGracePeriodSeconds")
        if grace is None:
            grace = 30  # the Kubernetes default
        try:
            grace = int(grace)
        except (TypeError, ValueError):
            problems.append("%s: terminationGracePeriodSeconds %r is not an integer" % (where, grace))
            continue
        # The environment wins over the file (docs/configuration.md): extraEnv can lengthen the drain.
        pod_drain, source = drain, "worker.shutdown_grace_seconds in redrive.yaml"
        for env in main.get("env") or []:
            if env.get("name") == "REDRIVE_WORKER_SHUTDOWN_GRACE_SECONDS" and env.get("value") is not None:
                try:
                    pod_drain, source = int(str(env["value"]).strip()), "REDRIVE_WORKER_SHUTDOWN_GRACE_SECONDS"
                except ValueError:
                    pass
        if grace <= pod_drain:
            problems.append("%s: terminationGracePeriodSeconds %d does not exceed the drain time %d (%s)"
                            % (where, grace, pod_drain, source))
        if not (pod_template_meta(doc).get("annotations") or {}).get("checksum/config"):
            problems.append("%s: pod template has no checksum/config annotation" % where)
    return problems


def check_checksum_changes(render, values_files, values):
    """Renders twice with different config.worker.concurrency: every long-running Deployment's
    checksum/config must change."""
    current = dig(values, "config", "worker", "concurrency", default=16)
    try:
        other = int(current) + 1
    except (TypeError, ValueError):
        other = 17
    try:
        before = Rendering(render_docs(render, values_files), values, None)
        after = Rendering(render_docs(render, values_files, ["--set", "config.worker.concurrency=%d" % other]),
                          values, None)
    except (RuntimeError, yaml.YAMLError) as exc:
        return [str(exc)]
    problems = []
    after_by_name = {name_of(d): d for d in after.long_running()}
    if not before.long_running():
        problems.append("no long-running Deployments to compare")
    for doc in before.long_running():
        old = (pod_template_meta(doc).get("annotations") or {}).get("checksum/config")
        new_doc = after_by_name.get(name_of(doc))
        new = (pod_template_meta(new_doc).get("annotations") or {}).get("checksum/config") if new_doc else None
        if old is None or new is None:
            problems.append("%s: no checksum/config annotation to compare" % name_of(doc))
        elif old == new:
            problems.append("%s: checksum/config stays %s when config.worker.concurrency changes %s -> %d"
                            % (name_of(doc), old, current, other))
    _, cfg_after = after.config_map()
    if dig(cfg_after or {}, "worker", "concurrency") != other:
        problems.append("--set config.worker.concurrency=%d did not reach the ConfigMap's redrive.yaml" % other)
    return problems


# --------------------------------------------------------------------------------------------
# 5. Autoscaling


def check_autoscaling(r):
    problems = []
    hpa_on = bool(r.v("autoscaling", "hpa", "enabled"))
    keda_on = bool(r.v("autoscaling", "keda", "enabled"))
    deployments = {dig(d, "metadata", "name") for d in r.kind("Deployment", hooks=False)}
    workers = r.deployments_by_role("payment") + r.deployments_by_role("webhook")
    worker_names = {dig(d, "metadata", "name") for d in workers}
    for doc in workers:
        role = role_of(labels_of(doc).get(COMPONENT))
        replicas = dig(doc, "spec", "replicas")
        if hpa_on or keda_on:
            if "replicas" in (doc.get("spec") or {}):
                problems.append("%s: spec.replicas is set (%s) although %s owns the replica count"
                                % (name_of(doc), replicas, "the HPA" if hpa_on else "KEDA"))
        else:
            want = r.v("workers", role, "replicaCount")
            if want is not None and norm_number(replicas) != norm_number(want):
                problems.append("%s: spec.replicas is %s, workers.%s.replicaCount is %s"
                                % (name_of(doc), replicas, role, want))
    hpas = r.kind("HorizontalPodAutoscaler")
    scaled = r.kind("ScaledObject")
    auths = {dig(d, "metadata", "name") for d in r.kind("TriggerAuthentication")}
    if not hpa_on and hpas:
        problems.append("autoscaling.hpa.enabled is false but %s is rendered" % ", ".join(map(name_of, hpas)))
    if not keda_on and scaled:
        problems.append("autoscaling.keda.enabled is false but %s is rendered" % ", ".join(map(name_of, scaled)))
    targets = {}
    for doc in hpas:
        ref = dig(doc, "spec", "scaleTargetRef", default={}) or {}
        if ref.get("kind") != "Deployment" or ref.get("apiVersion") != "apps/v1":
            problems.append("%s: scaleTargetRef is not an apps/v1 Deployment: %s" % (name_of(doc), json.dumps(ref)))
        targets.setdefault(ref.get("name"), []).append(doc)
        if norm_number(dig(doc, "spec", "minReplicas")) != norm_number(r.v("autoscaling", "hpa", "minReplicas")) or \
                norm_number(dig(doc, "spec", "maxReplicas")) != norm_number(r.v("autoscaling", "hpa", "maxReplicas")):
            problems.append("%s: min/maxReplicas %s/%s differ from autoscaling.hpa %s/%s" % (
                name_of(doc), dig(doc, "spec", "minReplicas"), dig(doc, "spec", "maxReplicas"),
                r.v("autoscaling", "hpa", "minReplicas"), r.v("autoscaling", "hpa", "maxReplicas")))
    for doc in scaled:
        ref = dig(doc, "spec", "scaleTargetRef", default={}) or {}
        if ref.get("kind", "Deployment") != "Deployment" or ref.get("apiVersion", "apps/v1") != "apps/v1":
            problems.append("%s: scaleTargetRef is not an apps/v1 Deployment: %s" % (name_of(doc), json.dumps(ref)))
        targets.setdefault(ref.get("name"), []).append(doc)
        triggers = dig(doc, "spec", "triggers", default=[]) or []
        if not triggers:
            problems.append("%s: no triggers" % name_of(doc))
        for trigger in triggers:
            auth = trigger.get("authenticationRef")
            if auth is None:
                continue
            if auth.get("kind", "TriggerAuthentication") != "TriggerAuthentication":
                problems.append("%s: authenticationRef kind %s is not rendered by the chart"
                                % (name_of(doc), auth.get("kind")))
            elif auth.get("name") not in auths:
                problems.append("%s: authenticationRef names TriggerAuthentication %s, which is not rendered"
                                % (name_of(doc), auth.get("name")))
        if norm_number(dig(doc, "spec", "minReplicaCount")) != norm_number(r.v("autoscaling", "keda", "minReplicas")) or \
                norm_number(dig(doc, "spec", "maxReplicaCount")) != norm_number(r.v("autoscaling", "keda", "maxReplicas")):
            problems.append("%s: min/maxReplicaCount %s/%s differ from autoscaling.keda %s/%s" % (
                name_of(doc), dig(doc, "spec", "minReplicaCount"), dig(doc, "spec", "maxReplicaCount"),
                r.v("autoscaling", "keda", "minReplicas"), r.v("autoscaling", "keda", "maxReplicas")))
    for target, scalers in targets.items():
        if target not in deployments:
            problems.append("%s: scaleTargetRef names Deployment %s, which is not rendered"
                            % (", ".join(map(name_of, scalers)), target))
        elif target not in worker_names:
            problems.append("%s: scales %s, which is not a worker Deployment" % (", ".join(map(name_of, scalers)), target))
        if len(scalers) > 1:
            problems.append("Deployment %s has more than one scaler: %s" % (target, ", ".join(map(name_of, scalers))))
    if hpa_on or keda_on:
        for name in sorted(worker_names - set(targets)):
            problems.append("worker Deployment %s has no %s" % (name, "HPA" if hpa_on else "ScaledObject"))
    return problems


# --------------------------------------------------------------------------------------------
# 6. Monitoring


def _labels_include(doc, wanted, what):
    have = labels_of(doc)
    return ["%s: label %s=%s from %s is missing (labels: %s)" % (name_of(doc), k, v, what, json.dumps(have, sort_keys=True))
            for k, v in (wanted or {}).items() if str(have.get(k)) != str(v)]


def _rule_files(chart_dir):
    return sorted(glob.glob(os.path.join(chart_dir, "rules", "*.yaml")))


def _dashboard_files(chart_dir):
    return sorted(glob.glob(os.path.join(chart_dir, "dashboards", "*.json")))


def dashboards_configmaps(r):
    names = {os.path.basename(p) for p in _dashboard_files(r.chart_dir)} if r.chart_dir else set()
    return [d for d in r.kind("ConfigMap")
            if "grafana_dashboard" in labels_of(d) or (configmap_keys(d) & names)]


def check_monitoring(r):
    problems = []
    sms = r.kind("ServiceMonitor")
    rules = r.kind("PrometheusRule")
    dashboards = dashboards_configmaps(r)
    services = r.kind("Service", hooks=False)
    # ServiceMonitors
    if not r.v("metrics", "serviceMonitor", "enabled"):
        if sms:
            problems.append("metrics.serviceMonitor.enabled is false but %s is rendered" % ", ".join(map(name_of, sms)))
    else:
        if not sms:
            problems.append("metrics.serviceMonitor.enabled is true but no ServiceMonitor is rendered")
        job_patterns = _job_patterns(r.chart_dir)
        scraped_roles = set()
        for sm in sms:
            problems += _labels_include(sm, r.v("metrics", "serviceMonitor", "labels"), "metrics.serviceMonitor.labels")
            match = dig(sm, "spec", "selector", "matchLabels", default={}) or {}
            selected = [s for s in services if selector_matches(match, labels_of(s))]
            if not selected:
                problems.append("%s: selector %s matches no rendered Service" % (name_of(sm), json.dumps(match)))
            for endpoint in dig(sm, "spec", "endpoints", default=[]) or []:
                port = endpoint.get("port")
                if port is None:
                    continue
                for service in selected:
                    if port not in [p.get("name") for p in dig(service, "spec", "ports", default=[]) or []]:
                        problems.append("%s: endpoint port %s is not a port name of %s" % (name_of(sm), port, name_of(service)))
            for service in selected:
                role = role_of(labels_of(service).get(COMPONENT))
                scraped_roles.add(role)
                job_label = dig(sm, "spec", "jobLabel")
                job = labels_of(service).get(job_label) if job_label else dig(service, "metadata", "name")
                if role in ("payment", "webhook"):
                    for pattern in job_patterns:
                        if not re.fullmatch(pattern, str(job)):
                            problems.append("%s: worker job name %s (from %s) does not match job=~\"%s\" of the "
                                            "alert rules" % (name_of(sm), job, name_of(service), pattern))
        for role, enabled in _expected_roles(r).items():
            if enabled and role not in scraped_roles:
                problems.append("metrics.serviceMonitor.enabled is true but no ServiceMonitor scrapes the %s" % role)
    # PrometheusRule
    if not r.v("metrics", "prometheusRule", "enabled"):
        if rules:
            problems.append("metrics.prometheusRule.enabled is false but %s is rendered" % ", ".join(map(name_of, rules)))
    else:
        if not rules:
            problems.append("metrics.prometheusRule.enabled is true but no PrometheusRule is rendered")
        for rule in rules:
            problems += _labels_include(rule, r.v("metrics", "prometheusRule", "labels"), "metrics.prometheusRule.labels")
        expected = []
        for path in _rule_files(r.chart_dir):
            with open(path, encoding="utf-8") as handle:
                expected += (yaml.safe_load(handle) or {}).get("groups") or []
        got = [g for rule in rules for g in (dig(rule, "spec", "groups", default=[]) or [])]
        if rules and got != expected:
            problems.append("PrometheusRule spec.groups differ from the groups of rules/*.yaml: %s"
                            % _first_difference(expected, got))
    # Dashboards
    if not r.v("metrics", "dashboards", "enabled"):
        if dashboards:
            problems.append("metrics.dashboards.enabled is false but %s is rendered" % ", ".join(map(name_of, dashboards)))
    else:
        if not dashboards:
            problems.append("metrics.dashboards.enabled is true but no dashboards ConfigMap is rendered")
        for cm in dashboards:
            problems += _labels_include(cm, r.v("metrics", "dashboards", "labels"), "metrics.dashboards.labels")
            if labels_of(cm).get("grafana_dashboard") != "1":
                problems.append("%s: label grafana_dashboard is %r, not \"1\"" % (name_of(cm), labels_of(cm).get("grafana_dashboard")))
            have = annotations_of(cm)
            for k, v in (r.v("metrics", "dashboards", "annotations") or {}).items():
                if str(have.get(k)) != str(v):
                    problems.append("%s: annotation %s=%s from metrics.dashboards.annotations is missing" % (name_of(cm), k, v))
        data = {}
        for cm in dashboards:
            data.update(cm.get("data") or {})
        for path in _dashboard_files(r.chart_dir):
            key = os.path.basename(path)
            if key not in data:
                problems.append("dashboards ConfigMap has no key %s" % key)
                continue
            with open(path, encoding="utf-8") as handle:
                want = json.load(handle)
            try:
                got = json.loads(data[key])
            except (TypeError, ValueError) as exc:
                problems.append("dashboards ConfigMap key %s does not parse as JSON: %s" % (key, exc))
                continue
            if got != want:
                problems.append("dashboards ConfigMap key %s differs from dashboards/%s: %s"
                                % (key, key, _first_difference(want, got)))
    return problems


def _job_patterns(chart_dir):
    patterns = []
    for path in _rule_files(chart_dir) if chart_dir else []:
        with open(path, encoding="utf-8") as handle:
            for group in (yaml.safe_load(handle) or {}).get("groups") or []:
                for rule in group.get("rules") or []:
                    patterns += re.findall(r'job\s*=~\s*"([^"]*)"', str(rule.get("expr", "")))
    return sorted(set(patterns))


def _first_difference(want, got, path="$"):
    if type(want) is not type(got):
        return "%s: expected %s, got %s" % (path, _short(want), _short(got))
    if isinstance(want, dict):
        for key in list(want) + [k for k in got if k not in want]:
            if key not in got:
                return "%s.%s: missing" % (path, key)
            if key not in want:
                return "%s.%s: unexpected" % (path, key)
            if want[key] != got[key]:
                return _first_difference(want[key], got[key], "%s.%s" % (path, key))
    if isinstance(want, list):
        for i, (a, b) in enumerate(zip(want, got)):
            if a != b:
                return _first_difference(a, b, "%s[%d]" % (path, i))
        if len(want) != len(got):
            return "%s: %d items expected, %d rendered" % (path, len(want), len(got))
    return "%s: expected %s, got %s" % (path, _short(want), _short(got))


def _short(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) < 120 else text[:117] + "..."


# --------------------------------------------------------------------------------------------
# 7. Hooks


def pod_references(spec):
    """(kind, name, key or None, optional) for every ConfigMap/Secret/ServiceAccount a pod uses."""
    refs = []
    refs.append(("ServiceAccount", spec.get("serviceAccountName") or "default", None, False))
    for volume in spec.get("volumes") or []:
        if "configMap" in volume:
            cm = volume["configMap"] or {}
            keys = [i.get("key") for i in cm.get("items") or []] or [None]
            refs += [("ConfigMap", cm.get("name"), k, bool(cm.get("optional"))) for k in keys]
        if "secret" in volume:
            sec = volume["secret"] or {}
            keys = [i.get("key") for i in sec.get("items") or []] or [None]
            refs += [("Secret", sec.get("secretName"), k, bool(sec.get("optional"))) for k in keys]
        for source in dig(volume, "projected", "sources", default=[]) or []:
            for kind, field in (("ConfigMap", "configMap"), ("Secret", "secret")):
                if field in source:
                    src = source[field] or {}
                    keys = [i.get("key") for i in src.get("items") or []] or [None]
                    refs += [(kind, src.get("name"), k, bool(src.get("optional"))) for k in keys]
    for secret in spec.get("imagePullSecrets") or []:
        refs.append(("Secret", secret.get("name"), None, True))  # often managed outside the chart
    for container in containers_of(spec):
        for env in container.get("env") or []:
            for kind, field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                ref = dig(env, "valueFrom", field)
                if ref:
                    refs.append((kind, ref.get("name"), ref.get("key"), bool(ref.get("optional"))))
        for env_from in container.get("envFrom") or []:
            for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                ref = env_from.get(field)
                if ref:
                    refs.append((kind, ref.get("name"), None, bool(ref.get("optional"))))
    return refs


def check_hooks(r):
    problems = []
    migrate_jobs = [d for d in r.kind("Job", hooks=True)
                    if {"pre-install", "pre-upgrade"} <= hook_events(d)
                    and any(runs(c, "redrivectl", "migrate") for c in containers_of(pod_spec_of(d)))]
    other_migrate = [d for d in r.workloads() if d not in migrate_jobs
                     and any(runs(c, "redrivectl", "migrate") for c in containers_of(pod_spec_of(d)))]
    for doc in other_migrate:
        problems.append("%s runs redrivectl migrate but is not a Job hooked on pre-install and pre-upgrade "
                        "(helm.sh/hook: %s)" % (name_of(doc), annotations_of(doc).get(HOOK)))
    if r.v("migrations", "enabled", default=True):
        if len(migrate_jobs) != 1:
            problems.append("migrations.enabled: expected one Job with helm.sh/hook containing pre-install and "
                            "pre-upgrade that runs `redrivectl migrate`, found %d" % len(migrate_jobs))
    elif migrate_jobs:
        problems.append("migrations.enabled is false but %s is rendered" % ", ".join(map(name_of, migrate_jobs)))
    tests = [d for d in r.kind("Pod") if "test" in (hook_events(d) or set())
             and any(runs(c, "redrivectl", "status") for c in containers_of(pod_spec_of(d)))]
    if not tests:
        problems.append("no Pod with helm.sh/hook: test that runs `redrivectl status`")
    # A pre-install hook runs before the release's ordinary resources exist: whatever it uses
    # must come from outside the chart or be a hook itself that runs first.
    by_key = {(d.get("kind"), dig(d, "metadata", "name")): d for d in r.docs}
    for doc in r.docs:
        events = hook_events(doc) or set()
        spec = pod_spec_of(doc)
        if spec is None or not ({"pre-install", "pre-upgrade"} & events):
            continue
        for kind, name, _key, _optional in pod_references(spec):
            target = by_key.get((kind, name))
            if target is None:
                continue  # not the chart's: checked by `references`
            target_events = hook_events(target) or set()
            for event in {"pre-install", "pre-upgrade"} & events:
                if event not in target_events:
                    problems.append("%s (hook %s) uses %s %s, which is not a %s hook: on a first install it "
                                    "does not exist yet when the hook runs" % (name_of(doc), event, kind, name, event))
                elif hook_weight(target) > hook_weight(doc):
                    problems.append("%s (weight %d) uses %s %s, a hook with the higher weight %d: it is created after"
                                    % (name_of(doc), hook_weight(doc), kind, name, hook_weight(target)))
    return problems


# --------------------------------------------------------------------------------------------
# 8. NetworkPolicy


def check_network_policy(r):
    problems = []
    policies = r.kind("NetworkPolicy")
    if not r.v("networkPolicy", "enabled", default=True):
        if policies:
            problems.append("networkPolicy.enabled is false but %s is rendered" % ", ".join(map(name_of, policies)))
        return problems
    if not policies:
        return ["networkPolicy.enabled is true but no NetworkPolicy is rendered"]
    for policy in policies:
        types = set(dig(policy, "spec", "policyTypes", default=[]) or [])
        for wanted in ("Ingress", "Egress"):
            if wanted not in types:
                problems.append("%s: policyTypes lacks %s" % (name_of(policy), wanted))
        egress = dig(policy, "spec", "egress", default=[]) or []
        for protocol in ("UDP", "TCP"):
            if not rules_allow(egress, 53, protocol):
                problems.append("%s: egress does not allow DNS on port 53/%s" % (name_of(policy), protocol))
    metrics_port = norm_number(r.v("metrics", "port", default=9464))
    db_ports = [norm_number(p) for p in r.v("networkPolicy", "databasePorts", default=[]) or []]
    for doc in r.long_running():
        pod_labels = pod_template_meta(doc).get("labels") or {}
        selecting = [p for p in policies
                     if selector_matches(dig(p, "spec", "podSelector", "matchLabels", default={}) or {}, pod_labels)
                     or dig(p, "spec", "podSelector") == {}]
        if not selecting:
            problems.append("%s: no NetworkPolicy selects its pods" % name_of(doc))
            continue
        egress = [rule for p in selecting if "Egress" in (dig(p, "spec", "policyTypes") or []) for rule in dig(p, "spec", "egress", default=[]) or []]
        ingress = [rule for p in selecting if "Ingress" in (dig(p, "spec", "policyTypes") or []) for rule in dig(p, "spec", "ingress", default=[]) or []]
        for port in db_ports:
            if not rules_allow(egress, port, "TCP"):
                problems.append("%s: egress does not allow PostgreSQL port %s (networkPolicy.databasePorts)" % (name_of(doc), port))
        if any("Ingress" in (dig(p, "spec", "policyTypes") or []) for p in selecting) and \
                not rules_allow(ingress, metrics_port, "TCP", named="admin"):
            problems.append("%s: ingress does not allow the admin port %s (metrics.port)" % (name_of(doc), metrics_port))
    return problems


# --------------------------------------------------------------------------------------------
# 9. Secrets


URL_VALUE_RE = re.compile(r"^\s*(postgres(ql)?://|.*\b(host|dbname)\s*=)", re.I)
DATABASE_USE = {"controller": "controllerUrl", "payment": "workerUrl", "webhook": "workerUrl",
                "migrations": "migrationUrl", "test": "readonlyUrl"}


def pod_role(doc):
    labels = dict(labels_of(doc))
    labels.update(pod_template_meta(doc).get("labels") or {})
    role = role_of(labels.get(COMPONENT))
    containers = containers_of(pod_spec_of(doc) or {})
    if any(runs(c, "redrivectl", "migrate") for c in containers):
        return "migrations"
    if "test" in (hook_events(doc) or set()):
        return "test"
    return role


def check_secrets(r):
    problems = []
    existing = r.v("database", "existingSecret") or ""
    keys = r.v("database", "existingSecretKeys", default={}) or {}
    url_key = keys.get("url") or ""

    def expected_key(use):
        return (keys.get(use) or url_key) if use != "webhookSecret" else keys.get("webhookSecret")

    def expected_value(use):
        if use == "webhookSecret":
            return r.v("webhook", "secret") or ""
        return r.v("database", use) or r.v("database", "url") or ""

    secrets = {dig(d, "metadata", "name"): d for d in r.kind("Secret")}
    if existing:
        for name, doc in secrets.items():
            for key, value in secret_data(doc).items():
                if URL_VALUE_RE.match(value) or "url" in key.lower():
                    problems.append("database.existingSecret is set but %s carries %s (a database URL)"
                                    % (name_of(doc), key))
        configured = {expected_key(u) for u in ("url", "workerUrl", "controllerUrl", "migrationUrl",
                                                 "readonlyUrl", "webhookSecret")}
    for doc in r.workloads():
        role = pod_role(doc)
        spec = pod_spec_of(doc)
        redrive = role in DATABASE_USE
        for container in containers_of(spec):
            where = "%s container %s" % (name_of(doc), container.get("name"))
            envs = {e.get("name"): e for e in container.get("env") or []}
            for env in container.get("env") or []:
                ref = dig(env, "valueFrom", "secretKeyRef")
                if not ref or not existing:
                    continue
                if ref.get("name") != existing:
                    problems.append("%s: env %s reads Secret %s, not database.existingSecret %s"
                                    % (where, env.get("name"), ref.get("name"), existing))
                elif ref.get("key") not in configured:
                    problems.append("%s: env %s reads key %s, which is not one of the configured keys %s"
                                    % (where, env.get("name"), ref.get("key"), sorted(configured)))
            if existing:
                for env_from in container.get("envFrom") or []:
                    if env_from.get("secretRef") and env_from["secretRef"].get("name") != existing:
                        problems.append("%s: envFrom reads Secret %s, not %s" % (where, env_from["secretRef"].get("name"), existing))
            if not redrive:
                continue
            wanted = [("REDRIVE_DATABASE_URL", DATABASE_USE[role])]
            if role == "webhook":
                wanted.append(("REDRIVE_WEBHOOK_SECRET", "webhookSecret"))
            for env_name, use in wanted:
                env = envs.get(env_name)
                ref = dig(env or {}, "valueFrom", "secretKeyRef")
                if env is None:
                    problems.append("%s: no %s (the %s)" % (where, env_name, use))
                    continue
                if not ref:
                    problems.append("%s: %s does not come from a Secret" % (where, env_name))
                    continue
                if existing:
                    if ref.get("name") == existing and ref.get("key") != expected_key(use):
                        problems.append("%s: %s reads key %s; database.existingSecretKeys gives %s for the %s"
                                        % (where, env_name, ref.get("key"), expected_key(use), use))
                    continue
                target = secrets.get(ref.get("name"))
                if target is None:
                    problems.append("%s: %s reads Secret %s, which is not rendered" % (where, env_name, ref.get("name")))
                    continue
                value = secret_data(target).get(ref.get("key"))
                if use == "webhookSecret" and not value:
                    problems.append("%s: %s resolves to an empty value (%s key %s): redrive-worker --consumer "
                                    "webhook exits 2 without a webhook secret" % (where, env_name, name_of(target), ref.get("key")))
                elif value != expected_value(use):
                    problems.append("%s: %s resolves to %r (%s key %s) but the %s is %r"
                                    % (where, env_name, value, name_of(target), ref.get("key"), use, expected_value(use)))
    for auth in r.kind("TriggerAuthentication"):
        for ref in dig(auth, "spec", "secretTargetRef", default=[]) or []:
            if existing:
                if ref.get("name") != existing or ref.get("key") != expected_key("readonlyUrl"):
                    problems.append("%s: secretTargetRef %s/%s, expected %s/%s (the read-only URL)"
                                    % (name_of(auth), ref.get("name"), ref.get("key"), existing, expected_key("readonlyUrl")))
            else:
                target = secrets.get(ref.get("name"))
                value = secret_data(target).get(ref.get("key")) if target else None
                if value != expected_value("readonlyUrl"):
                    problems.append("%s: secretTargetRef %s/%s resolves to %r, expected the read-only URL %r"
                                    % (name_of(auth), ref.get("name"), ref.get("key"), value, expected_value("readonlyUrl")))
    # Secrets never land in the ConfigMap.
    _, config = r.config_map()
    for path in ("database.url", "webhook.secret"):
        if dig(config or {}, *path.split(".")) not in (None, ""):
            problems.append("the ConfigMap's redrive.yaml carries %s" % path)
    return problems


# --------------------------------------------------------------------------------------------
# References and wiring


def check_references(r):
    problems = []
    existing = r.v("database", "existingSecret") or ""
    rendered = {}
    for doc in r.docs:
        rendered.setdefault((doc.get("kind"), dig(doc, "metadata", "name")), doc)
    for doc in r.workloads():
        for kind, name, key, optional in pod_references(pod_spec_of(doc)):
            if kind == "ServiceAccount":
                if name == "default":
                    continue  # every namespace has it
                if (kind, name) not in rendered and r.v("serviceAccount", "create", default=True):
                    problems.append("%s: serviceAccountName %s is not rendered" % (name_of(doc), name))
                continue
            if kind == "Secret" and name == existing and existing:
                continue
            target = rendered.get((kind, name))
            if target is None:
                if not optional:
                    problems.append("%s: uses %s %s, which the chart does not render" % (name_of(doc), kind, name))
                continue
            if key is not None:
                have = set(secret_data(target)) if kind == "Secret" else configmap_keys(target)
                if key not in have and not optional:
                    problems.append("%s: reads key %s of %s %s, which has only %s"
                                    % (name_of(doc), key, kind, name, sorted(have)))
    if r.v("serviceAccount", "create", default=True) and not r.kind("ServiceAccount"):
        problems.append("serviceAccount.create is true but no ServiceAccount is rendered")
    # client-side `kubectl apply` keeps the whole object in an annotation limited to 256 KiB.
    for doc in r.docs:
        size = len(json.dumps(doc, separators=(",", ":")))
        if size > 262144 - 1024:
            problems.append("%s is %d bytes: too big for kubectl apply's last-applied annotation" % (name_of(doc), size))
    return problems


def _chart_meta(chart_dir):
    try:
        with open(os.path.join(chart_dir, "Chart.yaml"), encoding="utf-8") as handle:
            return yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError):
        return {}


def check_wiring(r):
    problems = []
    cm, config = r.config_map()
    if cm is not None and config is not None:
        for path, want in leaves(r.v("config", default={}) or {}):
            keys = path.split(".")
            got = dig(config, *keys)
            if path == "gateway.url" and not want and r.v("gatewaySim", "enabled"):
                services = {dig(s, "metadata", "name") for s in r.kind("Service")}
                match = re.match(r"^http://([^:/]+)(:(\d+))?", str(got or ""))
                if not match or match.group(1).split(".")[0] not in services or \
                        norm_number(int(match.group(3) or 80)) != norm_number(r.v("gatewaySim", "port")):
                    problems.append("gatewaySim.enabled: the ConfigMap's gateway.url %r does not name the gateway-sim "
                                    "Service and gatewaySim.port" % got)
                continue
            if want in ({}, []) or (want == "" and got is None):
                continue
            if norm_number(got) != norm_number(want):
                problems.append("%s: redrive.yaml %s is %r, config.%s is %r" % (name_of(cm), path, got, path, want))
    image = r.v("image", default={}) or {}
    repository = ("%s/%s" % (image.get("registry") or "", image.get("repository") or "")).lstrip("/")
    app_version = str(_chart_meta(r.chart_dir).get("appVersion", "")) if r.chart_dir else ""
    want_image = "%s@%s" % (repository, image["digest"]) if image.get("digest") else \
        "%s:%s" % (repository, image.get("tag") or app_version)
    metrics_port = norm_number(r.v("metrics", "port", default=9464))
    cm_name = dig(cm, "metadata", "name") if cm else None
    for doc in r.workloads():
        role = pod_role(doc)
        if role not in DATABASE_USE and role != "gateway-sim":
            continue
        spec = pod_spec_of(doc)
        for container in containers_of(spec, init=False):
            where = "%s container %s" % (name_of(doc), container.get("name"))
            if app_version and container.get("image") != want_image:
                problems.append("%s: image %s, expected %s from image.*" % (where, container.get("image"), want_image))
            if role not in LONG_RUNNING_ROLES:
                continue
            tokens = command_tokens(container)
            program = "redrive-controller" if role == "controller" else "redrive-worker"
            if not any(os.path.basename(t) == program for t in tokens):
                problems.append("%s: does not run %s (command line: %s)" % (where, program, " ".join(tokens)))
            if role in ("payment", "webhook") and flag_value(tokens, "--consumer") != role:
                problems.append("%s: --consumer is %s, expected %s" % (where, flag_value(tokens, "--consumer"), role))
            config_path = flag_value(tokens, "--config")
            if not config_path:
                problems.append("%s: no --config flag: the ConfigMap is not read" % where)
            else:
                problems += _config_mounted(doc, spec, container, config_path, cm_name, where)
            ports = {p.get("name"): norm_number(p.get("containerPort")) for p in container.get("ports") or []}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                port = dig(container, probe, "httpGet", "port")
                if port is None:
                    continue
                number = ports.get(port) if isinstance(port, str) else norm_number(port)
                if number != metrics_port:
                    problems.append("%s: %s port %s is not metrics.port %s" % (where, probe, port, metrics_port))
            listen = next((e.get("value") for e in container.get("env") or [] if e.get("name") == "REDRIVE_ADMIN_LISTEN"), None)
            listen = listen or dig(config or {}, "admin", "listen") or "0.0.0.0:9464"
            if not str(listen).endswith(":%s" % metrics_port):
                problems.append("%s: the admin server listens on %s, not on metrics.port %s" % (where, listen, metrics_port))
    # Services select pods and target ports that exist.
    pods = [(d, pod_template_meta(d).get("labels") or {}, pod_spec_of(d)) for d in r.workloads()
            if hook_events(d) is None]
    for service in r.kind("Service", hooks=False):
        selector = dig(service, "spec", "selector", default={}) or {}
        selected = [(d, spec) for d, labels, spec in pods if selector_matches(selector, labels)]
        if not selected:
            problems.append("%s: selector %s matches no rendered pod" % (name_of(service), json.dumps(selector)))
        for port in dig(service, "spec", "ports", default=[]) or []:
            target = port.get("targetPort", port.get("port"))
            for doc, spec in selected:
                names = {p.get("name"): norm_number(p.get("containerPort")) for c in containers_of(spec, init=False)
                         for p in c.get("ports") or []}
                if isinstance(target, str) and target not in names:
                    problems.append("%s: targetPort %s is not a container port name of %s" % (name_of(service), target, name_of(doc)))
    return problems


def _config_mounted(doc, spec, container, config_path, cm_name, where):
    directory, filename = os.path.split(config_path)
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        mount_path = str(mount.get("mountPath", "")).rstrip("/")
        volume = volumes.get(mount.get("name")) or {}
        cm_ref = volume.get("configMap")
        if not cm_ref:
            continue
        if mount.get("subPath") and mount_path == config_path:
            key = mount["subPath"]
        elif mount_path == directory:
            items = {i.get("path"): i.get("key") for i in cm_ref.get("items") or []}
            key = items.get(filename, filename) if items else filename
        else:
            continue
        if cm_ref.get("name") != cm_name:
            return ["%s: --config %s comes from ConfigMap %s, not %s" % (where, config_path, cm_ref.get("name"), cm_name)]
        if key != "redrive.yaml":
            return ["%s: --config %s is key %s of the ConfigMap, not redrive.yaml" % (where, config_path, key)]
        return []
    return ["%s: --config %s is not inside a mounted ConfigMap volume" % (where, config_path)]


# --------------------------------------------------------------------------------------------
# Running the checks


RENDER_CHECKS = [
    ("pod-security", check_pod_security),
    ("long-running", check_long_running),
    ("autoscaling", check_autoscaling),
    ("monitoring", check_monitoring),
    ("hooks", check_hooks),
    ("network-policy", check_network_policy),
    ("secrets", check_secrets),
    ("references", check_references),
    ("wiring", check_wiring),
]


def run_rendering_checks(rendering, only=None):
    results = []
    for name, func in RENDER_CHECKS:
        if only and name not in only:
            continue
        try:
            problems = func(rendering)
        except Exception as exc:  # a crash in a check is a failure of that check, with its cause
            problems = ["check crashed: %s: %s" % (type(exc).__name__, exc)]
        results.append((name, problems))
    return results


def report(results, context, out=sys.stdout):
    failed = 0
    for name, problems in results:
        if problems:
            failed += 1
            for problem in problems:
                print("FAIL %s (%s): %s" % (name, context, problem), file=out)
        else:
            print("ok   %s (%s)" % (name, context), file=out)
    return failed


def cmd_values(args):
    renderer = Renderer(args.renderer, args.chart, args.release, args.namespace)
    results = [
        ("params", check_params(args.chart)),
        ("schema-strict", check_schema_strict(args.chart)),
        ("schema-ci", check_schema_ci(args.chart, args.renderer)),
        ("hpa-keda", check_hpa_keda_exclusive(renderer.run, _base_values_for_failures(args.chart))),
        ("database", check_database_required(renderer.run, _base_values_for_failures(args.chart))),
        ("webhook-secret", check_webhook_secret_required(renderer.run, _base_values_for_failures(args.chart))),
    ]
    return 1 if report(results, "chart") else 0


def _base_values_for_failures(chart_dir):
    """A values file that renders, so that a failure can only come from what the check sets."""
    for name in ("default-values.yaml",):
        path = os.path.join(chart_dir, "ci", name)
        if os.path.isfile(path):
            return [path]
    files = ci_files(chart_dir)
    return files[:1]


def cmd_render(args):
    renderer = Renderer(args.renderer, args.chart, args.release, args.namespace)
    context = ", ".join([os.path.relpath(f, args.chart) if f.startswith(args.chart) else f for f in args.values]
                        + ["--set " + s for s in args.sets]) or "defaults"
    sets = [a for s in args.sets for a in ("--set", s)]
    # Every render of this run, the checksum pair included, gets the same --set flags.
    render = _doctored(renderer.run, lambda code, out, err, extra: (code, out, err))
    render_with_sets = lambda files, extra=(): render(files, sets + list(extra))  # noqa: E731
    try:
        if args.values_json:
            with open(args.values_json, encoding="utf-8") as handle:
                values = json.load(handle)
        else:
            values = renderer.values(args.values, sets)
        if args.manifests:
            docs = validate_manifests.load_file(args.manifests)
        else:
            docs = render_docs(render_with_sets, args.values)
    except (RuntimeError, OSError, ValueError, yaml.YAMLError) as exc:
        print("FAIL render (%s): %s" % (context, " ".join(str(exc).split())))
        return 1
    rendering = Rendering(docs, values, args.chart, context)
    only = set(args.only.split(",")) if args.only else None
    results = run_rendering_checks(rendering, only)
    if not args.skip_checksum and (not only or "checksum" in only):
        results.append(("checksum", check_checksum_changes(render_with_sets, args.values, values)))
    return 1 if report(results, context) else 0


# --------------------------------------------------------------------------------------------
# Mutations: every check can fail


def _find(docs, pred):
    for doc in docs:
        if pred(doc):
            return doc
    raise LookupError("no document for this mutation")


def _is_role(role):
    return lambda d: d.get("kind") == "Deployment" and role_of(labels_of(d).get(COMPONENT)) == role


def _first_container(doc):
    return containers_of(pod_spec_of(doc), init=False)[0]


def _mut(fn):
    def apply(docs):
        fn(docs)
        return docs
    return apply


MUTATIONS = [
    # (check, ci values file, description, mutation of the documents)
    ("pod-security", "default-values.yaml", "controller pod without runAsNonRoot",
     _mut(lambda docs: pod_spec_of(_find(docs, _is_role("controller")))["securityContext"].pop("runAsNonRoot"))),
    ("pod-security", "default-values.yaml", "seccompProfile Unconfined on the migrate Job",
     _mut(lambda docs: pod_spec_of(_find(docs, lambda d: d.get("kind") == "Job"))["securityContext"].update(
         seccompProfile={"type": "Unconfined"}))),
    ("pod-security", "default-values.yaml", "payment worker allows privilege escalation",
     _mut(lambda docs: _first_container(_find(docs, _is_role("payment")))["securityContext"].update(allowPrivilegeEscalation=True))),
    ("pod-security", "default-values.yaml", "webhook worker with a writable root filesystem",
     _mut(lambda docs: _first_container(_find(docs, _is_role("webhook")))["securityContext"].update(readOnlyRootFilesystem=False))),
    ("pod-security", "default-values.yaml", "test Pod keeps its capabilities",
     _mut(lambda docs: _first_container(_find(docs, lambda d: d.get("kind") == "Pod"))["securityContext"].pop("capabilities"))),
    ("pod-security", "default-values.yaml", "controller without the /tmp mount",
     _mut(lambda docs: _first_container(_find(docs, _is_role("controller"))).update(
         volumeMounts=[m for m in _first_container(_find(docs, _is_role("controller")))["volumeMounts"] if m["mountPath"] != "/tmp"]))),
    ("pod-security", "default-values.yaml", "token automounted in the payment pods",
     _mut(lambda docs: pod_spec_of(_find(docs, _is_role("payment"))).update(automountServiceAccountToken=True))),
    ("pod-security", "default-values.yaml", "ServiceAccount automounts its token",
     _mut(lambda docs: _find(docs, lambda d: d.get("kind") == "ServiceAccount").pop("automountServiceAccountToken"))),
    ("pod-security", "default-values.yaml", "webhook worker without a memory limit",
     _mut(lambda docs: _first_container(_find(docs, _is_role("webhook")))["resources"].pop("limits"))),
    ("long-running", "default-values.yaml", "controller without a startupProbe",
     _mut(lambda docs: _first_container(_find(docs, _is_role("controller"))).pop("startupProbe"))),
    ("long-running", "default-values.yaml", "payment readinessProbe on /healthz",
     _mut(lambda docs: _first_container(_find(docs, _is_role("payment")))["readinessProbe"]["httpGet"].update(path="/healthz"))),
    ("long-running", "default-values.yaml", "webhook grace period equal to the drain time",
     _mut(lambda docs: pod_spec_of(_find(docs, _is_role("webhook"))).update(terminationGracePeriodSeconds=20))),
    ("long-running", "default-values.yaml", "no checksum/config on the payment pods",
     _mut(lambda docs: _find(docs, _is_role("payment"))["spec"]["template"]["metadata"]["annotations"].pop("checksum/config"))),
    ("long-running", "default-values.yaml", "webhook worker Deployment missing",
     _mut(lambda docs: docs.remove(_find(docs, _is_role("webhook"))))),
    ("autoscaling", "hpa-values.yaml", "replicas set on an HPA-scaled worker",
     _mut(lambda docs: _find(docs, _is_role("payment"))["spec"].update(replicas=2))),
    ("autoscaling", "hpa-values.yaml", "HPA targets a Deployment that does not exist",
     _mut(lambda docs: _find(docs, lambda d: d.get("kind") == "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(name="nope"))),
    ("autoscaling", "keda-values.yaml", "ScaledObject authenticationRef to a missing TriggerAuthentication",
     _mut(lambda docs: _find(docs, lambda d: d.get("kind") == "ScaledObject")["spec"]["triggers"][0]["authenticationRef"].update(name="nope"))),
    ("autoscaling", "keda-values.yaml", "ScaledObject scales a Deployment that does not exist",
     _mut(lambda docs: _find(docs, lambda d: d.get("kind") == "ScaledObject")["spec"]["scaleTargetRef"].update(name="nope"))),
    ("monitoring", "default-values.yaml", "a ServiceMonitor while metrics.serviceMonitor.enabled is false",
     _mut(lambda docs: docs.append({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
                                    "metadata": {"name": "stray"}, "spec": {"endpoints": [], "selector": {}}}))),
    ("monitoring", "all-on-values.yaml", "ServiceMonitor without the release label",
     _mut(lambda docs: labels_of(_find(docs, lambda d: d.get("kind") == "ServiceMonitor")).pop("release"))),
    ("monitoring", "all-on-values.yaml", "PrometheusRule with one alert's `for` changed",
     _mut(lambda docs: _find(docs, lambda d: d.get("kind") == "PrometheusRule")["spec"]["groups"][0]["rules"][0].update({"for": "1h"}))),
    ("monitoring", "all-on-values.yaml", "PrometheusRule without the release label",
     _mut(lambda docs: labels_of(_find(docs, lambda d: d.get("kind") == "PrometheusRule")).pop("release"))),
    ("monitoring", "all-on-values.yaml", "dashboards ConfigMap with grafana_dashboard \"0\"",
     _mut(lambda docs: labels_of(_find(docs, lambda d: "grafana_dashboard" in labels_of(d))).update(grafana_dashboard="0"))),
    ("monitoring", "all-on-values.yaml", "dashboard JSON with its title changed",
     _mut(lambda docs: _edit_dashboard(_find(docs, lambda d: "grafana_dashboard" in labels_of(d))))),
    ("monitoring", "all-on-values.yaml", "dashboard JSON truncated",
     _mut(lambda docs: _truncate_dashboard(_find(docs, lambda d: "grafana_dashboard" in labels_of(d))))),
    ("hooks", "default-values.yaml", "migrate Job hooked on pre-install only",
     _mut(lambda docs: annotations_of(_find(docs, lambda d: d.get("kind") == "Job")).update({HOOK: "pre-install"}))),
    ("hooks", "default-values.yaml", "migrate Job runs `redrivectl status`",
     _mut(lambda docs: _first_container(_find(docs, lambda d: d.get("kind") == "Job")).update(args=["redrivectl", "status"]))),
    ("hooks", "default-values.yaml", "test Pod without its helm.sh/hook",
     _mut(lambda docs: annotations_of(_find(docs, lambda d: d.get("kind") == "Pod")).pop(HOOK))),
    ("hooks", "all-on-values.yaml", "the migrate Job's Secret made an ordinary resource",
     _mut(lambda docs: _unhook_job_secret(docs))),
    ("network-policy", "default-values.yaml", "a NetworkPolicy without Egress",
     _mut(lambda docs: _find(docs, lambda d: d.get("kind") == "NetworkPolicy")["spec"].update(policyTypes=["Ingress"]))),
    ("network-policy", "default-values.yaml", "DNS over UDP only",
     _mut(lambda docs: _dns_udp_only(_find(docs, lambda d: d.get("kind") == "NetworkPolicy")))),
    ("secrets", "existing-secret-values.yaml", "a Secret carrying a database URL next to existingSecret",
     _mut(lambda docs: docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leak"},
                                    "stringData": {"database-url": "postgresql://x@db/redrive"}}))),
    ("secrets", "existing-secret-values.yaml", "controller reads the shared url key instead of controller-url",
     _mut(lambda docs: _set_db_key(_find(docs, _is_role("controller")), "url"))),
    ("secrets", "existing-secret-values.yaml", "payment worker reads another Secret",
     _mut(lambda docs: _set_db_secret(_find(docs, _is_role("payment")), "other"))),
    ("secrets", "all-on-values.yaml", "worker reads the controller's URL",
     _mut(lambda docs: _set_db_key(_find(docs, _is_role("payment")), "controller-database-url"))),
    ("secrets", "keda-values.yaml", "KEDA authenticates with the read-write URL",
     _mut(lambda docs: _find(docs, lambda d: d.get("kind") == "TriggerAuthentication")["spec"]["secretTargetRef"][0].update(key="database-url"))),
    ("references", "default-values.yaml", "controller mounts a ConfigMap that is not rendered",
     _mut(lambda docs: _rename_config_volume(_find(docs, _is_role("controller"))))),
    ("wiring", "default-values.yaml", "webhook worker started with --consumer payment",
     _mut(lambda docs: _set_consumer(_find(docs, _is_role("webhook")), "payment"))),
    ("wiring", "default-values.yaml", "ConfigMap lease_seconds differs from config",
     _mut(lambda docs: _edit_config(docs))),
]


def _edit_dashboard(cm):
    key = sorted(k for k in cm["data"] if k.endswith(".json"))[0]
    board = json.loads(cm["data"][key])
    board["title"] = str(board.get("title")) + " (edited)"
    cm["data"][key] = json.dumps(board, indent=2)


def _truncate_dashboard(cm):
    key = sorted(k for k in cm["data"] if k.endswith(".json"))[-1]
    cm["data"][key] = cm["data"][key][: len(cm["data"][key]) // 2]


def _unhook_job_secret(docs):
    job = _find(docs, lambda d: d.get("kind") == "Job")
    names = {n for k, n, _, _ in pod_references(pod_spec_of(job)) if k == "Secret"}
    secret = _find(docs, lambda d: d.get("kind") == "Secret" and dig(d, "metadata", "name") in names)
    secret["metadata"]["annotations"] = {}


def _dns_udp_only(policy):
    for rule in policy["spec"]["egress"]:
        rule["ports"] = [p for p in rule.get("ports") or [] if not (str(p.get("port")) == "53" and p.get("protocol", "TCP") == "TCP")]
        if not rule["ports"]:
            rule["ports"] = [{"port": 1, "protocol": "TCP"}]


def _db_ref(doc):
    for env in _first_container(doc)["env"]:
        if env["name"] == "REDRIVE_DATABASE_URL":
            return env["valueFrom"]["secretKeyRef"]
    raise LookupError("no REDRIVE_DATABASE_URL")


def _set_db_key(doc, key):
    _db_ref(doc)["key"] = key


def _set_db_secret(doc, name):
    _db_ref(doc)["name"] = name


def _rename_config_volume(doc):
    for volume in pod_spec_of(doc)["volumes"]:
        if "configMap" in volume:
            volume["configMap"]["name"] = "not-rendered"
            return
    raise LookupError("no configMap volume")


def _set_consumer(doc, consumer):
    container = _first_container(doc)
    args = list(container.get("args") or [])
    args[args.index("--consumer") + 1] = consumer
    container["args"] = args


def _edit_config(docs):
    for doc in docs:
        if doc.get("kind") == "ConfigMap" and "redrive.yaml" in (doc.get("data") or {}):
            config = yaml.safe_load(doc["data"]["redrive.yaml"])
            config.setdefault("worker", {})["lease_seconds"] = 31
            doc["data"]["redrive.yaml"] = yaml.safe_dump(config)
            return
    raise LookupError("no redrive.yaml ConfigMap")


def _doctored(render, fn):
    """A render function whose output or exit is changed by fn(code, out, err, extra)."""
    def wrapped(values_files, extra=()):
        return fn(*render(values_files, extra), list(extra))
    return wrapped


def cmd_mutations(args):
    renderer = Renderer(args.renderer, args.chart, args.release, args.namespace)
    failures = 0
    tmp = tempfile.mkdtemp(prefix="chart-mutations-")
    cache = {}
    try:
        for index, (check, values_name, what, mutate) in enumerate(MUTATIONS):
            values_file = os.path.join(args.chart, "ci", values_name)
            func = dict(RENDER_CHECKS)[check]
            try:
                if values_name not in cache:
                    code, out, err = renderer.run([values_file])
                    if code != 0:
                        raise RuntimeError("render failed: %s" % err.strip())
                    cache[values_name] = (out, renderer.values([values_file]))
                out, values = cache[values_name]
                baseline = func(Rendering(validate_manifests.load_documents(out), values, args.chart))
                # The mutation works on a copy written to the temporary folder and read back.
                docs = mutate(copy.deepcopy(validate_manifests.load_documents(out)))
                path = os.path.join(tmp, "mutation-%02d.yaml" % index)
                with open(path, "w", encoding="utf-8") as handle:
                    yaml.safe_dump_all(docs, handle, sort_keys=False)
                mutated = func(Rendering(validate_manifests.load_file(path), values, args.chart))
            except (LookupError, KeyError, IndexError, ValueError, TypeError, AttributeError, RuntimeError) as exc:
                print("FAIL mutation %s: %s: cannot apply (%s: %s)" % (check, what, type(exc).__name__, exc))
                failures += 1
                continue
            new = [p for p in mutated if p not in baseline]
            if new:
                print("ok   mutation %s: %s -> %s" % (check, what, new[0]))
            else:
                print("FAIL mutation %s: %s was not detected%s" % (
                    check, what, " (the check already fails on the unmutated chart)" if baseline else ""))
                failures += 1
        # Dynamic checks: feed them doctored renders.
        default = _base_values_for_failures(args.chart)
        values = renderer.values(default)
        dynamic = [
            ("checksum", "checksum/config that ignores the configuration",
             lambda: check_checksum_changes(_doctored(renderer.run, _constant_checksum), default, values)),
            ("hpa-keda", "a render that succeeds with HPA and KEDA both on",
             lambda: check_hpa_keda_exclusive(_doctored(renderer.run, lambda c, o, e, x: (0, "", "")), default)),
            ("hpa-keda", "a failure message that names neither",
             lambda: check_hpa_keda_exclusive(_doctored(renderer.run, lambda c, o, e, x: (1, "", "Error: bad values")), default)),
            ("database", "a render that succeeds without any database",
             lambda: check_database_required(_doctored(renderer.run, lambda c, o, e, x: (0, "", "")), default)),
            ("webhook-secret", "a render that succeeds without a webhook secret",
             lambda: check_webhook_secret_required(_doctored(renderer.run, lambda c, o, e, x: (0, "", "")), default)),
        ]
        for check, what, run in dynamic:
            problems = run()
            if problems:
                print("ok   mutation %s: %s -> %s" % (check, what, problems[0]))
            else:
                print("FAIL mutation %s: %s was not detected" % (check, what))
                failures += 1
        # Static checks on a doctored copy of values.yaml / values.schema.json.
        failures += _static_mutations(args.chart, tmp, args.renderer)
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    print("mutations: %s" % ("every mutation detected" if not failures else "%d not detected" % failures))
    return 1 if failures else 0


def _constant_checksum(code, out, err, extra):
    if code != 0:
        return code, out, err
    docs = validate_manifests.load_documents(out)
    for doc in docs:
        annotations = pod_template_meta(doc).get("annotations")
        if isinstance(annotations, dict) and "checksum/config" in annotations:
            annotations["checksum/config"] = "0" * 64
    return code, yaml.safe_dump_all(docs, sort_keys=False), err


def _static_mutations(chart_dir, tmp, renderer):
    import shutil
    failures = 0
    copy_dir = os.path.join(tmp, "chart")
    shutil.copytree(chart_dir, copy_dir)
    values_path = os.path.join(copy_dir, "values.yaml")
    schema_path = os.path.join(copy_dir, "values.schema.json")
    with open(values_path, encoding="utf-8") as handle:
        original_values = handle.read()
    with open(schema_path, encoding="utf-8") as handle:
        original_schema = handle.read()

    def attempt(check, what, values_text, schema_text, func):
        nonlocal failures
        with open(values_path, "w", encoding="utf-8") as handle:
            handle.write(values_text)
        with open(schema_path, "w", encoding="utf-8") as handle:
            handle.write(schema_text)
        problems = func(copy_dir)
        if problems:
            print("ok   mutation %s: %s -> %s" % (check, what, problems[0]))
        else:
            print("FAIL mutation %s: %s was not detected" % (check, what))
            failures += 1

    lines = original_values.splitlines(True)
    first_param = next((i for i, l in enumerate(lines) if PARAM_RE.match(l) and "@param" in l), None)
    if first_param is not None:
        attempt("params", "the first @param line removed", "".join(lines[:first_param] + lines[first_param + 1:]),
                original_schema, check_params)
    attempt("params", "an @param for a key that does not exist",
            original_values + "\n## @param no.such.key Nothing\n", original_schema, check_params)
    attempt("params", "a new key without @param", original_values + "\nundocumentedKey: 1\n", original_schema, check_params)
    schema = json.loads(original_schema)
    for pointer, sub in walk_schemas(schema):
        if "properties" in sub and sub.get("additionalProperties") is False and pointer != "#":
            del sub["additionalProperties"]
            attempt("schema-strict", "additionalProperties: false removed at %s" % pointer,
                    original_values, json.dumps(schema), check_schema_strict)
            break
    extra_ci = os.path.join(copy_dir, "ci", "zz-mutation-values.yaml")
    with open(extra_ci, "w", encoding="utf-8") as handle:
        handle.write("controller:\n  replicaCont: 3\n")
    attempt("schema-ci", "a ci file with a misspelled key (controller.replicaCont)", original_values,
            original_schema, lambda chart: check_schema_ci(chart, renderer))
    os.remove(extra_ci)
    return failures


# --------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description="Policy checks on the redrive Helm chart.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("values", "render", "mutations"):
        p = sub.add_parser(name)
        p.add_argument("--chart", required=True)
        p.add_argument("--renderer", required=True, help="helm-render binary")
        p.add_argument("--release", default="redrive")
        p.add_argument("--namespace", default="redrive")
        if name == "render":
            p.add_argument("-f", "--values", action="append", default=[], help="values file (repeatable)")
            p.add_argument("--set", action="append", default=[], dest="sets",
                           help="passed to the renderer as --set (repeatable)")
            p.add_argument("--manifests", help="check this rendered file instead of rendering")
            p.add_argument("--values-json", help="merged values (as --print-values prints them)")
            p.add_argument("--only", help="comma-separated check names")
            p.add_argument("--skip-checksum", action="store_true",
                           help="do not render twice to see checksum/config change")
    args = parser.parse_args(argv)
    args.chart = os.path.abspath(args.chart)
    if not os.path.isfile(os.path.join(args.chart, "Chart.yaml")):
        print("chart_checks: %s is not a chart directory" % args.chart, file=sys.stderr)
        return 2
    if not (os.path.isfile(args.renderer) and os.access(args.renderer, os.X_OK)):
        print("chart_checks: %s is not an executable renderer" % args.renderer, file=sys.stderr)
        return 2
    args.values = [os.path.abspath(f) for f in getattr(args, "values", [])]
    return {"values": cmd_values, "render": cmd_render, "mutations": cmd_mutations}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
