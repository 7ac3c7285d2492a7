"""Word files made fast (issue 29): documents started from a prepared base without copying it, and
written to a .docx without python-docx's save.

A *base* is a document prepared once per process (the page, the styles, the footers: ``layout``'s
official page, ``form_page``'s form page). Copying it for every document (``copy.deepcopy``) cost as
much as filling in a 90-row form, because python-docx's default template carries a 350 KB styles part;
saving cost as much again, because every part is serialised and compressed anew. Here each part of the
base is serialised and compressed once; a new document gets a package of its own whose XML parts are
parsed from the base's bytes only when something reads them (``_LazyXmlPart``) — in practice the body,
the header and the properties, never the styles — and ``docx_bytes`` writes the parts nobody read as
the bytes compressed once, and only the rest anew. A big element built as text (``layout.table``'s
tables) goes into the body's XML as that text when the part is serialised (``defer``), instead of being
parsed now and serialised again then.

The result is the same OPC package python-docx's own save writes (same parts, same order, same XML);
only the zip container differs: entries dated 1980-01-01 (so the same document gives the same bytes)
and compressed at level 1 (what is written anew; the base's parts at zlib's default level).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.oxml import serialize_part_xml
from docx.opc.packuri import PACKAGE_URI, PackURI
from docx.opc.part import Part, XmlPart
from docx.opc.pkgwriter import _ContentTypesItem
from docx.oxml.ns import nsdecls
from docx.oxml.parser import parse_xml
from docx.package import Package

#: zlib level for what is compressed per document (level 1: half the time of the default, ~15 % larger)
LEVEL = 1


# --------------------------------------------------------------------------- the zip container


@dataclass(frozen=True)
class _Entry:
    """One zip member, compressed: the name, CRC-32, sizes and the deflated bytes."""

    name: bytes
    crc: int
    size: int
    data: bytes

    @classmethod
    def of(cls, name: str, blob: bytes, level: int = LEVEL) -> _Entry:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        return cls(name.encode("utf-8"), zlib.crc32(blob), len(blob), compressor.compress(blob) + compressor.flush())


_VERSION = 20  # 2.0: deflate
_MADE_BY = (3 << 8) | _VERSION  # Unix, as zipfile writes it
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01 (zip's epoch), time 00:00
_ATTRIBUTES = 0o600 << 16  # -rw-------, as zipfile.writestr gives a member


def _zip(entries: list[_Entry]) -> bytes:
    """The zip archive of ``entries`` (deflated, no zip64: a Word file is far below 4 GB)."""
    out, directory = bytearray(), bytearray()
    for entry in entries:
        flags = 0x800 if not entry.name.isascii() else 0  # UTF-8 names
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", _VERSION, flags, zlib.DEFLATED, 0, _DOS_DATE, entry.crc,
                           len(entry.data), entry.size, len(entry.name), 0)
        out += entry.name
        out += entry.data
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", _MADE_BY, _VERSION, flags, zlib.DEFLATED, 0, _DOS_DATE,
                                 entry.crc, len(entry.data), entry.size, len(entry.name), 0, 0, 0, 0, _ATTRIBUTES, offset)
        directory += entry.name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), len(out), 0)
    return bytes(out + directory + end)


# --------------------------------------------------------------------------- what was compressed once


#: id of a base part's blob → (the blob, its entry): a part whose blob is still the base's object is written
#: from here. Bases live as long as the process (``layout._BASES``), so their blobs' ids stay theirs.
_STATIC: dict[int, tuple[bytes, _Entry]] = {}
#: small generated members (relationships, content types) by their text → entry; bounded
_SMALL: dict[tuple[str, bytes], _Entry] = {}
_SMALL_LIMIT = 512


def _static_entry(name: str, blob: bytes) -> _Entry | None:
    found = _STATIC.get(id(blob))
    if found is not None and found[0] is blob and found[1].name == name.encode("utf-8"):
        return found[1]
    return None


def _small_entry(name: str, blob: bytes) -> _Entry:
    """Relationships and content types: the same few texts over and over, compressed once each."""
    key = (name, blob)
    entry = _SMALL.get(key)
    if entry is None:
        if len(_SMALL) >= _SMALL_LIMIT:
            _SMALL.clear()
        entry = _SMALL[key] = _Entry.of(name, blob, level=zlib.Z_DEFAULT_COMPRESSION)
    return entry


def docx_bytes(document) -> bytes:
    """The .docx of a python-docx document: the package python-docx's ``save`` writes (same members in the same
    order, same XML), with the parts of its base as compressed once."""
    package = document.part.package
    parts = list(package.iter_parts())
    for part in parts:
        part.before_marshal()
    entries = [_small_entry("[Content_Types].xml", _ContentTypesItem.from_parts(parts).blob),
               _small_entry(PACKAGE_URI.rels_uri.membername, package.rels.xml)]
    for part in parts:
        name, blob = part.partname.membername, part.blob
        entries.append(_static_entry(name, blob) or _Entry.of(name, blob))
        if len(part.rels):
            entries.append(_small_entry(part.partname.rels_uri.membername, part.rels.xml))
    return _zip(entries)


def save(document, path: Path) -> Path:
    """Write ``document`` to ``path`` (see ``docx_bytes``)."""
    Path(path).write_bytes(docx_bytes(document))
    return Path(path)


# --------------------------------------------------------------------------- bases


class _LazyXmlPart:
    """Mixed into an ``XmlPart`` class: the part's XML is parsed from its base's bytes when something first
    reads it; until then its blob *is* the base's (so ``docx_bytes`` writes it as compressed once)."""

    def __init__(self, partname: PackURI, content_type: str, blob: bytes, package: Package):
        Part.__init__(self, partname, content_type, package=package)
        self._base_blob = blob
        self._parsed = None
        self._deferred: list[bytes] = []  # XML written in place of placeholders when serialised (``defer``)

    @property
    def _element(self):
        if self._parsed is None:
            self._parsed = parse_xml(self._base_blob)
        return self._parsed

    @_element.setter
    def _element(self, element) -> None:
        self._parsed = element

    @property
    def blob(self) -> bytes:
        if self._parsed is None:
            return self._base_blob
        blob = serialize_part_xml(self._parsed)
        if self._deferred:
            blob = _PLACEHOLDER.sub(lambda match: self._deferred[int(match[2])], blob)
        return blob


