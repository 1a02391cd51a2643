"""Ingestion pipeline: manifest -> partition -> chunk -> embed -> write (Qdrant)."""

import os

# unstructured phones home unless told not to; set before it is imported anywhere.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
