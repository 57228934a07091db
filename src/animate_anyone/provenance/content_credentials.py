"""C2PA content credentials (c2pa-python): a signed manifest in the mp4 that says how it was made.

The manifest holds one action, `c2pa.created` with the IPTC digital source type
`trainedAlgorithmicMedia`, the model as an `inputTo` ingredient, and the label's facts as an
`org.animate_anyone.label` assertion. The signer brings a certificate chain (PEM: the signing
certificate first, then its issuers) and its private key; C2PA validators want the signing
certificate to be an end-entity certificate (not a CA, not self-signed) with the digitalSignature
key usage and an extended key usage such as emailProtection or documentSigning.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from animate_anyone import __version__
from animate_anyone.errors import InputError
from animate_anyone.provenance.label import GENERATOR, Label

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
LABEL_ASSERTION = "org.animate_anyone.label"
MP4 = "video/mp4"
UNTRUSTED = "signingCredential.untrusted"  # the signature holds but its certificate chains to no known trust anchor


@dataclass(frozen=True)
class SigningCredentials:
    """A certificate chain and private key (PEM), read and checked by `load_signing_credentials`."""

    certificate_chain: bytes
    private_key: bytes
    algorithm: str  # C2PA signing algorithm: es256, es384, es512, ps256 or ed25519


def load_signing_credentials(certificate: str | os.PathLike, key: str | os.PathLike) -> SigningCredentials:
    """Read `certificate` (PEM chain) and `key` (PEM private key, unencrypted); InputError when unusable."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    chain, key_pem = _read(certificate, "--c2pa-cert"), _read(key, "--c2pa-key")
    try:
        certificates = x509.load_pem_x509_certificates(chain)
    except ValueError as error:
        raise InputError(f"--c2pa-cert {certificate} is not a PEM certificate chain: {error}") from None
    try:
        private_key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:
        raise InputError(f"--c2pa-key {key} is not an unencrypted PEM private key: {error}") from None
    public = dict(encoding=serialization.Encoding.DER, format=serialization.PublicFormat.SubjectPublicKeyInfo)
    if private_key.public_key().public_bytes(**public) != certificates[0].public_key().public_bytes(**public):
        raise InputError(f"--c2pa-key {key} does not belong to the first certificate of {certificate}")
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        algorithm = {256: "es256", 384: "es384", 521: "es512"}.get(private_key.curve.key_size)
    elif isinstance(private_key, rsa.RSAPrivateKey):
        algorithm = "ps256"
    elif isinstance(private_key, ed25519.Ed25519PrivateKey):
        algorithm = "ed25519"
    else:
        algorithm = None
    if algorithm is None:
        raise InputError(f"--c2pa-key {key}: C2PA signs with EC P-256/384/521, RSA or Ed25519 keys")
    return SigningCredentials(chain, key_pem, algorithm)


def _read(path: str | os.PathLike, option: str) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{option} file not found: {path}")
    return path.read_bytes()


def manifest_definition(label: Label, title: str) -> dict:
    agent = {"name": GENERATOR, "version": __version__}
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": MP4,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA, "softwareAgent": agent,
                "description": "character animation generated from a reference image and a pose sequence",
            }]}},
            {"label": LABEL_ASSERTION, "data": label.facts()},
        ],
    }


def sign_mp4(source: Path, destination: Path, credentials: SigningCredentials, label: Label) -> None:
    """Write `source` with a signed C2PA manifest to `destination`."""
    import c2pa

    model = {"model": label.model, "sha256": label.model_sha256}
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
            credentials.algorithm, credentials.certificate_chain, credentials.private_key, None))
        with signer, c2pa.Builder(manifest_definition(label, destination.name)) as builder:
            builder.add_ingredient({"title": label.model, "relationship": "inputTo", "format": "application/json"},
                                   "application/json", io.BytesIO(json.dumps(model).encode()))
            with source.open("rb") as unsigned, destination.open("w+b") as signed:
                builder.sign(signer, MP4, unsigned, signed)
    except c2pa.C2paError as error:
        raise InputError(f"C2PA signing failed: {error}") from None


@dataclass(frozen=True)
class CredentialsReport:
    """What a video's C2PA manifest says: `state` is valid, invalid or absent."""

    state: str
    signer: str | None = None  # the signing certificate's common name and issuer
    trusted: bool = False  # the signer chains to a trust list the validator knows
    digital_source_type: str | None = None
    problems: list[str] = field(default_factory=list)  # validation failure codes

    def to_dict(self) -> dict:
        return {"state": self.state, "signer": self.signer, "trusted": self.trusted,
                "digital_source_type": self.digital_source_type, "problems": self.problems}


def read_credentials(path: str | os.PathLike) -> CredentialsReport:
    """Validate the C2PA manifest of an mp4 (signature, hashes of the content, certificate)."""
    import c2pa

    try:
        with open(path, "rb") as stream:
            reader = c2pa.Reader.try_create(MP4, stream)
            if reader is None:
                return CredentialsReport("absent")
            with reader:
                state = reader.get_validation_state() or "Invalid"
                results = reader.get_validation_results() or {}
                manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError as error:  # a manifest is there but cannot be parsed
        return CredentialsReport("invalid", problems=[str(error).splitlines()[0]])
    failures = [item.get("code", "?") for item in (results.get("activeManifest") or {}).get("failure", [])
                if item.get("code") != UNTRUSTED]  # a signer off the trust list is reported as `trusted`
    info = manifest.get("signature_info") or {}
    signer = ", ".join(part for part in (info.get("common_name"), info.get("issuer")) if part) or None
    source_types = [action.get("digitalSourceType") for assertion in manifest.get("assertions", [])
                    if assertion.get("label", "").startswith("c2pa.actions")
                    for action in assertion.get("data", {}).get("actions", [])]
    valid = state in ("Valid", "Trusted") and not failures
    return CredentialsReport("valid" if valid else "invalid", signer, state == "Trusted",
                             next((kind for kind in source_types if kind), None), failures)
