"""The User-based Security Model's cryptography (RFC 3414, RFC 7860, RFC 3826): pure functions, no state.

* Keys: a password becomes a key by hashing a megabyte of it (RFC 3414 A.2), which is then localised to
  one engine, ``H(Ku | engineID | Ku)`` (2.6); SHA-2 the same way with its own hash (RFC 7860 9.1).
  Privacy keys are localised with the *authentication* protocol's hash. AES-192/256 need more octets
  than MD5 or SHA-1 give: the key is extended the way net-snmp does it (Blumenthal's draft,
  draft-blumenthal-aes-usm-04 3.1.2.1: append ``H(key so far)`` until long enough), not the Reeder/Cisco
  variant (which repeats the whole password-to-key and localisation step).
* Authentication: HMAC over the whole message with the MAC field zeroed, truncated to 12 octets for
  MD5/SHA-1 (RFC 3414 6, 7) and to 16/24/32/48 octets for SHA-224/256/384/512 (RFC 7860 4).
* Privacy: DES-CBC with the IV ``pre-IV XOR salt`` (RFC 3414 8.1), AES-CFB128 with the IV
  ``boots | time | salt`` (RFC 3826 3.1.2.1), AES-192/256 the same with a longer key.

The cryptography package does HMAC, AES and DES; hashlib hashes the megabyte (it releases the GIL, so
the caller can run it in a thread). Keys are plain bytes here: callers keep them out of reprs and logs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from campuswatch.agent.protocols.snmp.transport.types import Oid

AuthName = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivName = Literal["des", "aes128", "aes192", "aes256"]

#: RFC 3414 A.2: the password is repeated to a megabyte before hashing.
_PASSWORD_EXPANSION = 1_048_576


@dataclass(frozen=True, slots=True)
class AuthProtocol:
    """An HMAC authentication protocol: its hash and the MAC length on the wire."""

    hash_name: str
    mac_length: int
    algorithm: Callable[[], hashes.HashAlgorithm]


AUTH: dict[AuthName, AuthProtocol] = {
    "md5": AuthProtocol("md5", 12, hashes.MD5),  # usmHMACMD5AuthProtocol
    "sha": AuthProtocol("sha1", 12, hashes.SHA1),  # usmHMACSHAAuthProtocol
    "sha224": AuthProtocol("sha224", 16, hashes.SHA224),  # usmHMAC128SHA224AuthProtocol
    "sha256": AuthProtocol("sha256", 24, hashes.SHA256),  # usmHMAC192SHA256AuthProtocol
    "sha384": AuthProtocol("sha384", 32, hashes.SHA384),  # usmHMAC256SHA384AuthProtocol
    "sha512": AuthProtocol("sha512", 48, hashes.SHA512),  # usmHMAC384SHA512AuthProtocol
}
#: Octets of localised key each privacy protocol uses (DES: 8 of key, 8 of pre-IV).
PRIV_KEY_LENGTH: dict[PrivName, int] = {"des": 16, "aes128": 16, "aes192": 24, "aes256": 32}

#: usmStats counters (RFC 3414 5) an agent reports instead of answering, by the last arc but one.
USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
UNSUPPORTED_SEC_LEVELS = (*USM_STATS, 1, 0)
NOT_IN_TIME_WINDOWS = (*USM_STATS, 2, 0)
UNKNOWN_USER_NAMES = (*USM_STATS, 3, 0)
UNKNOWN_ENGINE_IDS = (*USM_STATS, 4, 0)
WRONG_DIGESTS = (*USM_STATS, 5, 0)
DECRYPTION_ERRORS = (*USM_STATS, 6, 0)
#: Reports that say "these credentials are wrong" (the status ``auth_failed``), by their MIB names.
REFUSALS: dict[Oid, str] = {
    UNSUPPORTED_SEC_LEVELS: "usmStatsUnsupportedSecLevels",
    UNKNOWN_USER_NAMES: "usmStatsUnknownUserNames",
    WRONG_DIGESTS: "usmStatsWrongDigests",
    DECRYPTION_ERRORS: "usmStatsDecryptionErrors",
    # SNMP-TARGET-MIB snmpUnknownContexts: a wrong context name is a wrong credential too.
    (1, 3, 6, 1, 6, 3, 12, 1, 5, 0): "snmpUnknownContexts",
}
#: RFC 3414 2.2.3: a message more than 150 s older than the engine's clock is refused.
TIME_WINDOW_S = 150
#: snmpEngineBoots at its maximum means the engine must be re-keyed (RFC 3414 2.2.2).
MAX_BOOTS = 2**31 - 1


class UsmError(ValueError):
    """A message that USM refuses (a MAC that does not match, privacy parameters that cannot be right)."""


def password_to_key(password: bytes, auth: AuthName) -> bytes:
    """Ku: the hash of the password repeated to a megabyte (RFC 3414 A.2.1/A.2.2, RFC 7860 9.1).
    About 1-2 ms of CPU that releases the GIL: callers cache it and run it in a thread."""
    if not password:
        raise UsmError("an SNMPv3 password may not be empty")
    repeated = password * (_PASSWORD_EXPANSION // len(password) + 1)
    return hashlib.new(AUTH[auth].hash_name, repeated[:_PASSWORD_EXPANSION]).digest()


def localize_key(ku: bytes, engine_id: bytes, auth: AuthName) -> bytes:
    """Kul = H(Ku | engineID | Ku): the key bound to one authoritative engine (RFC 3414 2.6)."""
    return hashlib.new(AUTH[auth].hash_name, ku + engine_id + ku).digest()


def privacy_key(kul: bytes, auth: AuthName, priv: PrivName) -> bytes:
    """The octets the privacy protocol uses from a localised privacy key, extended Blumenthal-style
    (append the hash of the key so far) when the authentication hash is shorter than AES needs."""
    length = PRIV_KEY_LENGTH[priv]
    key = kul
    while len(key) < length:
        key += hashlib.new(AUTH[auth].hash_name, key).digest()
    return key[:length]


def mac(auth: AuthName, key: bytes, message: bytes) -> bytes:
    """The truncated HMAC of ``message`` (its MAC field zeroed) with the localised key."""
    protocol = AUTH[auth]
    signer = crypto_hmac.HMAC(key, protocol.algorithm())
    signer.update(message)
    return signer.finalize()[: protocol.mac_length]


def sign(auth: AuthName, key: bytes, message: bytes, offset: int) -> bytes:
    """``message`` (encoded with zeros where its MAC goes, at ``offset``) with its MAC filled in."""
    length = AUTH[auth].mac_length
    return message[:offset] + mac(auth, key, message) + message[offset + length :]


def verify(auth: AuthName, key: bytes, message: bytes, offset: int, received: bytes) -> None:
    """Raise :class:`UsmError` unless ``received`` (the MAC found at ``offset``) authenticates ``message``."""
    length = AUTH[auth].mac_length
    if len(received) != length:
        raise UsmError("authentication parameters of the wrong length")
    zeroed = message[:offset] + bytes(length) + message[offset + length :]
    if not hmac.compare_digest(mac(auth, key, zeroed), received):
        raise UsmError("message authentication failed")


def _aes(key: bytes, boots: int, engine_time: int, salt: bytes) -> Cipher[modes.ModeWithInitializationVector]:
    iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
    return Cipher(algorithms.AES(key), CFB(iv))


def _des(key: bytes, salt: bytes) -> Cipher[modes.ModeWithInitializationVector]:
    iv = bytes(a ^ b for a, b in zip(key[8:16], salt, strict=True))
    # Triple DES with one key three times is single DES (encrypt, decrypt, encrypt with the same key).
    return Cipher(TripleDES(key[:8] * 3), modes.CBC(iv))


def encrypt(
    priv: PrivName, key: bytes, plaintext: bytes, *, boots: int, engine_time: int, salt: int
) -> tuple[bytes, bytes]:
    """The encryptedPDU and msgPrivacyParameters for a scoped PDU. ``salt`` is the sender's counter:
    64 bits for AES (RFC 3826 3.1.2.1), 32 for DES, where the engine's boots make the other half
    (RFC 3414 8.1.1.1)."""
    if priv == "des":
        salt_octets = boots.to_bytes(4, "big") + (salt & 0xFFFFFFFF).to_bytes(4, "big")
        padded = plaintext + bytes(-len(plaintext) % 8)
        encryptor = _des(key, salt_octets).encryptor()
        return encryptor.update(padded) + encryptor.finalize(), salt_octets
    salt_octets = (salt & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    encryptor = _aes(key, boots, engine_time, salt_octets).encryptor()
    return encryptor.update(plaintext) + encryptor.finalize(), salt_octets


def decrypt(
    priv: PrivName, key: bytes, ciphertext: bytes, parameters: bytes, *, boots: int, engine_time: int
) -> bytes:
    """The scoped PDU of an encryptedPDU (DES leaves its padding behind it). Raises :class:`UsmError`
    for privacy parameters or a length the protocol cannot have produced (RFC 3414 8.3.2 step 1/2)."""
    if len(parameters) != 8:
        raise UsmError("privacy parameters are not 8 octets")
    if priv == "des":
        if len(ciphertext) % 8:
            raise UsmError("DES ciphertext is not a whole number of blocks")
        decryptor = _des(key, parameters).decryptor()
    else:
        decryptor = _aes(key, boots, engine_time, parameters).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()
