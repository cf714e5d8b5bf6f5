"""Encryption at rest for credential secrets, with key rotation.

Built on django-cryptography's Fernet construction (AES-CBC + HMAC-SHA256), but every key
comes from `CREDENTIAL_ENCRYPTION_KEYS` and never from `SECRET_KEY`: upstream signs with
`SECRET_KEY` even when `CRYPTOGRAPHY_KEY` is set, so rotating `SECRET_KEY` would make every
credential unreadable. The stored text names the key that wrote it (`<key id>$<token>`), so a
read tries that key first; a value no configured key opens raises `UnreadableSecret`, it is
never handed back as ciphertext.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signing import BadSignature
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

KEY_ID_PATTERN = re.compile(r"^[a-z0-9]{1,16}$")
MIN_SECRET_LENGTH = 32
_SEPARATOR = "$"


class UnreadableSecret(Exception):
    """No configured encryption key opens this value (its key was removed, or it is damaged)."""


class KeyConfigError(ValueError):
    """`CREDENTIAL_ENCRYPTION_KEYS` is malformed. Messages name entries by position, never content."""


@dataclass(frozen=True, repr=False)
class EncryptionKey:
    key_id: str
    _fernet: FernetBytes

    def __repr__(self) -> str:
        return f"EncryptionKey(key_id={self.key_id!r})"


@dataclass(frozen=True)
class SealedSecret:
    """A secret as stored: the id of the key that wrote it and the Fernet token, base64url."""

    key_id: str
    token: str

    def __str__(self) -> str:
        return f"{self.key_id}{_SEPARATOR}{self.token}"

    def __repr__(self) -> str:
        return f"SealedSecret(key_id={self.key_id!r})"

    @classmethod
    def parse(cls, stored: str) -> "SealedSecret":
        key_id, sep, token = stored.partition(_SEPARATOR)
        if not sep:
            return cls(key_id="", token=stored)
        return cls(key_id=key_id, token=token)


def parse_key_setting(raw: str) -> list[tuple[str, str]]:
    """Split `ID:SECRET,ID:SECRET` (newest first) into pairs, checking ids and lengths."""
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise KeyConfigError("CREDENTIAL_ENCRYPTION_KEYS is empty.")
    pairs: list[tuple[str, str]] = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, secret = entry.partition(":")
        if not sep or not KEY_ID_PATTERN.match(key_id):
            raise KeyConfigError(
                f"CREDENTIAL_ENCRYPTION_KEYS entry {position} must look like ID:SECRET "
                "with an ID of 1 to 16 lowercase letters or digits."
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise KeyConfigError(
                f"CREDENTIAL_ENCRYPTION_KEYS entry {position} ({key_id}): the secret must be "
                f"at least {MIN_SECRET_LENGTH} characters."
            )
        if any(key_id == seen for seen, _ in pairs):
            raise KeyConfigError(f"CREDENTIAL_ENCRYPTION_KEYS names the key id {key_id} twice.")
        pairs.append((key_id, secret))
    return pairs


def _derive(key_id: str, secret: str) -> EncryptionKey:
    # One 64-byte expansion per key: the first half encrypts (AES-256), the second signs.
    material = HKDF(
        algorithm=hashes.SHA256(),
        length=64,
        salt=b"sam-credential-encryption",
        info=f"key:{key_id}".encode(),
    ).derive(secret.encode())
    fernet = FernetBytes(key=material[:32], signer=FernetSigner(key=material[32:]))
    return EncryptionKey(key_id=key_id, _fernet=fernet)


class Keyring:
    def __init__(self, keys: list[EncryptionKey]):
        self.keys = keys
        self._by_id = {key.key_id: key for key in keys}

    @property
    def newest(self) -> EncryptionKey:
        return self.keys[0]

    @property
    def key_ids(self) -> list[str]:
        return [key.key_id for key in self.keys]

    def seal(self, plaintext: str) -> SealedSecret:
        key = self.newest
        payload = key._fernet.encrypt(plaintext.encode("utf-8"))
        return SealedSecret(key_id=key.key_id, token=base64.urlsafe_b64encode(payload).decode())

    def open(self, sealed: SealedSecret) -> str:
        named = self._by_id.get(sealed.key_id)
        candidates = [named] if named else []
        candidates += [key for key in self.keys if key is not named]
        try:
            payload = base64.urlsafe_b64decode(sealed.token.encode())
        except (binascii.Error, ValueError):
            raise UnreadableSecret from None
        for key in candidates:
            try:
                return key._fernet.decrypt(payload).decode("utf-8")
            except (BadSignature, InvalidToken, UnicodeDecodeError):
                continue
        raise UnreadableSecret


@lru_cache(maxsize=4)
def _keyring_for(raw: str) -> Keyring:
    try:
        pairs = parse_key_setting(raw)
    except KeyConfigError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    return Keyring([_derive(key_id, secret) for key_id, secret in pairs])


def keyring() -> Keyring:
    """The keys configured now (parsed and derived once per distinct setting value)."""
    return _keyring_for(settings.CREDENTIAL_ENCRYPTION_KEYS)
