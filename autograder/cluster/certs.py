"""TLS for the grading cluster: a certificate authority of the instructor's own, and the
certificates of the scheduler, the workers and the coordinator (the client), made with the
``cryptography`` library; and the :class:`distributed.security.Security` each side uses.

Dask's TLS is mutual: every side shows a certificate signed by the CA and checks the other's.
A machine needs ``ca.pem`` and its own role's pair (``worker.pem``/``worker-key.pem`` on a
worker); ``ca-key.pem`` stays with the instructor (it signs new certificates).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import SCHEDULER_ENV, WORKER_ENV

if TYPE_CHECKING:
    from distributed.security import Security

ROLES = ("scheduler", "worker", "client")
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
DEFAULT_DAYS = 365


@dataclass(frozen=True)
class RoleFiles:
    cert: Path
    key: Path


def role_files(folder: Path, role: str) -> RoleFiles:
    return RoleFiles(folder / f"{role}.pem", folder / f"{role}-key.pem")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "autograder cluster"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _alt_names(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def make_certificates(
    folder: Path, hosts: list[str], days: int = DEFAULT_DAYS
) -> dict[str, RoleFiles]:
    """A new CA in ``folder`` and a certificate for each role, valid for ``hosts`` (names or
    addresses of the scheduler and workers; Dask checks the CA's signature, the names are
    for other TLS clients). Existing files are replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    now = dt.datetime.now(dt.UTC)
    until = now + dt.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("autograder cluster CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / CA_FILE).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(folder / CA_KEY_FILE, ca_key)
    files = {}
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(f"autograder {role}"))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_alt_names(hosts), critical=False)
            # Every role both listens and connects (workers talk to each other too).
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        files[role] = role_files(folder, role)
        files[role].cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(files[role].key, key)
    return files


def security(folder: Path, role: str = "client") -> Security:
    """The TLS settings of one role, from ``folder``; unencrypted connections are refused."""
    from distributed.security import Security

    files = role_files(folder, role)
    missing = [p for p in (folder / CA_FILE, files.cert, files.key) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"no TLS certificate {', '.join(str(p) for p in missing)}: make them with "
            f"`autograder cluster-certs {folder}`"
        )
    paths = {
        "tls_ca_file": str(folder / CA_FILE),
        f"tls_{role}_cert": str(files.cert),
        f"tls_{role}_key": str(files.key),
    }
    return Security(require_encryption=True, **paths)


def start_commands(folder: Path, scheduler_host: str) -> list[str]:
    """How to start the scheduler and a worker with these certificates (for the README and
    ``autograder cluster-certs``)."""
    tls = f"--tls-ca-file {folder / CA_FILE}"
    s, w = role_files(folder, "scheduler"), role_files(folder, "worker")
    scheduler_env = " ".join(f"{k}={v}" for k, v in SCHEDULER_ENV.items())
    worker_env = " ".join(f"{k}={v}" for k, v in WORKER_ENV.items())
    return [
        f"{scheduler_env} dask scheduler --protocol tls {tls} --tls-cert {s.cert} "
        f"--tls-key {s.key}",
        f"{worker_env} dask worker "
        f"tls://{scheduler_host}:8786 --nthreads 2 --name $(hostname) {tls} "
        f"--tls-cert {w.cert} --tls-key {w.key}",
    ]
