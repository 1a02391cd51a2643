"""Logging set-up for every entry point. Logs are in English and never carry document text:
the parsing libraries log page contents at DEBUG, so they are held at WARNING whatever the
verbosity asked for."""

from __future__ import annotations

import logging
import sys

QUIET = ("pdfminer", "unstructured", "unstructured_inference", "PIL", "pikepdf", "pypdf", "pytesseract",
         "unstructured_pytesseract", "httpx", "httpcore", "urllib3", "multipart", "matplotlib", "numba",
         "sentence_transformers", "transformers")


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
