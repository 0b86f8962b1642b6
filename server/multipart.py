"""Reading a ``multipart/form-data`` body: text fields and file parts, each with its limit.

Shared by every route that takes an upload with fields (a benchmark entry's run record, a battle
turn's audio). A file part is read in chunks and refused the moment it passes its limit; a text field
must be UTF-8 and short; nested multipart is refused. The parts' file names and content types are
never looked at: what a file is, its bytes say.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import BodyPartReader, web

from .errors import AppError

FIELD_LIMIT = 20_000  # characters of one text field
FIELDS_OVERHEAD = 64 * 1024  # what the fields and part headers may add to the files' limits
MAX_PARTS = 50


@dataclass(frozen=True)
class Form:
    fields: dict[str, str]
    files: dict[str, bytes]


def is_multipart(request: web.Request) -> bool:
    return request.content_type.startswith("multipart/")


async def read_form(request: web.Request, files: dict[str, int]) -> Form:
    """The body's text fields, and its file parts named in ``files`` (name -> largest size in bytes).

    The whole body may be at most the files' limits and ``FIELDS_OVERHEAD`` more, whether or not it
    says its length; a body that is not well-formed multipart is ``validation.failed``."""
    limit = sum(files.values()) + FIELDS_OVERHEAD
    if request.content_length is not None and request.content_length > limit:
        raise AppError("validation.payload_too_large", f"the body is over {limit} bytes", 413)
    try:
        return await _read(request, files, limit)
    except (ValueError, RuntimeError, LookupError, AssertionError) as exc:
        # aiohttp's reader: no boundary, a missing or truncated part, an unknown transfer encoding...
        raise AppError("validation.failed", f"the multipart body cannot be read: {exc}", 422,
                       details=[{"loc": ["body"], "msg": "not well-formed multipart/form-data",
                                 "type": "multipart"}]) from None


async def _read(request: web.Request, files: dict[str, int], limit: int) -> Form:
    fields: dict[str, str] = {}
    found: dict[str, bytes] = {}
    total = 0
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise AppError("validation.failed", "nested multipart is not accepted", 422)
        if len(fields) + len(found) >= MAX_PARTS:
            raise AppError("validation.failed", f"at most {MAX_PARTS} parts", 422)
        if part.name in files:
            most = files[part.name]
            data = bytearray()
            while chunk := await part.read_chunk(65536):
                data += chunk
                if len(data) > most:
                    raise AppError("validation.payload_too_large", f"the {part.name} part is over {most} bytes",
                                   413, details={"field": part.name, "max_bytes": most})
            found[part.name] = bytes(data)
            total += len(data)
        elif part.name:
            raw = bytearray()
            while chunk := await part.read_chunk(65536):
                raw += chunk
                if len(raw) > FIELD_LIMIT * 4:
                    raise AppError("validation.failed", f"the field {part.name} is too long", 422, details=[
                        {"loc": ["body", part.name], "msg": "too long", "type": "string_too_long"}])
            total += len(raw)
            try:
                fields[part.name] = bytes(part.decode(bytes(raw))).decode("utf-8")
            except UnicodeDecodeError:
                raise AppError("validation.failed", f"the field {part.name} is not UTF-8 text", 422,
                               details=[{"loc": ["body", part.name], "msg": "not UTF-8", "type": "string_type"}]
                               ) from None
        if total > limit:
            raise AppError("validation.payload_too_large", f"the body is over {limit} bytes", 413)
    return Form(fields, found)
