"""``civicmap check`` (validate a map, layer or data file) and ``civicmap layers``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from civicmap import wording
from civicmap._outputs import guarded_outputs
from civicmap._validate import load_yaml
from civicmap.check import check_file, check_map, layer_problems, write_rejected_csv
from civicmap.cli.main import existing_file, handle_errors, main
from civicmap.cli.options import network_options
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import N_, _, ngettext
from civicmap.spec.layers import builtin_layer_ids, load_layer


@main.command("layers", help=N_("List the built-in layers."))
@click.option(
    "--language", type=click.Choice(list(wording.LANGUAGES)), default="ja", show_default=True
)
@handle_errors
def layers_cmd(language: str) -> None:
    for lid in builtin_layer_ids():
        layer = load_layer(lid)
        kinds = ", ".join(sorted({s.kind for s in layer.sources}))
        click.echo(f"{lid:<14} {layer.title_in(language)}  [{kinds}; {layer.style.symbol}]")


def _problem_lines(report: dict) -> None:
    for w in report.get("warnings", []):
        where = f"{w['file']}: {w['key']}" if w["key"] else w["file"]
        click.echo(_("Warning: %(where)s: %(message)s") % {"where": where, "message": w["message"]})
    for note in report.get("paper", []):  # the inset or atlas the build prints instead
        where = f"{report['file']}: outputs.paper"
        click.echo(_("Note: %(where)s: %(message)s") % {"where": where, "message": note})


@main.command(
    help=N_(
        "Validate a map file, a layer file or a data file and report every problem.\n"
        "\n"
        "A map is checked as a build would check it, without building: its layers'\n"
        "files are read, the columns they name must exist, the outputs and their\n"
        "options must be valid. Exit code 2 when anything is wrong."
    )
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), callback=existing_file)
@click.option("--json", "as_json", is_flag=True, help=N_("Print the report as JSON."))
@click.option(
    "--rejected",
    "rejected_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=N_("Data files: write the rejected rows (row, reason) to this CSV."),
)
@click.option("--overwrite", is_flag=True, help=N_("Replace an existing --rejected file."))
@network_options
@handle_errors
def check(file: Path, as_json: bool, rejected_out: Path | None, overwrite: bool) -> None:
    import json

    import yaml

    if file.suffix.lower() in (".yaml", ".yml"):
        raw = load_yaml(file)
        is_layer = isinstance(raw, dict) and "sources" in raw and "area" not in raw
        if is_layer:
            layer = load_layer(file)
            problems, warnings = layer_problems(layer, file=str(file), key="")
            report = {
                "file": str(file),
                "kind": "layer",
                "ok": not problems,
                "id": layer.id,
                "sources": [s.kind for s in layer.sources],
                "problems": [p.__dict__ for p in problems],
                "warnings": [p.__dict__ for p in warnings],
            }
        else:
            report = check_map(file)  # loads the map once (its warnings are said once)
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False, indent=2))
            if not report["ok"]:
                sys.exit(ConfigError.exit_code)
            return
        _problem_lines(report)
        if report["problems"]:
            raise ConfigError(Problem(**p) for p in report["problems"])
        kind = _("map") if report["kind"] == "map" else _("layer")
        click.echo(_("%(file)s: OK (%(kind)s)") % {"file": file, "kind": kind})
        click.echo(
            yaml.safe_dump(
                {
                    k: v
                    for k, v in report.items()
                    if k not in ("file", "ok", "problems", "warnings", "kind", "paper", "drafts")
                },
                allow_unicode=True,
                sort_keys=False,
            ).rstrip()
        )
        return
    report = check_file(file)
    if rejected_out is not None:
        with guarded_outputs([rejected_out], inputs=[file], overwrite=overwrite):  # never FILE
            write_rejected_csv(report, rejected_out, overwrite=overwrite)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        _print_data_report(report)
    if rejected_out is not None and not as_json:
        click.echo(_("rejected rows written to %(path)s") % {"path": rejected_out})


def _header_line(last: int, preamble: list[str]) -> str:
    """Where the header is: its line(s), and the lines above it (a title, a date …).

    ``last`` is the header's last line and ``preamble`` the lines above its first:
    a header of several lines (``対象とする災害`` over 洪水, 地震 …) has lines
    between them, and no lines above it at all.
    """
    first = len(preamble) + 1
    above = " / ".join(line for line in preamble if line) or _("blank")
    if first >= last:
        return _("  header found on line %(line)s (lines above: %(above)s)") % {
            "line": last,
            "above": above,
        }
    if not preamble:
        return _("  header found on lines %(first)s to %(last)s (a header of %(n)d lines)") % {
            "first": first,
            "last": last,
            "n": last - first + 1,
        }
    return _(
        "  header found on lines %(first)s to %(last)s (a header of %(n)d lines; lines above: "
        "%(above)s)"
    ) % {"first": first, "last": last, "n": last - first + 1, "above": above}


def _print_data_report(report: dict) -> None:
    """The data-file check report as text a volunteer can act on."""
    click.echo(f"{report['file']}: {report['kind']}")
    click.echo(_("  encoding: %(value)s") % {"value": report["encoding"]})
    for r in report.get("file_repairs", []):
        click.echo(_("  repaired file: %(value)s") % {"value": r})
    click.echo(_("  layout:   %(value)s") % {"value": report["layout"]})
    cols = {k: v for k, v in report["columns"].items() if v}
    click.echo(
        _("  columns:  %(value)s") % {"value": ", ".join(f"{k}={v}" for k, v in cols.items())}
    )
    if report.get("sheet"):  # spreadsheets: the sheet read, and every sheet seen
        click.echo(
            _("  sheet:    %(sheet)s (%(why)s)")
            % {"sheet": report["sheet"], "why": report.get("sheet_chosen_because", "")}
        )
        for sheet, seen in (report.get("sheets") or {}).items():
            table = (
                _("header on row %(row)s, %(n)s known columns")
                % {"row": seen["header_row"], "n": seen["known_columns"]}
                if seen.get("header_row")
                else _("no table of places")
            )
            click.echo(
                _("    sheet %(sheet)r: %(rows)s rows, %(table)s")
                % {"sheet": sheet, "rows": seen["rows"], "table": table}
            )
    if report.get("crs"):
        click.echo(
            (
                _("  crs:      %(crs)s → EPSG:4326 %(axes)s")
                % {"crs": report["crs"], "axes": report.get("crs_axes", "")}
            ).rstrip()
        )
    if report.get("skipped_blank"):
        click.echo(
            _("  blank lines skipped: %(n)s (rows %(rows)s)")
            % {"n": report["skipped_blank"], "rows": report["blank_rows"]}
        )
    if report.get("header_row", 1) != 1:
        click.echo(_header_line(report["header_row"], report.get("preamble") or []))
    by_reason: dict[str, list[str]] = {}
    for new, why in (report.get("renamed_columns") or {}).items():
        by_reason.setdefault(why, []).append(new)
    for why, names in by_reason.items():
        if len(names) <= 3:
            for new in names:
                click.echo(_("  column renamed to %(name)r: %(why)s") % {"name": new, "why": why})
        else:  # a file padded with thousands of empty columns: one line, not thousands
            click.echo(
                _("  %(n)d columns renamed (%(first)s … %(last)s): %(why)s")
                % {"n": len(names), "first": names[0], "last": names[-1], "why": why}
            )
    for role, why in (report.get("column_reasons") or {}).items():
        if role in cols:
            click.echo(
                _("  %(role)s column %(column)r: %(why)s")
                % {"role": role, "column": cols[role], "why": why}
            )
    if report.get("name_from_description"):
        click.echo(
            _("  names from the first line of the description: %(n)d placemarks")
            % {"n": report["name_from_description"]}
        )
    if report.get("name_column_note"):
        click.echo(_("  name column: %(note)s") % {"note": report["name_column_note"]})
    if report.get("header_annotations"):
        click.echo(
            _("  lines under the header describing the columns (not places): %(n)d")
            % {"n": len(report["header_annotations"])}
        )
    if report.get("disaster_flags"):
        click.echo(
            _("  disaster flags: %(value)s") % {"value": ", ".join(report["disaster_flags"])}
        )
    if report.get("capacity_from"):
        click.echo(_("  capacity from: %(value)s") % {"value": report["capacity_from"]})
    click.echo(_("  rows read: %(n)s") % {"n": report["rows"]})
    click.echo(_("  rows mapped: %(n)s") % {"n": report["mapped"]})
    counts = report.get("place_counts")
    if counts and counts["places"]:
        click.echo(
            _("  of them with a name: %(named)d, an address: %(address)d, a category: %(category)d")
            % {
                "named": counts["named"],
                "address": counts["with_address"],
                "category": counts["with_category"],
            }
        )
    click.echo(_("  rows repaired: %(n)s") % {"n": len(report["repaired"])})
    for r in report["repaired"]:
        click.echo(_("    row %(row)s: %(why)s") % {"row": r["row"], "why": r["how"]})
    click.echo(_("  rows rejected: %(n)s") % {"n": len(report["rejected"])})
    for r in report["rejected"]:
        click.echo(_("    row %(row)s: %(why)s") % {"row": r["row"], "why": r["reason"]})
    if report.get("warnings"):
        n = len(report["warnings"])
        click.echo(ngettext("  warnings: %(n)d", "  warnings: %(n)d", n) % {"n": n})
        for w in report["warnings"]:
            where = (
                _("row %(row)s") % {"row": w["row"]}
                if w.get("row") not in (None, "")
                else _("file")
            )
            click.echo(f"    {where}: {w['reason']}")
    for n in report.get("notes", []):
        click.echo(_("  note: %(value)s") % {"value": n})
