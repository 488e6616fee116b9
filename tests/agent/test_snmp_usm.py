"""USM's cryptography and the SNMPv3 message codec, as pure functions: RFC test vectors, net-snmp's own
localised keys, and the RFCs' formulas rebuilt here from their text.

The SHA-2 and extended AES keys below are what net-snmp 5.9.3 stores for users created from the password
"maplesyrup" at RFC 3414 A.3's engine ID (RFC 7860 gives no test vectors). They were read from the
persistent file of an snmpd started with::

    exactEngineID 0x000000000000000000000002
    createUser usha224 SHA-224 maplesyrup AES maplesyrup        (and so on for each protocol)

(``SNMP_PERSISTENT_DIR=DIR snmpd -f -C -c snmpd.conf``; the ``usmUser`` lines of ``DIR/snmpd.conf``).
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pyasn1.codec.ber import decoder
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from campuswatch.agent.protocols.snmp.transport import ber, usm
from campuswatch.agent.protocols.snmp.transport.ber import BerError

PASSWORD = b"maplesyrup"
ENGINE = bytes.fromhex("000000000000000000000002")

# RFC 3414 A.3.1 (MD5) and A.3.2 (SHA): Ku and the key localised to ENGINE.
RFC3414 = {
    "md5": ("9faf3283884e92834ebc9847d8edd963", "526f5eed9fcce26f8964c2930787d82b"),
    "sha": ("9fb5cc0381497b3793528939ff788d5d79145211", "6695febc9288e36282235fc7151f128497b38f3f"),
}
# net-snmp 5.9.3's localised keys for the SHA-2 protocols of RFC 7860 (see the module docstring).
NET_SNMP_KUL = {
    "sha224": "0bd8827c6e29f8065e08e09237f177e410f69b90e1782be682075674",
    "sha256": "8982e0e549e866db361a6b625d84cccc11162d453ee8ce3a6445c2d6776f0f8b",
    "sha384": "3b298f16164a11184279d5432bf169e2d2a48307de02b3d3f7e2b4f36eb6f045"
    "5a53689a3937eea07319a633d2ccba78",
    "sha512": "22a5a36cedfcc085807a128d7bc6c2382167ad6c0dbc5fdff856740f3d84c099"
    "ad1ea87a8db096714d9788bd544047c9021e4229ce27e4c0a69250adfcffbb0b",
}
# net-snmp's privacy keys: the localised key, extended (Blumenthal) where the hash is shorter than AES's.
NET_SNMP_PRIV: list[tuple[usm.AuthName, usm.PrivName, str]] = [
    ("md5", "des", "526f5eed9fcce26f8964c2930787d82b"),
    ("sha", "aes256", "6695febc9288e36282235fc7151f128497b38f3f505e07eb9af25568fa1f5dbe"),
    ("md5", "aes256", "526f5eed9fcce26f8964c2930787d82bfa24a92467426c2f4b09192be10dfaec"),
    ("sha224", "aes128", "0bd8827c6e29f8065e08e09237f177e4"),
    ("sha256", "aes192", "8982e0e549e866db361a6b625d84cccc11162d453ee8ce3a"),
    ("sha384", "aes256", "3b298f16164a11184279d5432bf169e2d2a48307de02b3d3f7e2b4f36eb6f045"),
    ("sha512", "aes256", "22a5a36cedfcc085807a128d7bc6c2382167ad6c0dbc5fdff856740f3d84c099"),
]


@pytest.mark.parametrize("auth", ["md5", "sha"])
def test_rfc3414_key_localisation_vectors(auth: usm.AuthName) -> None:
    ku, kul = RFC3414[auth]
    assert usm.password_to_key(PASSWORD, auth).hex() == ku
    assert usm.localize_key(bytes.fromhex(ku), ENGINE, auth).hex() == kul


@pytest.mark.parametrize("auth", list(NET_SNMP_KUL))
def test_rfc7860_sha2_keys_are_net_snmps(auth: usm.AuthName) -> None:
    kul = usm.localize_key(usm.password_to_key(PASSWORD, auth), ENGINE, auth)
    assert kul.hex() == NET_SNMP_KUL[auth]


@pytest.mark.parametrize(("auth", "priv", "expected"), NET_SNMP_PRIV, ids=lambda v: str(v)[:8])
def test_privacy_keys_are_net_snmps_including_the_blumenthal_extension(
    auth: usm.AuthName, priv: usm.PrivName, expected: str
) -> None:
    kul = usm.localize_key(usm.password_to_key(PASSWORD, auth), ENGINE, auth)
    assert usm.privacy_key(kul, auth, priv).hex() == expected


def test_an_empty_password_is_refused() -> None:
    with pytest.raises(usm.UsmError):
        usm.password_to_key(b"", "sha")


def test_hmac_is_rfc4231_truncated_to_rfc7860_lengths() -> None:
    # RFC 4231 test case 2 (key "Jefe"): HMAC-SHA-256 and HMAC-SHA-512 in full.
    data = b"what do ya want for nothing?"
    sha256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    sha512 = (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fd"
        "caeab1a34d4a6b4b636e070a38bce737"
    )
    assert usm.mac("sha256", b"Jefe", data).hex() == sha256[: 24 * 2]
    assert usm.mac("sha512", b"Jefe", data).hex() == sha512[: 48 * 2]
    assert {name: len(usm.mac(name, b"k", data)) for name in usm.AUTH} == {
        "md5": 12,
        "sha": 12,
        "sha224": 16,
        "sha256": 24,
        "sha384": 32,
        "sha512": 48,
    }


def _message(auth: usm.AuthName) -> tuple[bytes, int]:
    length = usm.AUTH[auth].mac_length
    parameters = ber.UsmParameters(ENGINE, 3, 4567, b"u", bytes(length), b"")
    pdu = ber.encode_pdu(ber.GET, 9, [((1, 3, 6, 1, 2, 1, 1, 1, 0), None)])
    return ber.encode_v3_message(9, ber.FLAG_AUTH, parameters, ber.encode_scoped_pdu(ENGINE, b"", pdu))


@pytest.mark.parametrize("auth", list(usm.AUTH))
def test_signed_messages_verify_and_any_changed_octet_fails(auth: usm.AuthName) -> None:
    key = usm.localize_key(usm.password_to_key(PASSWORD, auth), ENGINE, auth)
    zeroed, offset = _message(auth)
    signed = usm.sign(auth, key, zeroed, offset)
    length = usm.AUTH[auth].mac_length
    received = signed[offset : offset + length]
    assert received == usm.mac(auth, key, zeroed) and received != bytes(length)
    usm.verify(auth, key, signed, offset, received)
    for position in (0, offset - 1, len(signed) - 1):
        tampered = bytearray(signed)
        tampered[position] ^= 0x01
        with pytest.raises(usm.UsmError):
            usm.verify(auth, key, bytes(tampered), offset, received)
    with pytest.raises(usm.UsmError):
        usm.verify(auth, key[::-1], signed, offset, received)


@pytest.mark.parametrize(("priv", "length"), [("aes128", 16), ("aes192", 24), ("aes256", 32)])
def test_aes_uses_the_rfc3826_iv_boots_time_salt(priv: usm.PrivName, length: int) -> None:
    key = bytes(range(32))
    plaintext = b"scoped pdu of 23 octets"
    ciphertext, salt = usm.encrypt(priv, key[:length], plaintext, boots=7, engine_time=1234, salt=2**64 + 5)
    assert salt == (5).to_bytes(8, "big")  # a 64-bit counter
    iv = (7).to_bytes(4, "big") + (1234).to_bytes(4, "big") + salt
    decryptor = Cipher(algorithms.AES(key[:length]), CFB(iv)).decryptor()
    assert decryptor.update(ciphertext) + decryptor.finalize() == plaintext
    assert len(ciphertext) == len(plaintext)  # CFB: no padding
    assert usm.decrypt(priv, key[:length], ciphertext, salt, boots=7, engine_time=1234) == plaintext


def test_des_uses_the_rfc3414_iv_pre_iv_xor_salt() -> None:
    key = bytes.fromhex("0123456789abcdef") + bytes.fromhex("1122334455667788")
    plaintext = b"scoped pdu of 23 octets"
    ciphertext, salt = usm.encrypt("des", key, plaintext, boots=3, engine_time=99, salt=2**32 + 6)
    assert salt == (3).to_bytes(4, "big") + (6).to_bytes(4, "big")  # boots, then a 32-bit counter
    iv = bytes(a ^ b for a, b in zip(key[8:], salt, strict=True))
    decryptor = Cipher(TripleDES(key[:8] * 3), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    assert padded[: len(plaintext)] == plaintext and len(padded) % 8 == 0
    assert usm.decrypt("des", key, ciphertext, salt, boots=3, engine_time=99)[: len(plaintext)] == plaintext
    with pytest.raises(usm.UsmError):
        usm.decrypt("des", key, ciphertext[:-1], salt, boots=3, engine_time=99)
    with pytest.raises(usm.UsmError):
        usm.decrypt("des", key, ciphertext, salt[:7], boots=3, engine_time=99)


def test_v3_message_is_what_pyasn1_reads_and_the_mac_offset_points_at_the_mac() -> None:
    parameters = ber.UsmParameters(
        b"\x80\x00\x1f\x88\x80" + b"e" * 27, 5, 2**31 - 1, b"u" * 32, b"\xaa" * 24, b"s" * 8
    )
    message, offset = ber.encode_v3_message(
        2**31 - 1, ber.FLAG_AUTH | ber.FLAG_PRIV, parameters, b"\xff" * 300
    )
    assert message[offset : offset + 24] == b"\xaa" * 24
    theirs, rest = decoder.decode(message, asn1Spec=SNMPv3Message())
    assert rest == b""
    assert int(theirs["msgGlobalData"]["msgID"]) == 2**31 - 1
    assert bytes(theirs["msgGlobalData"]["msgFlags"]) == b"\x03"
    assert bytes(theirs["msgData"]["encryptedPDU"]) == b"\xff" * 300
    usm_theirs, _ = decoder.decode(bytes(theirs["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters())
    assert bytes(usm_theirs["msgAuthoritativeEngineId"]) == parameters.engine_id
    assert int(usm_theirs["msgAuthoritativeEngineTime"]) == 2**31 - 1
    assert bytes(usm_theirs["msgUserName"]) == b"u" * 32
    ours = ber.decode_v3_message(message)
    assert (ours.msg_id, ours.flags, ours.usm, ours.auth_offset) == (2**31 - 1, 3, parameters, offset)
    assert ours.scoped == b"\xff" * 300
    assert ber.is_v3(message) and ber.request_id_of(message) == 2**31 - 1


def test_scoped_pdu_round_trip_and_des_padding() -> None:
    varbinds = [((1, 3, 6, 1, 2, 1, 1, 5, 0), b"printer")]
    pdu = ber.encode_pdu(ber.SET, 77, varbinds)
    scoped = ber.encode_scoped_pdu(ENGINE, b"ctx", pdu)
    engine_id, context, decoded = ber.decode_scoped_pdu(scoped)
    assert (engine_id, context, decoded.pdu_tag, decoded.request_id) == (ENGINE, b"ctx", ber.SET, 77)
    assert decoded.varbinds == varbinds
    with pytest.raises(BerError):
        ber.decode_scoped_pdu(scoped + b"\x00\x00")
    assert ber.decode_scoped_pdu(scoped + b"\x00\x00", padded=True)[2] == decoded


def test_a_v2c_message_is_not_taken_for_v3() -> None:
    v2c = ber.encode_request(ber.VERSION_2C, b"public", ber.GET, 3, [((1, 3, 6, 1, 2, 1, 1, 1, 0), None)])
    assert not ber.is_v3(v2c) and not ber.is_v3(b"") and not ber.is_v3(b"\x30\x03\x02\x01")
    with pytest.raises(BerError, match="not an SNMPv3"):
        ber.decode_v3_message(v2c)


def _discovery_with(**fields: bytes) -> bytes:
    parameters = ber.UsmParameters(
        fields.get("engine", b"e" * 5), 1, 2, fields.get("user", b"u"), fields.get("auth", b""), b""
    )
    pdu = ber.encode_pdu(ber.REPORT, 1, [])
    return ber.encode_v3_message(1, 0, parameters, ber.encode_scoped_pdu(b"", b"", pdu))[0]


@pytest.mark.parametrize(
    "fields",
    [{"engine": b"e" * 33}, {"user": b"u" * 33}, {"auth": b"a" * 65}],
    ids=["engine-id-over-32", "user-over-32", "mac-over-64"],
)
def test_fields_longer_than_snmp_allows_are_refused_where_they_enter(fields: dict[str, bytes]) -> None:
    with pytest.raises(BerError, match="longer than"):
        ber.decode_v3_message(_discovery_with(**fields))


def test_every_truncation_and_trailing_byte_is_a_ber_error() -> None:
    message = _discovery_with()
    ber.decode_v3_message(message)
    for cut in range(len(message)):
        with pytest.raises(BerError):
            ber.decode_v3_message(message[:cut])
    with pytest.raises(BerError):
        ber.decode_v3_message(message + b"\x00")


def test_other_security_models_are_refused() -> None:
    message = bytearray(_discovery_with())
    model = message.index(b"\x02\x01\x03", 4)  # msgSecurityModel: the second INTEGER 3
    message[model + 2] = 2
    with pytest.raises(BerError, match="not USM"):
        ber.decode_v3_message(bytes(message))
