"""The graph as CSV files for `neo4j-admin database import`, to load a large corpus offline.

    ktp export --neo4j-csv out/
    neo4j-admin database import full --nodes=out/nodes-Axiom.csv … --relationships=… neo4j

One node file per kind and one relationship file per type, each with the header the import
tool reads: `id:ID` and `:LABEL` (the kind, and KtpNode, as `ktp build` labels them) for
nodes, `:START_ID`, `:END_ID` and `:TYPE` for relationships, and every property typed
(`start:long`, `similarity:double`, `registered:boolean`; strings untyped). Ids share one
id space, as they are unique across kinds. The command that loads them is written beside
them as import-command.txt.
"""
from __future__ import annotations

import csv
from pathlib import Path

from graph.neo4j_store import ANY


def export_csv(graph, folder: Path) -> dict:
    """Write the graph (any GraphBackend) into `folder`; returns the files and counts."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nodes, edges = graph.list_nodes(), graph.list_edges()
    files: list[str] = []
    by_kind: dict[str, list] = {}
    for node in nodes:
        by_kind.setdefault(node.kind, []).append(node)
    for kind, group in sorted(by_kind.items()):
        columns = _columns([n.props for n in group])
        name = f"nodes-{kind}.csv"
        _write(folder / name, ["id:ID", "kind"] + [_header(c, t) for c, t in columns]
               + [":LABEL"],
               ([n.id, n.kind] + [_cell(n.props.get(c), t) for c, t in columns]
                + [f"{kind};{ANY}"] for n in group))
        files.append(name)
    kinds = {n.id: n.kind for n in nodes}
    by_type: dict[str, list] = {}
    for edge in edges:
        by_type.setdefault(edge.kind, []).append(edge)
    for kind, group in sorted(by_type.items()):
        columns = _columns([e.props for e in group])
        name = f"relationships-{kind}.csv"
        _write(folder / name, [":START_ID", ":END_ID"] + [_header(c, t) for c, t in columns]
               + [":TYPE"],
               ([e.source, e.target] + [_cell(e.props.get(c), t) for c, t in columns] + [kind]
                for e in group if e.source in kinds and e.target in kinds))
        files.append(name)
    command = import_command(folder, files)
    (folder / "import-command.txt").write_text(command + "\n", encoding="utf-8")
    return {"folder": str(folder), "files": files, "nodes": len(nodes), "edges": len(edges),
            "command": command}


def import_command(folder: Path, files: list[str], database: str = "neo4j") -> str:
    # Passages keep line breaks inside quoted fields: the tool reads them only when told.
    parts = ["neo4j-admin database import full", "--multiline-fields=true"]
    for name in files:
        flag = "--nodes" if name.startswith("nodes-") else "--relationships"
        parts.append(f"{flag}={folder / name}")
    return " ".join(parts + [database])


def _columns(props: list[dict]) -> list[tuple[str, str]]:
    """(name, import type) of every property the rows have, sorted by name. A column that
    mixes whole and fractional numbers is a double; one that mixes anything else, a string."""
    seen: dict[str, set] = {}
    for p in props:
        for key, value in p.items():
            seen.setdefault(key, set()).add(_type(value))
    columns = []
    for key, types in sorted(seen.items()):
        if len(types) == 1:
            columns.append((key, types.pop()))
        else:
            columns.append((key, "double" if types <= {"long", "double"} else "string"))
    return columns


def _type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


def _header(name: str, kind: str) -> str:
    return name if kind == "string" else f"{name}:{kind}"


def _cell(value, kind: str) -> str:
    if value is None:
        return ""  # the import tool leaves the property unset
    if kind == "boolean":
        return "true" if value else "false"
    return str(value)


def _write(path: Path, header: list[str], rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(rows)
