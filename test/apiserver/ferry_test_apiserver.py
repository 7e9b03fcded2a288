#!/usr/bin/python3
"""Ferry's test API server: a stand-in for kube-apiserver, which no package
installs on the machines Ferry is tested on.

It serves the resources Ferry reads and writes with kube-apiserver's JSON
shapes and semantics (resourceVersions from one counter, 409 on stale
preconditions, status subresources, Service admission, list pagination over
a consistent snapshot, watches with bookmarks and a bounded history that
answers 410 Gone, tables for kubectl get) over TLS with HTTP/2 and HTTP/1.1,
behind a bearer token or a client certificate. A plain-HTTP admin endpoint
on loopback injects faults. README.md says what it leaves out; the tests in
this folder drive it with kubectl, python3-kubernetes and curl.

The package ferry_apiserver/ holds it, one module per concern: errors,
catalogue (resources), selectors, patches, services (Service admission),
store (objects, history, watch hub), api (REST semantics), tables, app (the
ASGI applications: API and admin), certs, server (listeners, main).
"""

from ferry_apiserver.server import main

if __name__ == "__main__":
    main()
