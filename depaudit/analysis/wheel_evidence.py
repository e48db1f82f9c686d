"""What the index says about a wheel itself, for the accelerator labels of `analysis.accelerators`: the
Requires-Dist entries of its PEP 658 core metadata (`<wheel URL>.metadata`) that name a CUDA runtime, and
the CUDA/ROCm/XPU libraries in its file list (its zip central directory, read with HTTP range requests as
`--installed` reads it; the body is never downloaded).

Asked only for torch-family wheels nothing else labels (see `install_set.wants_evidence`). The metadata
comes first (a few kB); the file list is read only when the metadata does not already show a CUDA
runtime for the target that chose the wheel. Requests go through `size_lookup.IndexClient` — the same
https-only client, retries, host policy and proxy handling as size look-ups. Answers are cached forever
(wheel URLs are immutable) in `wheel-evidence-v1.json` beside the size cache; offline, only the cache is
read. A failed look-up is no evidence (the label falls back to the table of known builds) and is not
cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from depaudit import fileio
from depaudit.analysis.accelerators import WheelEvidence, accelerator_libraries, is_cuda_runtime, runtime_requirements
from depaudit.analysis.host_policy import HostPolicy, url_problem
from depaudit.analysis.size_lookup import IndexClient, _Failure, _status_failure
from depaudit.errors import InputError, OutputError
from depaudit.names import canonical_name

EVIDENCE_FILE = "wheel-evidence-v1.json"
SCHEMA = 1
MAX_METADATA = 1 << 20  # a core metadata file is a few kB; more is not one
Environments = Sequence[Mapping[str, str]]
Progress = Callable[[int, int], None]


def cuda_requirements(metadata: str) -> tuple[str, ...]:
    """The Requires-Dist values of a core metadata file whose project is a CUDA runtime (markers kept)."""
    out = []
    for line in metadata.splitlines():
        if line[:1].isspace():
            continue  # a continuation line (descriptions); Requires-Dist never continues
        key, _, value = line.partition(":")
        if key.strip().lower() != "requires-dist":
            continue
        name = value.strip().split(";", 1)[0]
        for stop in " [(<>=!~":
            name = name.split(stop, 1)[0]
        if name and is_cuda_runtime(canonical_name(name)):
            out.append(value.strip())
    return tuple(out)


def read_cache(cache_dir: Path | None) -> dict[str, WheelEvidence]:
    """The cached evidence by wheel URL; anything unreadable counts as empty."""
    if cache_dir is None:
        return {}
    try:
        raw = json.loads(fileio.read_bytes(Path(cache_dir) / EVIDENCE_FILE, "wheel evidence cache"))
    except (InputError, ValueError, RecursionError):
        return {}
    wheels = raw.get("wheels") if isinstance(raw, dict) and raw.get("schema") == SCHEMA else None
    out = {}
    for url, entry in (wheels or {}).items():
        if isinstance(url, str) and isinstance(entry, dict):
            out[url] = WheelEvidence(_strings(entry.get("requires")), _strings(entry.get("libraries")))
    return out


def _strings(value: Any) -> tuple[str, ...] | None:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else None


def _write_cache(cache_dir: Path, added: Mapping[str, WheelEvidence]) -> str | None:
    """Merge `added` into the cache file (re-read first: concurrent runs keep each other's entries).
    Returns why it could not be written, or None."""
    entries = {**read_cache(cache_dir), **added}
    document = {
        "schema": SCHEMA,
        "wheels": {
            url: {
                "requires": None if e.requires is None else list(e.requires),
                "libraries": None if e.libraries is None else list(e.libraries),
            }
            for url, e in sorted(entries.items())
        },
    }
    try:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        fileio.write_text(Path(cache_dir) / EVIDENCE_FILE, json.dumps(document, separators=(",", ":")) + "\n")
    except OSError as exc:
        return f"{cache_dir}: {exc.strerror or exc}"
    except OutputError as exc:
        return str(exc)
    return None


def _settled(evidence: WheelEvidence, environments: Environments) -> bool:
    """True when `evidence` decides the label for every target that chose the wheel."""
    if evidence.libraries is not None:
        return True
    requires = evidence.requires or ()
    return bool(requires) and all(runtime_requirements(requires, env) for env in environments)


class EvidenceClient(IndexClient):
    """Reads wheels' metadata and file lists through IndexClient's https client, policy and retries."""

    def evidence(
        self, wanted: Mapping[str, Environments], progress: Progress | None = None
    ) -> dict[str, WheelEvidence]:
        """{url: WheelEvidence} for the wheel URLs of `wanted` (each with the marker environments of the
        targets that chose it): from the cache, else (online) from the index. A URL that could not be
        read is absent; nothing is raised for it."""
        cached = read_cache(self.cache_path.parent if self.cache_path else None)
        out = {url: cached[url] for url in wanted if url in cached}
        pending = [
            url
            for url, envs in wanted.items()
            if not (url in out and _settled(out[url], envs)) and url_problem(url) is None
        ]
        if pending and not self.offline:
            fetched = self._run(self._fetch_evidence({u: wanted[u] for u in pending}, progress))
            out.update(fetched)
            if fetched and self.cache_path is not None:
                self.cache_write_error = _write_cache(self.cache_path.parent, fetched)
        return out

    async def _fetch_evidence(
        self, wanted: Mapping[str, Environments], progress: Progress | None
    ) -> dict[str, WheelEvidence]:
        import asyncio

        import httpx

        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        semaphore = asyncio.Semaphore(self.concurrency)
        done = 0
        if progress is not None:
            progress(0, len(wanted))

        async def one(url: str) -> tuple[str, WheelEvidence | None]:
            nonlocal done
            async with semaphore:
                try:
                    found: WheelEvidence | None = await self._one(client, url, wanted[url])
                except _Failure:
                    found = None
            done += 1
            if progress is not None:
                progress(done, len(wanted))
            return url, found

        async with self._client(limits) as client:
            answers = await asyncio.gather(*(one(url) for url in wanted))
        return {url: found for url, found in answers if found is not None}

    async def _one(self, client: Any, url: str, environments: Environments) -> WheelEvidence:
        requires = await self._attempts(lambda: self._metadata(client, url))
        evidence = WheelEvidence(requires)
        if _settled(evidence, environments):
            return evidence
        names: list[str] = []

        def collect(name: str, size: int) -> int:
            names.append(name)
            return size

        await self._installed_size(client, url, collect)
        return WheelEvidence(requires, accelerator_libraries(names))

    async def _metadata(self, client: Any, url: str) -> tuple[str, ...] | None:
        """The CUDA runtime requirements of the wheel's PEP 658 metadata; None when the index serves none."""
        async with client.stream("GET", url + ".metadata") as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise _status_failure(response)
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > MAX_METADATA:
                    raise _Failure("metadata larger than 1 MiB")
        return cuda_requirements(bytes(body).decode("utf-8", "replace"))


def wheel_evidence(
    wanted: Mapping[str, Environments],
    *,
    offline: bool,
    cache_dir: Path | None,
    hosts: HostPolicy,
    progress: Progress | None = None,
) -> dict[str, WheelEvidence]:
    """Evidence for the wanted wheel URLs (see EvidenceClient.evidence). No socket is opened offline."""
    if not wanted:
        return {}
    client = EvidenceClient(cache_dir, offline=offline, hosts=hosts)
    return client.evidence(wanted, progress)
