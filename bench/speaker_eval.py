"""Who speaks each labelled transcript line: the speaker split against bench/speaker_labels.yaml.

    uv run python bench/speaker_eval.py            # needs ../shared/realdata
    uv run python bench/speaker_eval.py --errors   # and list every line it got wrong

The labels (host or guest, read in context) name a segment of the Dwarkesh transcript or a line
of the Lex Fridman captions; the line's text is read from realdata at run time, found in the
ingested document, and the speaker of the turn holding it is compared with the label. The rules
were tuned on the first label set; the second (held out) was labelled afterwards. Reported
per episode: host lines attributed to him (the worst error: aim for none), his lines attributed
to him (recall), lines left unidentified, and how much of each transcript is attributed to whom.
"""
from __future__ import annotations

import argparse
import html
import json
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REALDATA = HERE.parent.parent / "shared" / "realdata"


def line_texts(episode: dict, realdata: Path) -> dict[int, str]:
    path = realdata / episode["file"]
    if path.suffix == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))["segments"]
        return {i: " ".join(html.unescape(r["text"]).split()) for i, r in enumerate(rows)}
    lines = path.read_text(encoding="utf-8").splitlines()
    return {n: " ".join(html.unescape(line.split("]", 1)[-1]).split())
            for n, line in enumerate(lines, 1) if line.startswith("[")}


def read_document(episode: dict, realdata: Path):
    from ingest.transcript_files import read_transcript_file

    loaded = next(i for i in read_transcript_file(realdata / episode["file"])
                  if hasattr(i, "document"))
    return loaded.document


def speaker_at(doc, offset: int) -> str:
    for start, end, speaker in doc.meta.get("turns") or [[0, len(doc.text), doc.author]]:
        if start <= offset < end:
            return speaker
    return "?"


def locate(text: str, line: str, cursor: int) -> int | None:
    """Where the line's words are in the document, searching forward from cursor (rolling
    captions may have lost the line's first words to the line before)."""
    words = line.split()
    for probe in (line, " ".join(words[-6:]), " ".join(words[:6])):
        if len(probe.split()) < 3 and probe != line:
            continue
        at = text.find(probe, cursor)
        if at >= 0:
            return at + len(probe) // 2 if probe != line else at + len(line) // 2
    return None


LABEL_SETS = ("speaker_labels.yaml", "speaker_labels_heldout.yaml")  # tuned on / held out


def evaluate(realdata: Path = REALDATA, labels_file: str = LABEL_SETS[0]) -> dict:
    """Counts per episode: {(label, outcome): n}, plus shares of each transcript's text and the
    lines that went wrong."""
    from corpus.subject import current_subject

    data = yaml.safe_load((HERE / labels_file).read_text(encoding="utf-8"))
    him = current_subject().name
    out = {}
    for name, episode in data["episodes"].items():
        doc = read_document(episode, realdata)
        lines = line_texts(episode, realdata)
        labels = sorted((lab for lab in data["labels"] if lab["episode"] == name),
                        key=lambda lab: lab["at"])
        counts, wrong, cursor = Counter(), [], 0
        for lab in labels:
            at = locate(doc.text, lines[lab["at"]], max(0, cursor - 2000))
            if at is None:
                counts[(lab["speaker"], "not found")] += 1
                continue
            cursor = at
            got = speaker_at(doc, at)
            outcome = "him" if got == him else "unidentified" if got == "unidentified" \
                else "host" if got == episode["host"] else got
            counts[(lab["speaker"], outcome)] += 1
            if (lab["speaker"] == "host") != (outcome != "him") or outcome == "unidentified":
                wrong.append((lab, outcome, lines[lab["at"]]))
        shares = Counter()
        for start, end, speaker in doc.meta.get("turns") or []:
            shares[speaker] += end - start
        out[name] = {"counts": counts, "wrong": wrong, "shares": shares,
                     "length": len(doc.text)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the lines it got wrong")
    args = parser.parse_args()
    if not REALDATA.is_dir():
        raise SystemExit(f"{REALDATA} is not here")
    for labels_file in LABEL_SETS:
        print(f"== {labels_file}")
        report(evaluate(REALDATA, labels_file), args.errors)


def report(results: dict, errors: bool) -> None:
    for name, r in results.items():
        c = r["counts"]
        host = sum(v for (lab, _), v in c.items() if lab == "host")
        guest = sum(v for (lab, _), v in c.items() if lab == "guest")
        print(f"{name}: {host} host lines, {guest} guest lines labelled")
        print(f"  host lines attributed to him     {c[('host', 'him')]}/{host}   (must be 0)")
        print(f"  host lines attributed to the host {c[('host', 'host')]}/{host}, "
              f"unidentified {c[('host', 'unidentified')]}")
        print(f"  his lines attributed to him      {c[('guest', 'him')]}/{guest} "
              f"(recall {c[('guest', 'him')] / max(guest, 1):.2f}); to the host "
              f"{c[('guest', 'host')]}, unidentified {c[('guest', 'unidentified')]}")
        missing = sum(v for (_, o), v in c.items() if o == "not found")
        if missing:
            print(f"  lines not found in the document  {missing}")
        shares = ", ".join(f"{k} {v / r['length']:.0%}" for k, v in r["shares"].most_common())
        print(f"  transcript attributed: {shares}")
        if errors:
            for lab, outcome, text in r["wrong"]:
                print(f"    [{lab['at']}] labelled {lab['speaker']}, got {outcome}: {text[:90]}")


if __name__ == "__main__":
    main()
