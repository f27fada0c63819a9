"""`ktp new-ideas`: what he now talks about that the framework does not cover (simulator/new_ideas.py).
Registered on the `ktp` group in ui/cli.py, which this module imports only when the command
runs (ui/cli.py imports this one while it loads)."""
from __future__ import annotations

import click


@click.command("new-ideas")
@click.option("--since", help="From this date on (YYYY, YYYY-MM or YYYY-MM-DD); default: the "
                              "last 12 months up to his newest dated document.")
@click.option("--json", "as_json", is_flag=True, help="Print the themes as JSON.")
@click.pass_context
def new_ideas_command(ctx: click.Context, since: str | None, as_json: bool) -> None:
    """His recent passages that no framework item covers, grouped into themes.

    A passage is covered when it is as close in meaning to an axiom or mental model as
    evidence linking asks (or holds one of their quotes). The rest are grouped by meaning into
    a handful of themes, each named by its own most distinctive words and shown with his
    quotes, dated and linked: where the framework's YAML is falling behind what he says.
    Deterministic: the same corpus gives the same themes.

    \b
    Example:
      ktp new-ideas
      ktp new-ideas --since 2025-06 --json
    """
    from graph.pipeline import open_world
    from simulator.new_ideas import new_ideas
    from ui.cli import _date_bound, _emit, _home

    _date_bound(since, "since")  # a mistyped date is a usage error, said before any work
    home = _home(ctx)
    world = open_world(home)
    try:
        found = new_ideas(home, world.framework, world.store, world.graph, since)
    finally:
        world.store.close()
    _emit(found.as_json(), as_json, lambda _: _print(found))


def _print(found) -> None:
    from ui.cli import shown

    click.echo(click.style(
        f"New in his words since {found.since}: {found.uncovered} of {found.recent} recent "
        f"passages of his are covered by no framework item", bold=True))
    click.echo(f"(since: {shown(found.since_rule)}; covered = cosine to an axiom or model "
               f">= {found.threshold}, or holding one of their quotes; {found.covered} covered"
               + (f"; {found.copies_left_out} copies" if found.copies_left_out else "")
               + (f", {found.short_left_out} very short passages" if found.short_left_out
                  else "")
               + (f" and {found.undated_left_out} undated passages left out"
                  if found.undated_left_out else "") + ")")
    if not found.themes:
        click.echo("\nEverything recent of his is covered by the framework.")
    for n, theme in enumerate(found.themes, 1):
        docs = f"{theme.documents} source{'s' * (theme.documents != 1)}"
        click.echo(click.style(f"\n{n}. {shown(theme.name)}", bold=True)
                   + f"  ·  {len(theme.passages)} passages in {docs}, "
                     f"{theme.start} to {theme.end}")
        for q in theme.quotes:
            click.echo(f"  “{shown(q.quote)}”")
            click.echo(f"     {shown(q.title)} ({shown(q.badge)}, {shown((q.date or '')[:10])})"
                       + (f"  {shown(q.url)}" if q.url else ""))
