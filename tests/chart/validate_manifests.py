#!/usr/bin/python3
"""Validate Kubernetes manifests against JSON schemas, offline (kubeconform-style).

    validate_manifests.py --schemas DIR FILE...

Every YAML document of every FILE (multi-document files, `-` reads stdin) is validated with
`jsonschema.Draft7Validator` against the schema for its kind and apiVersion, looked up in DIR
(see tests/chart/schemas/SOURCES.md for where the schemas come from):

* built-in kinds: `<kind lowercase>-<first label of the group, or nothing>-<version>.json`,
  e.g. `apps/v1` Deployment -> deployment-apps-v1.json, `v1` Service -> service-v1.json,
  `networking.k8s.io/v1` NetworkPolicy -> networkpolicy-networking-v1.json;
* custom resources: `<group>/<kind lowercase>_<version>.json`,
  e.g. `monitoring.coreos.com/v1` ServiceMonitor -> monitoring.coreos.com/servicemonitor_v1.json.

A kind/apiVersion without a schema is a failure, and so is a document that is not a mapping,
lacks apiVersion, kind or metadata.name, or repeats a key inside one mapping (the API
server's YAML decoder rejects duplicate keys; PyYAML would silently keep the last one).
Each problem is printed as

    FILE: document N (Kind/name): $.json.path: message

(N counts from 1 over the documents that are not empty). Exit status: 0 when every document
is valid, 1 when any is not, 2 on a bad command line or an unreadable schema directory.

Needs Debian's /usr/bin/python3 (python3-yaml, python3-jsonschema 4.x).
"""

import argparse
import json
import os
import re
import sys

import jsonschema
import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and keeps timestamps as strings (JSON types)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue  # the base constructor reports unhashable keys itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found duplicate key %r (first at line %d)" % (key, seen[key] + 1),
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_SEPARATOR = re.compile(r"^---(?=\s|$)", re.M)


def split_documents(text):
    """Splits a YAML stream at its `---` lines, like Helm and kubectl do. Each piece is padded
    with the newlines before it, so that parse errors name lines of the whole file."""
    pieces, start = [], 0
    for match in _SEPARATOR.finditer(text):
        pieces.append(text[start:match.start()])
        start = match.start()
    pieces.append(text[start:])
    out, offset = [], 0
    for piece in pieces:
        out.append("\n" * offset + piece)
        offset += piece.count("\n")
    return out


def parse_documents(text):
    """[(document or None, YAMLError or None)] for every non-empty document of a stream; a
    document that does not parse does not stop the ones after it."""
    out = []
    for piece in split_documents(text):
        try:
            docs = [doc for doc in yaml.load_all(piece, Loader=_Loader) if doc is not None]
        except yaml.YAMLError as exc:
            out.append((None, exc))
            continue
        out.extend((doc, None) for doc in docs)
    return out


def load_documents(text):
    """Parses a multi-document YAML string; returns the non-empty documents (raises yaml.YAMLError)."""
    docs = []
    for doc, error in parse_documents(text):
        if error is not None:
            raise error
        docs.append(doc)
    return docs


def read_text(path):
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def load_file(path):
    """Returns the non-empty documents of a file (`-` is stdin); raises OSError or yaml.YAMLError."""
    return load_documents(read_text(path))


