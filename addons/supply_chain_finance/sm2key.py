"""The platform's SM2 signing key for webhooks (GB/T 32918, SM3withSM2) over ``gmssl``.

``gmssl`` 3.2.2 does the curve arithmetic; this module wraps it so that its known defects
never reach a signature (docs/decisions.md, "SM2 webhooks with gmssl"):

* ``CryptSM2.__init__`` strips a public key with ``str.lstrip("04")``, which removes *every*
  leading ``0`` and ``4`` - a key whose X coordinate begins with such a digit (about one in
  eight keys, and every 64-byte key whose hex happens to begin with ``04``) is silently
  mangled and signatures made or checked with it are wrong. :func:`_crypt` normalises the key
  itself (exactly one ``04`` prefix removed, 128 hex digits, the point on the curve) and
  sets it on the object after construction.
* its default nonce comes from :mod:`random` (not a CSPRNG; a predictable nonce gives away
  the private key): :func:`sign` always passes a nonce from :mod:`secrets`.
* it has no key generation: :func:`generate` draws the private key from :mod:`secrets` and
  derives the public key with gmssl's own scalar multiplication; the tests sign and verify
  with keys generated here (including keys whose X begins with ``0`` or ``4``).
* its ``verify`` accepts any ``r``/``s``: :func:`verify` refuses values outside
  ``[1, n-1]`` and a non-canonical DER encoding.

The signature is DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GM/T 0009), the digest
SM3(Z || message) with the default user id ``1234567812345678`` - what Bouncy Castle's
``SM3withSM2`` and GmSSL's ``sm2_verify`` do by default.

The key file (``SCF_SM2_KEY_FILE``, default ``<VAR_DIR>/scf_sm2_key.json``) is written by
``erp scf sm2-keygen`` with mode 0600; the private key is never shown on a page or API, only
the public key (``GET /api/v1/scf_institution/sm2_public_key``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Cryptodome.Util.asn1 import DerInteger, DerSequence
from gmssl import sm2 as _gm

CURVE = _gm.default_ecc_table
N = int(CURVE["n"], 16)
P = int(CURVE["p"], 16)
A = int(CURVE["a"], 16)
B = int(CURVE["b"], 16)
#: the default signer id of GM/T 0009 (gmssl's Z value uses it)
USER_ID = "1234567812345678"
KEY_FILE_NAME = "scf_sm2_key.json"


class Sm2KeyError(ValueError):
    """A missing, unreadable or invalid SM2 key."""


@dataclass(frozen=True)
class Sm2Key:
    #: 64 hex digits; None for a public key only
    private_key: str | None
    #: uncompressed point, ``04`` + X + Y (130 hex digits)
    public_key: str

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)


def sm3(data: bytes) -> bytes:
    """SM3 (GB/T 32905) through OpenSSL, or gmssl's pure-Python SM3 where OpenSSL lacks it."""
    try:
        return hashlib.new("sm3", data).digest()
    except ValueError:
        from gmssl import func
        from gmssl import sm3 as gm_sm3

        return bytes.fromhex(gm_sm3.sm3_hash(func.bytes_to_list(data)))


def hmac_sm3(secret: bytes, data: bytes) -> str:
    """HMAC-SM3 (RFC 2104 with SM3, block 64 bytes), hex."""
    try:
        return hmac.new(secret, data, "sm3").hexdigest()
    except ValueError:
        key = sm3(secret) if len(secret) > 64 else secret
        key = key.ljust(64, b"\0")
        inner = sm3(bytes(b ^ 0x36 for b in key) + data)
        return sm3(bytes(b ^ 0x5C for b in key) + inner).hex()


