"""The official documents: generated from the data, reproducible, readable as text and as pages (pdftoppm)."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def rendered_pages(data: bytes, tmp_path) -> list:
    source = tmp_path / "document.pdf"
    source.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(source), str(tmp_path / "page")], check=True)
    return sorted(tmp_path.glob("page*.png"))


needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils n'est pas installé")
