"""The text of an uploaded scenario PDF, extracted on the server with pypdf (in a worker thread: a
long document must not stall the event loop). Limits on size and pages; anything pypdf cannot read
is ``scenario.bad_pdf`` with the reason, never a 500."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass

from ..errors import AppError

log = logging.getLogger(__name__)
# pypdf warns about every oddity of a file on its logger; what matters reaches the client as an error.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class PdfText:
    text: str
    pages: int
    size: int


def bad_pdf(reason: str) -> AppError:
    return AppError("scenario.bad_pdf", f"the file is not a PDF we can read: {reason}", 422)


def _extract(data: bytes, max_pages: int, max_chars: int) -> PdfText:
    from pypdf import PdfReader  # imported here: only this worker needs it
    from pypdf.errors import PyPdfError

    if not data.lstrip()[:5] == b"%PDF-":
        raise bad_pdf("it does not start with %PDF-")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise bad_pdf("it is encrypted")
        pages = len(reader.pages)
        if pages == 0:
            raise bad_pdf("it has no pages")
        if pages > max_pages:
            raise AppError("scenario.pdf_too_many_pages", f"the PDF has {pages} pages; at most {max_pages} are read",
                           413, details={"pages": pages, "max_pages": max_pages})
        parts: list[str] = []
        total = 0
        for page in reader.pages:
            text = (page.extract_text() or "").replace("\x00", "")
            parts.append(text)
            total += len(text)
            if total >= max_chars:
                break
    except AppError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            AssertionError, ZeroDivisionError, OSError) as exc:  # what a malformed file makes pypdf raise
        raise bad_pdf(type(exc).__name__ + (f": {exc}" if str(exc) else "")) from None
    text = "\n\n".join(p.strip() for p in parts).strip()[:max_chars]
    # Text from a PDF may hold lone surrogates; PostgreSQL refuses them.
    text = text.encode("utf-8", "replace").decode("utf-8")
    if not text:
        raise bad_pdf("no text could be extracted (a scanned document?)")
    return PdfText(text, pages, len(data))


async def extract_text(data: bytes, max_pages: int, max_chars: int) -> PdfText:
    return await asyncio.to_thread(_extract, data, max_pages, max_chars)
