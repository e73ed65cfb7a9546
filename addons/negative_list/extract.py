"""Text out of an uploaded procurement document: plain text, Word (.docx) or PDF.

The result is the stored content of a document: one paragraph per line, a form feed
between PDF pages (so findings name the page). The kind is decided by the file's bytes,
not its name: a renamed file is refused with what it really is.

* .docx is a ZIP of XML parts: ``word/document.xml`` is read with :mod:`zipfile` and
  :mod:`xml.etree.ElementTree` (paragraphs, table cells, heading styles); no library needed.
* PDF text comes from :mod:`pypdf` (pure Python), page by page. A scanned PDF without a
  text layer yields no text and is refused as empty (no OCR).
* text: UTF-8 (with or without BOM), else GB18030 (the Chinese superset of GBK).

Errors are :class:`core.errors.RuleError` on the field ``file`` (422), in Chinese.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

from core.errors import RuleError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
KINDS = {"text": "文本", "docx": "Word 文档（.docx）", "pdf": "PDF 文件"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def refuse(message: str, field: str = "file") -> RuleError:
    return RuleError({field: [message]})


def sniff(data: bytes, filename: str = "") -> str:
    """``text``, ``docx`` or ``pdf`` from the bytes; anything else is refused."""
    name = (filename or "").lower()
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile:
            raise refuse("文件已损坏：不是有效的 ZIP/Word 文件") from None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names or "ppt/presentation.xml" in names:
            raise refuse("只接受文本、Word（.docx）和 PDF 文件，这是 Excel 或 PowerPoint 文件")
        raise refuse("只接受文本、Word（.docx）和 PDF 文件，这是其他类型的压缩文件")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise refuse("这是旧版 Word（.doc）或 Excel（.xls）文件，请另存为 .docx 后上传")
    if name.endswith((".docx", ".pdf")):
        raise refuse(f"文件名为“{filename}”，但内容不是有效的{'PDF' if name.endswith('.pdf') else ' Word'}文件")
    return "text"


def decode_text(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise refuse("只接受文本、Word（.docx）和 PDF 文件，这是二进制文件")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text[:4096]):
            break
        return text
    raise refuse("只接受文本、Word（.docx）和 PDF 文件，该文件不是可识别的文本（UTF-8 或 GB18030）")


def docx_text(data: bytes) -> str:
    """Paragraphs of word/document.xml (table cells are paragraphs too); a paragraph in a
    heading style (Heading N, 标题 N) is prefixed with nothing but kept on its own line."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            xml = z.read("word/document.xml")
        root = ElementTree.fromstring(xml)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        raise refuse("Word 文件已损坏，无法读取正文") from None
    lines = []
    for p in root.iter(f"{W}p"):
        parts = []
        for node in p.iter():
            if node.tag == f"{W}t" and node.text:
                parts.append(node.text)
            elif node.tag == f"{W}tab":
                parts.append("\t")
            elif node.tag in (f"{W}br", f"{W}cr"):
                parts.append("\n")
        lines.append("".join(parts))
    return "\n".join(lines)


def pdf_text(data: bytes) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - a dependency of the platform (setup.cfg)
        raise refuse("服务器未安装 PDF 解析组件（pypdf），请上传 Word 或文本文件") from None
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise refuse("PDF 文件已加密，请上传未加密的文件")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except RuleError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        raise refuse("PDF 文件已损坏，无法读取文字") from None
    return "\f".join(p.replace("\f", "\n").strip("\n") for p in pages)


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ")
    text = _CONTROL.sub("", text)
    return "\f".join("\n".join(line.rstrip() for line in page.split("\n")) for page in text.split("\f"))


def extract(data: bytes, filename: str = "") -> tuple[str, str]:
    """``(kind, content)`` of an uploaded file; empty files and files without text refused."""
    if not data:
        raise refuse("文件是空的")
    kind = sniff(data, filename)
    raw = {"pdf": pdf_text, "docx": docx_text, "text": decode_text}[kind](data)
    content = normalise(raw)
    if not content.replace("\f", "").strip():
        hint = "（扫描件没有文字层，请上传可复制文字的 PDF 或 Word 文件）" if kind == "pdf" else ""
        raise refuse(f"{KINDS[kind]}中没有可检查的文字{hint}")
    return kind, content
