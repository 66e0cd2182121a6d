"""The two SNMP v2c messages a LAN scan needs: a GetRequest for sysDescr.0 and its GetResponse.

Hand-written BER (a few dozen bytes) rather than a full SNMP library: the scan asks one question.
"""

from __future__ import annotations

from dataclasses import dataclass

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
_GET_REQUEST = 0xA0
_GET_RESPONSE = 0xA2
_NO_VALUE_TAGS = (0x80, 0x81, 0x82)  # noSuchObject, noSuchInstance, endOfMibView


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _len(len(value)) + value


def _int(v: int) -> bytes:
    return _tlv(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def _oid(oid: tuple[int, ...]) -> bytes:
    body = bytearray([oid[0] * 40 + oid[1]])
    for part in oid[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def get_request(community: str, request_id: int, oid: tuple[int, ...] = SYS_DESCR) -> bytes:
    varbind = _tlv(0x30, _oid(oid) + _tlv(0x05, b""))
    pdu = _tlv(_GET_REQUEST, _int(request_id) + _int(0) + _int(0) + _tlv(0x30, varbind))
    return _tlv(0x30, _int(1) + _tlv(0x04, community.encode()) + pdu)


class BerError(ValueError):
    pass


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    if pos + 2 > len(data):
        raise BerError("truncated")
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > len(data):
            raise BerError("bad length")
        n = int.from_bytes(data[pos : pos + k], "big")
        pos += k
    if pos + n > len(data):
        raise BerError("truncated value")
    return tag, data[pos : pos + n], pos + n


@dataclass(frozen=True)
class Response:
    community: str
    request_id: int
    error_status: int
    value: str | None


def parse_response(data: bytes) -> Response:
    """Parse a v1/v2c GetResponse; raises BerError on anything else."""
    tag, msg, _ = _read(data, 0)
    if tag != 0x30:
        raise BerError("not a sequence")
    _, _version, pos = _read(msg, 0)
    tag, community, pos = _read(msg, pos)
    if tag != 0x04:
        raise BerError("no community")
    tag, pdu, _ = _read(msg, pos)
    if tag != _GET_RESPONSE:
        raise BerError("not a GetResponse")
    _, rid, pos = _read(pdu, 0)
    _, err, pos = _read(pdu, pos)
    _, _idx, pos = _read(pdu, pos)
    _, vbl, _ = _read(pdu, pos)
    value: str | None = None
    if vbl:
        _, vb, _ = _read(vbl, 0)
        _, _oid_bytes, p = _read(vb, 0)
        vtag, raw, _ = _read(vb, p)
        if vtag == 0x04:
            value = raw.decode("utf-8", errors="replace")
        elif vtag not in _NO_VALUE_TAGS and vtag != 0x05:
            value = raw.hex()
    return Response(
        community=community.decode("utf-8", errors="replace"),
        request_id=int.from_bytes(rid, "big", signed=True),
        error_status=int.from_bytes(err, "big") if err else 0,
        value=value,
    )
