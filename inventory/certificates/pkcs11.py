"""Certificates on PKCS#11 tokens (USB tokens, smart cards) through a configured module.

python-pkcs11 is an optional extra (``pip install wardwatch[pkcs11]``); it is imported only when a
module path is configured. Certificates are public objects, so no PIN is needed to list them; a key
with the certificate's CKA_ID on the same token means the signing key lives on the token.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from inventory.certificates.facts import CertLocation, LocationKind
from inventory.certificates.model import Discovered, DiscoveryResult
from inventory.certificates.parse import describe


def read_module(module_path: Path, *, pin: str | None = None) -> DiscoveryResult:
    """Every certificate on every token present in the slots of ``module_path``."""
    result = DiscoveryResult()
    try:
        import pkcs11  # lazy: an optional extra
        from pkcs11 import Attribute, ObjectClass
        from pkcs11.exceptions import TokenNotPresent, TokenNotRecognised
    except ImportError:
        result.errors.append(
            f"PKCS#11 module {module_path} configured but python-pkcs11 is not installed "
            "(pip install 'wardwatch[pkcs11]')"
        )
        return result
    if not Path(module_path).exists():
        result.errors.append(f"PKCS#11 module {module_path}: file not found")
        return result
    try:
        lib = pkcs11.lib(str(module_path))
        slots = lib.get_slots(token_present=True)
    except Exception as exc:  # the vendor library may fail in any way; report and go on
        result.errors.append(f"PKCS#11 module {module_path}: cannot load: {exc}")
        return result
    for slot in slots:
        try:
            token = slot.get_token()
            label = (token.label or "").strip() or f"slot {slot.slot_id}"
            with token.open(user_pin=pin) if pin else token.open() as session:
                key_ids: set[bytes] = set()
                for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                    for obj in session.get_objects({Attribute.CLASS: cls}):
                        try:
                            key_ids.add(bytes(obj[Attribute.ID]))
                        except Exception:  # a key without CKA_ID cannot be matched
                            continue
                for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
                    cert = x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE]))
                    try:
                        obj_id = bytes(obj[Attribute.ID])
                    except Exception:
                        obj_id = b""
                    try:
                        obj_label = str(obj[Attribute.LABEL])
                    except Exception:
                        obj_label = None
                    has_key = bool(obj_id) and obj_id in key_ids
                    loc = CertLocation(kind=LocationKind.PKCS11, path=label, label=obj_label)
                    info = describe(
                        cert,
                        loc,
                        has_private_key=has_key or None,
                        key_on_token=True if has_key else None,
                        key_provider=label,
                    )
                    result.items.append(Discovered(info, cert))
        except (TokenNotRecognised, TokenNotPresent):
            continue  # an empty or uninitialised slot (SoftHSM always keeps one free): nothing to read
        except Exception as exc:  # one broken token must not hide the others
            slot_id = getattr(slot, "slot_id", "?")
            result.errors.append(f"PKCS#11 module {module_path}, slot {slot_id}: {type(exc).__name__} {exc}")
    return result.unique()
