"""The CA, server and client certificates, the token and the kubeconfig."""

import base64
import datetime
import ipaddress
import os
import secrets

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn, org=None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _certificate(subject, key, issuer, issuer_key, ca=False, sans=(), usage=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_credentials(host):
    """A CA, a server certificate for loopback and `host`, a client
    certificate (CN ferry-test-admin, O system:masters) and a token."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(_name("ferry-test-ca"), ca_key, _name("ferry-test-ca"), ca_key, ca=True)
    sans = {x509.DNSName("localhost"), x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))}
    try:
        sans.add(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        sans.add(x509.DNSName(host))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(_name("ferry-test-apiserver"), server_key, ca.subject, ca_key,
                          sans=sorted(sans, key=str), usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(_name("ferry-test-admin", "system:masters"), client_key, ca.subject,
                          ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return {"ca.crt": _pem(ca), "server.crt": _pem(server), "server.key": _key_pem(server_key),
            "client.crt": _pem(client), "client.key": _key_pem(client_key),
            "token": secrets.token_urlsafe(32).encode()}


def kubeconfig(server_url, creds):
    def b64(name):
        return base64.b64encode(creds[name]).decode()
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "token",
        "clusters": [{"name": "ferry-test", "cluster": {
            "server": server_url, "certificate-authority-data": b64("ca.crt")}}],
        "users": [{"name": "token", "user": {"token": creds["token"].decode()}},
                  {"name": "cert", "user": {"client-certificate-data": b64("client.crt"),
                                            "client-key-data": b64("client.key")}}],
        "contexts": [{"name": "token", "context": {"cluster": "ferry-test", "user": "token"}},
                     {"name": "cert", "context": {"cluster": "ferry-test", "user": "cert"}}],
    }, sort_keys=False).encode()


def write_atomically(path, data, mode=0o600):
    tmp = f"{path}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
        f.write(data)
    os.replace(tmp, path)
