"""What the server says about itself, and its limits."""


SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-ferry-test",
                  "gitCommit": "", "gitTreeState": "clean", "buildDate": "",
                  "goVersion": "", "compiler": "python", "platform": "linux/amd64"}
MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's request size limit
OPENAPI_V2_PROTOBUF = b"application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
NAMESPACES_AT_START = ("default", "kube-system", "kube-public", "kube-node-lease")
