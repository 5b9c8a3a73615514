#!/usr/bin/python3
# The Kubernetes Python client's dynamic client (Debian python3-kubernetes) against the server on
# the simulated mesh: it must resolve every resource of metrics.smi-spec.io, by name and by the
# kind discovery gives it, and list it, and the objects it gets keep `kind: TrafficMetrics`
# (docs/kubernetes-api.md, "Every kind of client"). Which resources exist is read from the raw
# discovery document, so a resource added to the server is checked too.
#
# Run by test/integration/run_e2e.sh like the GoogleTest binaries (it passes them gtest flags,
# ignored here), and prints the same markers: `[  SKIPPED ]` when python3-kubernetes is missing
# (the harness reports that as skipped), `[  FAILED  ]` and exit 1 on a failure.
import os
import sys
import tempfile
import traceback

GROUP = "metrics.smi-spec.io"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}


def main():
    try:
        from kubernetes import config
        from kubernetes.dynamic import DynamicClient
    except ImportError as e:
        print("[  SKIPPED ] PythonDynamicClient: python3-kubernetes is not installed (%s)" % e)
        return 0
    kubeconfig = os.environ.get("SMI_E2E_KUBECONFIG")
    if not kubeconfig:
        print("python_dynamic_client_test: SMI_E2E_KUBECONFIG is not set: use run_e2e.sh")
        return 2

    failures = []

    def check(name, fn):
        print("[ RUN      ] PythonDynamicClient.%s" % name, flush=True)
        try:
            fn()
            print("[       OK ] PythonDynamicClient.%s" % name, flush=True)
        except Exception:
            traceback.print_exc()
            print("[  FAILED  ] PythonDynamicClient.%s" % name, flush=True)
            failures.append(name)

    api = config.new_client_from_config(config_file=kubeconfig)
    with tempfile.TemporaryDirectory(prefix="smi-pydyn-") as tmp:
        # Its own discovery cache: the client otherwise shares one per host in /tmp.
        client = DynamicClient(api, cache_file=os.path.join(tmp, "discovery.json"))

        def raw(path):
            return client.request("GET", path)

        for version in ("v1alpha1", "v1alpha2"):
            api_version = GROUP + "/" + version
            listed = raw("/apis/" + api_version).resources
            resources = [r for r in listed if "/" not in r["name"]]
            assert resources, "discovery lists no resources"
            for entry in resources:
                name = entry["name"]

                def by_name_and_kind(name=name, entry=entry):
                    r = client.resources.get(api_version=api_version, name=name)
                    assert r.name == name, "name %s resolved to %s" % (name, r.name)
                    r2 = client.resources.get(api_version=api_version, kind=r.kind)
                    assert r2.name == name, "kind %s resolved to %s, not %s" % (r.kind, r2.name,
                                                                                   name)
                    assert r.kind == entry["kind"]

                def lists(name=name, entry=entry):
                    r = client.resources.get(api_version=api_version, name=name)
                    got = r.get()  # every namespace
                    assert got.kind == "TrafficMetricsList", got.kind
                    want = raw("/apis/%s/%s" % (api_version, name))
                    ids = lambda lst: sorted(
                        (i.resource.kind, i.resource.namespace or "", i.resource.name,
                         (i.edge.side if i.edge else ""),
                         (i.backend.name if i.backend else ""))
                        for i in lst.items)
                    assert ids(got) == ids(want), "%s lists %s, the server's list is %s" % (
                        name, ids(got), ids(want))
                    if not got.items:
                        # Without Kubernetes objects (this harness' default) no TrafficSplit and
                        # no group of pods the caches form exists; the list matched the server's.
                        assert name not in ("pods", "namespaces", "deployments", "trafficmetrics"), (
                            "%s: the simulated mesh has objects of this kind" % name)
                        return
                    for item in got.items:
                        assert item.kind == "TrafficMetrics", item.kind
                        assert item.apiVersion == api_version, item.apiVersion
                    if name == "trafficmetrics":
                        assert {i.resource.kind for i in got.items} <= WORKLOAD_KINDS
                    elif name != "trafficsplits":
                        assert {i.resource.kind for i in got.items} == {want.resource.kind}
                    # One object by name, and its edges where the resource has them.
                    first = got.items[0]
                    ns = first.resource.namespace if entry["namespaced"] else None
                    one = r.get(name=first.resource.name, namespace=ns)
                    assert one.kind == "TrafficMetrics", one.kind
                    assert one.resource.name == first.resource.name
                    if "edges" in (r.subresources or {}):
                        edges = r.edges.get(name=first.resource.name, namespace=ns)
                        assert edges.kind == "TrafficMetricsList", edges.kind

                check("%s.%s.ResolvesByNameAndKind" % (version, name), by_name_and_kind)
                check("%s.%s.Lists" % (version, name), lists)

    if failures:
        print("[  FAILED  ] %d checks: %s" % (len(failures), ", ".join(failures)))
        return 1
    print("[  PASSED  ] every resource of %s resolves and lists" % GROUP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
