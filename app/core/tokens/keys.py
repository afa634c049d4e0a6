"""The key the service signs with, the keys it verifies with, and the JWKS it publishes.

One key signs: the ``JWT_SECRET_KEY`` with HS256, or an RS256, ES256 or EdDSA private key
from ``JWT_PRIVATE_KEY`` (PEM text) or ``JWT_PRIVATE_KEY_FILE``. ``JWT_VERIFY_KEYS`` adds
public keys that tokens may still be signed with: files or directories of PEM files, the
previous keys of a rotation. Each key is named by its RFC 7638 thumbprint, which every token
carries as ``kid``, and each key verifies with its own algorithm only, so a token cannot pick
how it is checked (RFC 8725 3.1: no ``none``, no HMAC signed with a public key).
"""

import base64
import hashlib
import json
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed448
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask import current_app
from jwt.algorithms import Algorithm
from jwt.algorithms import get_default_algorithms

from app.core.configuration import ALLOWED_ALGORITHMS
from app.core.configuration import ConfigurationError
from app.core.configuration import write_new_file

HMAC_ALGORITHM = "HS256"
SIGNING_ALGORITHMS = ALLOWED_ALGORITHMS  # checked at startup (app/startup.py)
ASYMMETRIC_ALGORITHMS = tuple(name for name in SIGNING_ALGORITHMS if name != HMAC_ALGORITHM)
MIN_RSA_BITS = 2048
GENERATED_RSA_BITS = 3072
_EXTENSION_KEY = "authsvc.signing_keys"
# RFC 7638 3.2: the members a thumbprint is computed over, per key type.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}
_ALGORITHMS = get_default_algorithms()

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    algorithm: str
    verifier: Algorithm
    key: Any
    public_jwk: Mapping[str, str] | None  # None for a secret, which is never published


@dataclass(frozen=True)
class KeySet:
    signing: VerificationKey
    encode_key: Any  # what PyJWT signs with: the secret or the private key object
    verification: Mapping[str, VerificationKey]  # by kid; the signing key first

    def jwks(self) -> dict[str, list[Mapping[str, str]]]:
        """RFC 7517 5: the public keys, the signing key first; empty for a secret."""
        return {"keys": [key.public_jwk for key in self.verification.values() if key.public_jwk]}


def install_signing_keys(app: Flask) -> None:
    keys = load_key_set(app.config, instance_path=Path(app.instance_path))
    app.extensions[_EXTENSION_KEY] = keys
    app.config["JWT_ENCODE_ISSUER"] = app.config["JWT_ISSUER"]
    audiences = app.config["JWT_AUDIENCE"]
    app.config["JWT_ENCODE_AUDIENCE"] = audiences[0] if len(audiences) == 1 else audiences or None
    # flask-jwt-extended keeps its configuration: the reference the service's own writer is
    # tested against (tests/core/tokens/test_minting.py), and a decoder that agrees with its reader.
    app.config["JWT_DECODE_ALGORITHMS"] = sorted(
        {key.algorithm for key in keys.verification.values()}
    )
    app.config["JWT_DECODE_ISSUER"] = app.config["JWT_ISSUER"]
    app.config["JWT_DECODE_AUDIENCE"] = audiences or None


def key_set() -> KeySet:
    return key_set_of(current_app)


def key_set_of(app: Flask) -> KeySet:
    return cast(KeySet, app.extensions[_EXTENSION_KEY])


def load_key_set(config: Mapping[str, Any], *, instance_path: Path) -> KeySet:
    algorithm = config["JWT_ALGORITHM"]
    if algorithm == HMAC_ALGORITHM:
        secret = config["JWT_SECRET_KEY"]
        signing, encode_key = secret_key_entry(secret), secret
    else:
        encode_key = _private_key(config, algorithm, instance_path)
        signing = public_key_entry(encode_key.public_key())
        if signing.algorithm != algorithm:
            raise ConfigurationError(
                f"the signing key is a {signing.algorithm} key, but JWT_ALGORITHM is {algorithm}"
            )
    verification = {signing.kid: signing}
    for key in verify_keys(config["JWT_VERIFY_KEYS"]):
        verification.setdefault(key.kid, key)
    return KeySet(signing=signing, encode_key=encode_key, verification=verification)


def verify_keys(paths: Iterable[str]) -> list[VerificationKey]:
    """The public keys in the PEM files named, or in the *.pem files of the directories."""
    keys = []
    for path in _pem_files(paths):
        try:
            public_key = _public_part(load_pem_key(path.read_bytes()))
        except (OSError, ValueError) as error:
            raise ConfigurationError(
                f"JWT_VERIFY_KEYS: {path} is not a readable PEM key ({_reason(error)})"
            ) from error
        keys.append(public_key_entry(public_key, source=f"JWT_VERIFY_KEYS: {path}"))
    return keys


def public_key_entry(public_key: Any, *, source: str = "the signing key") -> VerificationKey:
    algorithm = algorithm_of(public_key, source=source)
    verifier = _ALGORITHMS[algorithm]
    jwk = {
        name: value
        for name, value in verifier.to_jwk(public_key, as_dict=True).items()
        if name != "key_ops"  # RFC 7517 4.3: use and key_ops should not be used together
    }
    kid = thumbprint(jwk)
    public_jwk = jwk | {"kid": kid, "alg": algorithm, "use": "sig"}
    return VerificationKey(kid, algorithm, verifier, public_key, public_jwk)