def key_id(public_key: str) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of its SM3."""
    return sm3(bytes.fromhex(normalise_public(public_key, prefix=True))).hex()[:16]


def normalise_public(public_key: str, *, prefix: bool = False) -> str:
    """X + Y as 128 lower-case hex digits (``prefix``: with ``04``), checked on the curve."""
    raw = "".join((public_key or "").split()).lower()
    if len(raw) == 130 and raw.startswith("04"):
        raw = raw[2:]  # exactly one prefix (never lstrip)
    if len(raw) != 128:
        raise Sm2KeyError("SM2 公钥应为 64 字节（128 位十六进制，可带 04 前缀）")
    try:
        x, y = int(raw[:64], 16), int(raw[64:], 16)
    except ValueError:
        raise Sm2KeyError("SM2 公钥含有非十六进制字符") from None
    if not (x < P and y < P) or (y * y - (x * x * x + A * x + B)) % P != 0:
        raise Sm2KeyError("SM2 公钥不是 SM2 曲线上的点")
    return ("04" + raw) if prefix else raw


def _crypt(public_key: str, private_key: str | None = None, *, asn1: bool = False) -> Any:
    pub = normalise_public(public_key)
    crypt = _gm.CryptSM2(private_key=private_key or "", public_key=pub, asn1=asn1)
    crypt.public_key = pub  # the constructor's lstrip("04") may have cut it: set it ourselves
    return crypt


def generate() -> Sm2Key:
    """A new key pair: d uniform in [1, n-2] from :mod:`secrets`, P = dG."""
    d = secrets.randbelow(N - 2) + 1
    crypt = _gm.CryptSM2(private_key="", public_key="")
    point = crypt._kg(d, CURVE["g"])  # gmssl's scalar multiplication (no public keygen API)
    return Sm2Key(private_key=f"{d:064x}", public_key=normalise_public(point, prefix=True))


def sign(key: Sm2Key, data: bytes) -> str:
    """SM3withSM2 signature of ``data``, DER, hex."""
    if not key.private_key:
        raise Sm2KeyError("没有 SM2 私钥，不能签名")
    crypt = _crypt(key.public_key, key.private_key)
    while True:
        k = f"{secrets.randbelow(N - 1) + 1:064x}"  # never gmssl's random.choice nonce
        raw = crypt.sign_with_sm3(data, k)
        if raw:
            r, s = int(raw[:64], 16), int(raw[64:], 16)
            return DerSequence([DerInteger(r), DerInteger(s)]).encode().hex()


def _rs(signature: str) -> tuple[int, int] | None:
    try:
        der = bytes.fromhex(signature)
        seq = DerSequence().decode(der, strict=True)
        if len(seq) != 2 or not all(isinstance(v, int) for v in seq):
            return None
        r, s = int(seq[0]), int(seq[1])
        if DerSequence([DerInteger(r), DerInteger(s)]).encode() != der:
            return None  # not canonical DER
    except (ValueError, TypeError, IndexError):
        return None
    if not (1 <= r < N and 1 <= s < N):
        return None
    return r, s


def verify(public_key: str, data: bytes, signature: str) -> bool:
    """True when ``signature`` (DER hex) is a valid SM3withSM2 signature of ``data``."""
    rs = _rs(signature)
    if rs is None:
        return False
    crypt = _crypt(public_key)
    try:
        return bool(crypt.verify_with_sm3(f"{rs[0]:064x}{rs[1]:064x}", data))
    except (ValueError, TypeError, IndexError):
        return False


# -- the platform's key file ---------------------------------------------------------------


def key_path(config: Any) -> Path:
    """Where the platform key lives: ``SCF_SM2_KEY_FILE``, else ``<VAR_DIR>/scf_sm2_key.json``."""
    configured = config.get("SCF_SM2_KEY_FILE")
    if configured:
        return Path(configured).expanduser()
    return Path(config.get("VAR_DIR") or "var") / KEY_FILE_NAME


def write_key(path: Path, key: Sm2Key, *, force: bool = False) -> None:
    """Write the key file (mode 0600); refuse to replace one unless ``force``."""
    if path.exists() and not force:
        raise Sm2KeyError(f"密钥文件 {path} 已存在（更换密钥请加 --force，并通知各金融机构更新公钥）")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"algorithm": "SM2", "curve": "sm2p256v1", "private_key": key.private_key,
                       "public_key": key.public_key, "key_id": key.key_id,
                       "created_at": dt.datetime.now(dt.UTC).isoformat()}, indent=2)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover could carry wider permissions
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, path)


def read_key(path: Path) -> Sm2Key:
    """The key pair in ``path`` (checked: the public key is the private key's)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise Sm2KeyError("平台尚未生成 SM2 签名密钥（请运行 erp scf sm2-keygen）") from None
    except (OSError, ValueError) as exc:
        raise Sm2KeyError(f"SM2 密钥文件 {path} 无法读取：{exc}") from None
    try:
        key = Sm2Key(private_key=str(data["private_key"]),
                     public_key=normalise_public(str(data["public_key"]), prefix=True))
        d = int(key.private_key, 16)
    except (KeyError, TypeError, ValueError) as exc:
        raise Sm2KeyError(f"SM2 密钥文件 {path} 格式不对：{exc}") from None
    if not 1 <= d <= N - 2:
        raise Sm2KeyError(f"SM2 密钥文件 {path} 的私钥超出范围")
    probe = b"scf-sm2-key-check"
    if not verify(key.public_key, probe, sign(key, probe)):
        raise Sm2KeyError(f"SM2 密钥文件 {path} 的公钥与私钥不匹配")
    return key


def public_pem(public_key: str) -> str:
    """The public key as PEM ``SubjectPublicKeyInfo`` (id-ecPublicKey, curve sm2p256v1
    1.2.156.10197.1.301), readable by OpenSSL 3, Bouncy Castle and GmSSL."""
    import base64

    from Cryptodome.Util.asn1 import DerBitString, DerObjectId

    alg = DerSequence([DerObjectId("1.2.840.10045.2.1").encode(),
                       DerObjectId("1.2.156.10197.1.301").encode()])
    spki = DerSequence([alg.encode(), DerBitString(bytes.fromhex(
        normalise_public(public_key, prefix=True))).encode()]).encode()
    b64 = base64.b64encode(spki).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "\n".join(["-----BEGIN PUBLIC KEY-----", *lines, "-----END PUBLIC KEY-----"]) + "\n"
