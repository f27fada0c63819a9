"""Reading a long two-column PDF: our reader (ingest/pdf.py) against pypdf's own plain
`extract_text`, in the same process, on the same file; and the memory it holds at its peak.

    uv run python bench/pdf_speed.py              # 300 pages (the page cap), 60 lines a page
    uv run python bench/pdf_speed.py --pages 500  # past the cap: only MAX_PAGES are read

The file is written here with fpdf2 (as the tests do). pypdf's plain extraction is the floor:
our reader runs the same extraction with a visitor, then orders the lines, drops running heads
and joins hyphenated words, so its ratio to the floor is what the layout work costs. Memory:
the process's peak resident size before and after our reader (pages are read one at a time).
"""
from __future__ import annotations

import argparse
import io
import random
import resource
import tempfile
import time
from pathlib import Path

WORDS = "gradient tensor loss batch layer network training weights model data token".split()


def write_pdf(path: Path, pages: int) -> None:
    from fpdf import FPDF

    rng = random.Random(0)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=9)
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.text(20, 12, "Preprint, under review")
        for column_x in (20, 112):
            for i in range(60):
                pdf.text(column_x, 25 + i * 4.2, " ".join(rng.choice(WORDS) for _ in range(6)))
        pdf.text(104, 285, str(n))
    pdf.output(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    from pypdf import PdfReader

    from ingest.pdf import MAX_PAGES, read_pdf_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.pdf"
        write_pdf(path, args.pages)
        data = path.read_bytes()
        read = min(args.pages, MAX_PAGES)

        started = time.perf_counter()
        reader = PdfReader(io.BytesIO(data))
        for page in reader.pages[:read]:
            page.extract_text()
        floor = time.perf_counter() - started

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        items = list(read_pdf_file(path))
        ours = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB, the process's peak

    doc = next(i.document for i in items if hasattr(i, "document"))
    print(f"{args.pages} pages ({len(data) / 2**20:.1f} MB), {read} read, "
          f"{len(doc.text):,} characters, {len(doc.meta['pages'])} pages of text")
    print(f"pypdf extract_text (floor): {floor:.2f} s  ({1000 * floor / read:.1f} ms a page)")
    print(f"ktp reader:                 {ours:.2f} s  ({1000 * ours / read:.1f} ms a page), "
          f"{ours / floor:.2f}x the floor")
    print(f"process peak RSS: {peak / 1024:.0f} MB ({before / 1024:.0f} MB before our reader)")
    for item in items:
        if hasattr(item, "reason"):
            print(f"  said: {item.reason}")


if __name__ == "__main__":
    main()