def schema_candidates(api_version, kind):
    """Relative schema paths for an apiVersion and kind, most specific first."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
    else:
        group, version = "", api_version
    kind_lower = kind.lower()
    candidates = []
    # Built-in kinds (core group, *.k8s.io groups, and the single-word groups such as apps).
    if group == "" or "." not in group or group.endswith(".k8s.io"):
        label = group.split(".")[0]
        candidates.append("%s-%s-%s.json" % (kind_lower, label, version) if label
                          else "%s-%s.json" % (kind_lower, version))
    if group:
        candidates.append(os.path.join(group, "%s_%s.json" % (kind_lower, version)))
    return candidates


class SchemaStore:
    def __init__(self, directory):
        self.directory = directory
        self._cache = {}

    def validator(self, api_version, kind):
        """(validator, schema path) for a kind, or (None, tried paths) when there is no schema."""
        tried = []
        for rel in schema_candidates(api_version, kind):
            path = os.path.join(self.directory, rel)
            tried.append(rel)
            if path in self._cache:
                return self._cache[path], rel
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    schema = json.load(handle)
                # A built-in schema names its group/version/kind: make sure the file is the
                # right one (the name lookup cannot tell `v1` Kind from `kind-v1` collisions).
                gvks = schema.get("x-kubernetes-group-version-kind")
                if gvks:
                    group, _, version = api_version.rpartition("/")
                    if not any(g.get("group", "") == group and g.get("version") == version
                               and g.get("kind") == kind for g in gvks):
                        continue
                validator = jsonschema.Draft7Validator(schema)
                self._cache[path] = validator
                return validator, rel
        return None, tried


def json_path(parts):
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += "[%d]" % part
        elif part.replace("_", "").replace("-", "").isalnum() and "." not in part:
            out += "." + part
        else:
            out += "[%s]" % json.dumps(part)
    return out


def _shorten(value, limit=80):
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe_error(error):
    """One line per error; for anyOf/oneOf the most relevant sub-error is named too."""
    message = error.message
    if error.validator == "additionalProperties" and error.validator_value is False:
        message = message.replace("Additional properties are not allowed", "unknown field(s)")
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None and best.message != error.message:
            message += " (%s)" % best.message
    if len(message) > 300:
        message = message[:297] + "..."
    return "%s: %s" % (json_path(error.absolute_path), message)


def validate_document(doc, store):
    """Returns a list of 'json path: message' strings for one document ([] when valid)."""
    if not isinstance(doc, dict):
        return ["$: document is a %s, not a mapping" % type(doc).__name__]
    problems = []
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not api_version:
        problems.append("$.apiVersion: missing or not a string")
    if not isinstance(kind, str) or not kind:
        problems.append("$.kind: missing or not a string")
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) \
            or not metadata.get("name"):
        problems.append("$.metadata.name: missing or not a non-empty string")
    if problems and (not isinstance(api_version, str) or not isinstance(kind, str)):
        return problems
    validator, where = store.validator(api_version, kind)
    if validator is None:
        problems.append("$: no schema for kind %s apiVersion %s (looked for %s in %s)"
                        % (kind, api_version, ", ".join(where), store.directory))
        return problems
    errors = sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    problems.extend(describe_error(error) for error in errors)
    return problems


def document_label(doc):
    if not isinstance(doc, dict):
        return "?/?"
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return "%s/%s" % (doc.get("kind", "?"), metadata.get("name", "?"))


def validate_files(paths, schema_dir, out=sys.stdout):
    """Validates every document of every file; prints problems; returns (documents, problems)."""
    store = SchemaStore(schema_dir)
    total_docs = total_problems = 0
    for path in paths:
        try:
            docs = parse_documents(read_text(path))
        except (OSError, UnicodeDecodeError) as exc:
            print("%s: cannot read: %s" % (path, exc), file=out)
            total_problems += 1
            continue
        if not docs:
            print("%s: no YAML documents" % path, file=out)
            total_problems += 1
            continue
        for index, (doc, error) in enumerate(docs, start=1):
            total_docs += 1
            if error is not None:
                print("%s: document %d: YAML error: %s" % (path, index, " ".join(str(error).split())), file=out)
                total_problems += 1
                continue
            for problem in validate_document(doc, store):
                print("%s: document %d (%s): %s" % (path, index, document_label(doc), problem), file=out)
                total_problems += 1
    return total_docs, total_problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemas", required=True, help="folder of JSON schemas")
    parser.add_argument("files", nargs="+", metavar="FILE", help="YAML file ('-' for stdin)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing when valid")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.schemas):
        print("validate_manifests: %s is not a directory" % args.schemas, file=sys.stderr)
        return 2
    docs, problems = validate_files(args.files, args.schemas)
    if problems:
        print("validate_manifests: %d problem(s) in %d document(s) of %s"
              % (problems, docs, ", ".join(args.files)))
        return 1
    if not args.quiet:
        print("validate_manifests: %d document(s) valid in %s" % (docs, ", ".join(args.files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