def secret_key_entry(secret: str) -> VerificationKey:
    """The HMAC secret, named by its thumbprint: a token signed with it already lets anyone
    test guesses of the secret offline, so its hash in the header tells nothing more."""
    verifier = _ALGORITHMS[HMAC_ALGORITHM]
    kid = thumbprint({"kty": "oct", "k": _base64url(secret.encode())})
    return VerificationKey(kid, HMAC_ALGORITHM, verifier, verifier.prepare_key(secret), None)


def algorithm_of(public_key: Any, *, source: str) -> str:
    """The one algorithm a key may verify with, by its type."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise ConfigurationError(f"{source} is an RSA key of fewer than {MIN_RSA_BITS} bits")
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ConfigurationError(f"{source} is an EC key not on P-256 (ES256 needs P-256)")
        return "ES256"
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return "EdDSA"
    raise ConfigurationError(f"{source} is not an RSA, P-256 or Ed25519 key")


def thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638: the SHA-256 of the key's required members, as unpadded base64url."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _base64url(hashlib.sha256(canonical.encode()).digest())


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_RSA_BITS)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"no key pair for {algorithm}")


def private_pem(private_key: PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(private_key: PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_pem_key(data: bytes) -> Any:
    """A private or public key from PEM; ValueError when it is neither, or encrypted."""
    if b"PRIVATE KEY" in data:
        try:
            return serialization.load_pem_private_key(data, password=None)
        except TypeError as error:  # raised for an encrypted key without a password
            raise ValueError("it is encrypted; give the key unencrypted, file mode 0600") from error
    return serialization.load_pem_public_key(data)


def _private_key(config: Mapping[str, Any], algorithm: str, instance_path: Path) -> Any:
    text, path = config.get("JWT_PRIVATE_KEY"), config.get("JWT_PRIVATE_KEY_FILE")
    if text and path:
        raise ConfigurationError("set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE, not both")
    if text:
        return _loaded_private_key(_pem_text(text).encode(), source="JWT_PRIVATE_KEY")
    if path:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise ConfigurationError(
                f"JWT_PRIVATE_KEY_FILE cannot be read ({_reason(error)}): {path}"
            ) from error
        return _loaded_private_key(data, source="JWT_PRIVATE_KEY_FILE")
    return _unconfigured_private_key(config["APP_ENV"], algorithm, instance_path)


def _unconfigured_private_key(env: str, algorithm: str, instance_path: Path) -> Any:
    """Production needs a key; development keeps one in instance/; tests make one."""
    if env == "production":
        raise ConfigurationError(
            f"JWT_ALGORITHM={algorithm} needs JWT_PRIVATE_KEY_FILE or JWT_PRIVATE_KEY; make a "
            f"key pair with: python -m app keys generate --algorithm {algorithm}"
        )
    if env != "development":
        return generate_private_key(algorithm)
    path = instance_path / f"jwt-signing-{algorithm.lower()}.pem"
    if not path.exists():
        write_new_file(path, private_pem(generate_private_key(algorithm)), mode=0o600)
    return _loaded_private_key(path.read_bytes(), source=str(path))


def _loaded_private_key(data: bytes, *, source: str) -> Any:
    try:
        key = load_pem_key(data)
    except ValueError as error:
        raise ConfigurationError(f"{source} is not a PEM private key ({_reason(error)})") from error
    if not hasattr(key, "private_bytes"):
        raise ConfigurationError(f"{source} is a public key; the signing key must be private")
    return key


def _pem_files(paths: Iterable[str]) -> list[Path]:
    files = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(sorted(path.glob("*.pem")))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigurationError(f"JWT_VERIFY_KEYS: {path} is not a file or directory")
    return files


def _public_part(key: Any) -> Any:
    return key.public_key() if hasattr(key, "private_bytes") else key


def _pem_text(value: str) -> str:
    """PEM from an environment variable, where newlines are often written as \\n."""
    return value.replace("\\n", "\n") if "\n" not in value else value


def _reason(error: Exception) -> str:
    """Why a key did not load, without any of its bytes: the message of our own ValueError,
    the errno text of an OSError, else only the kind of failure."""
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    if isinstance(error.__cause__, TypeError):
        return str(error)
    return "not a key this service can read"


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode_key(_identity: Any) -> Any:
    """flask-jwt-extended's encode_key_loader: the signing key."""
    return key_set().encode_key


def kid_header(_identity: Any) -> dict[str, str]:
    """flask-jwt-extended's additional_headers_loader: the signing key's id."""
    return {"kid": key_set().signing.kid}


def decode_key(header: Mapping[str, Any]) -> Any:
    """The key a token's header names (the signing key when it names none), for PyJWT."""
    keys = key_set()
    kid = header.get("kid")
    return (
        keys.verification.get(kid, keys.signing).key if isinstance(kid, str) else keys.signing.key
    )
