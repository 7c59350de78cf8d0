"""Outcome counts of a fuzz run: a table, the commonest refusals, and the findings (input and
traceback) written to a folder or listed for an assertion message."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

from fuzz.file_header import extension


class Summary:
    """Outcome counts, finding kinds with examples, timing; a table and a findings folder."""

    def __init__(self):
        self.cases = self.ok = self.refused = self.with_findings = 0
        self.kinds: Counter = Counter()
        self.prefixes: Counter = Counter()
        self.examples: dict[str, list[dict]] = {}
        self.max_seconds, self.max_case = 0.0, ""
        self.slow = 0
        self.peak_mb = 0.0
        self.generator_errors: list[str] = []
        self.restarts = 0
        self.start = time.perf_counter()

    def add(self, res: dict, examples: int = 5) -> None:
        self.cases += 1
        if res.get("generator_error"):
            self.generator_errors.append(f"{res.get('name')}: {res['generator_error']}")
        if res["seconds"] > self.max_seconds:
            self.max_seconds, self.max_case = res["seconds"], res.get("name", "")
        self.slow += res["seconds"] > 1.0
        self.peak_mb = max(self.peak_mb, res.get("peak_mb", 0.0))
        if res["outcome"] == "ok":
            self.ok += 1
        elif res["outcome"] == "refused":
            self.refused += 1
        if res.get("prefix"):
            self.prefixes[res["prefix"]] += 1
        if res["findings"]:
            self.with_findings += 1
            for kind, detail in dict(res["findings"]).items():
                self.kinds[kind] += 1
                keep = self.examples.setdefault(kind, [])
                if len(keep) < examples:
                    keep.append(
                        {
                            "name": res.get("name", ""),
                            "ops": res.get("ops", []),
                            "detail": detail,
                            "data": res.get("data"),
                            "message": res.get("message", ""),
                        }
                    )

    @property
    def findings(self) -> int:
        return sum(self.kinds.values())

    def table(self, title: str = "python") -> str:
        elapsed = time.perf_counter() - self.start
        rows = [
            (f"{title}: cases", self.cases),
            ("ok (restored or expanded)", self.ok),
            ("refused (GamutError, one line)", self.refused),
            ("cases with findings", self.with_findings),
            ("max seconds per case", f"{self.max_seconds:.3f} ({self.max_case})"),
            ("cases over 1 s", self.slow),
            ("worker peak RSS (MB)", f"{self.peak_mb:.0f}"),
            ("worker restarts (crash, hang, memory)", self.restarts),
            ("fuzzer (generator) errors", len(self.generator_errors)),
            ("elapsed (s)", f"{elapsed:.1f}"),
        ]
        lines = [f"{k:<34} {v}" for k, v in rows]
        if self.kinds:
            lines.append("findings by kind:")
            lines += [f"  {n:>7}  {k}" for k, n in self.kinds.most_common()]
        return "\n".join(lines)

    def top_prefixes(self, n: int = 25) -> str:
        return "\n".join(f"  {c:>7}  {p}" for p, c in self.prefixes.most_common(n))

    def save(self, folder: Path) -> None:
        """One folder per finding kind: the inputs and a .txt with the detail (traceback)."""
        for kind, examples in self.examples.items():
            sub = folder / re.sub(r"[^A-Za-z0-9_.-]+", "_", kind)[:120]
            sub.mkdir(parents=True, exist_ok=True)
            for ex in examples:
                stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", ex["name"])[:80] or "case"
                data = ex.get("data")
                if data is not None:
                    ext = extension(data)
                    (sub / f"{stem}.{ext}").write_bytes(data)
                (sub / f"{stem}.txt").write_text(
                    f"kind: {kind}\ncase: {ex['name']}\nops: {' '.join(ex['ops'])}\n"
                    f"message: {ex['message']}\n\n{ex['detail']}\n"
                )


def describe_findings(summary: Summary, limit: int = 40) -> str:
    """A readable list of findings for an assertion message."""
    out = []
    for kind, n in summary.kinds.most_common(limit):
        ex = summary.examples[kind][0]
        detail = ex["detail"].strip().splitlines()
        out.append(
            f"- {kind} x{n}: e.g. {ex['name']} [{' '.join(ex['ops'])}]: "
            f"{detail[-1] if detail else ''}"[:400]
        )
    return "\n".join(out)