#: a deferred element as its part serialises it: ``<w:tbl><!--kaoping-deferred 3--></w:tbl>``
_PLACEHOLDER = re.compile(rb"<(w:[A-Za-z]+)><!--kaoping-deferred (\d+)--></\1>")


def defer(document, tag: str, xml: str):
    """An element of ``document``'s body written as ``xml`` when the document is serialised, instead of parsed
    now and serialised again then (issue 29: a 90-row table is ~250 KB of XML; parsing and serialising it was
    a third of a form's time). ``xml`` is the element without namespace declarations (the ``w`` prefix is the
    document's). Returns the placeholder to insert: an empty ``tag`` element, which is all python-docx sees of
    it until the document is saved (kaoping's documents are written, not read back, after a table).

    For a document not made from a base (python-docx's own parts), the element is parsed at once."""
    part = document.part
    if not isinstance(part, _LazyXmlPart):
        return parse_xml(xml.replace(f"<{tag}", f"<{tag} {nsdecls('w')}", 1))
    part._deferred.append(xml.encode("utf-8"))
    return parse_xml(f"<{tag} {nsdecls('w')}><!--kaoping-deferred {len(part._deferred) - 1}--></{tag}>")


_LAZY_CLASSES: dict[type, type] = {}


def _lazy_class(cls: type) -> type:
    if cls not in _LAZY_CLASSES:
        _LAZY_CLASSES[cls] = type(f"Lazy{cls.__name__}", (_LazyXmlPart, cls), {})
    return _LAZY_CLASSES[cls]


@dataclass(frozen=True)
class _PartSpec:
    partname: PackURI
    content_type: str
    cls: type
    blob: bytes
    xml: bool


class Base:
    """A prepared document, kept as its parts' bytes: ``new()`` gives a document of its own, as a deep copy of
    the prepared one would be, at a fraction of the cost."""

    def __init__(self, document):
        package = document.part.package
        self._parts: list[_PartSpec] = []
        index: dict[Part, int] = {}
        for part in package.iter_parts():
            part.before_marshal()
            blob = part.blob
            xml = isinstance(part, XmlPart)
            index[part] = len(self._parts)
            self._parts.append(_PartSpec(part.partname, part.content_type, type(part), blob, xml))
            _STATIC[id(blob)] = (blob, _Entry.of(part.partname.membername, blob, level=zlib.Z_DEFAULT_COMPRESSION))
        self._main = index[package.main_document_part]

        def rels(source) -> list[tuple[str, str, int | str, bool]]:
            return [(rel.rId, rel.reltype, rel.target_ref if rel.is_external else index[rel.target_part], rel.is_external)
                    for rel in source.rels.values()]

        self._rels = [(None, rels(package))] + [(index[part], rels(part)) for part in index]

    def new(self):
        """A new python-docx ``Document`` with the base's content."""
        package = Package()
        parts = []
        for spec in self._parts:
            if spec.xml:
                parts.append(_lazy_class(spec.cls)(spec.partname, spec.content_type, spec.blob, package))
            else:
                parts.append(spec.cls.load(spec.partname, spec.content_type, spec.blob, package))
        for source, rels in self._rels:
            owner = package if source is None else parts[source]
            for rid, reltype, target, external in rels:
                owner.load_rel(reltype, target if external else parts[target], rid, external)
        package.after_unmarshal()
        return parts[self._main].document


#: what XML 1.0 cannot carry (lxml refuses it where python-docx sets a text)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """XML character data as lxml writes it; ``ValueError`` for a character XML cannot carry (a control
    character), as lxml raises when a text is set."""
    if _NOT_XML.search(value):
        raise ValueError(f"All strings must be XML compatible: no NULL bytes or control characters: {value!r}")
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def xml_attribute(value: str) -> str:
    """A double-quoted attribute value as lxml writes it."""
    return (xml_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;"))


def add_custom_properties(document, properties: dict[str, str]) -> bool:
    """Give a document that has no custom properties these (File → Properties → Custom: text values, in this
    order): the part docxcompose's ``CustomProperties`` writes, without its look-up of the document's language
    in the 350 KB styles part. False (nothing done) when the document already has custom properties."""
    package = document.part.package
    try:
        package.part_related_by(RT.CUSTOM_PROPERTIES)
    except KeyError:
        pass
    else:
        return False
    items = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" name="{xml_attribute(name)}" pid="{pid}">'
        f"<vt:lpwstr>{xml_text(value)}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(properties.items(), start=2))
    xml = ("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
           '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
           f'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">{items}</Properties>')
    part = Part(PackURI("/docProps/custom.xml"), CT.OFC_CUSTOM_PROPERTIES, xml.encode("utf-8"), package)
    package.relate_to(part, RT.CUSTOM_PROPERTIES)
    return True
