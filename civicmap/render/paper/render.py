"""Render the paper map in memory and write the PDF (and PNG) atomically."""

from __future__ import annotations

import contextlib
import io
import logging
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import Any

from reportlab.pdfgen import canvas as rl_canvas

from civicmap._files import atomic_path, check_writable
from civicmap.errors import ConfigError
from civicmap.i18n import _
from civicmap.mapdata import MapData
from civicmap.render._fonts import register
from civicmap.render.background import map_credits, shown_credit
from civicmap.render.paper.area_atlas import draw_area_atlas
from civicmap.render.paper.atlas import draw_atlas
from civicmap.render.paper.blank import BlankCanvas
from civicmap.render.paper.inset import describe, inset_candidates
from civicmap.render.paper.plan import PaperPlan, entries_reused
from civicmap.render.paper.readability import measure, refusal, warn_if_unreadable
from civicmap.render.paper.renderer import Renderer
from civicmap.render.paper.single_page import draw_single
from civicmap.render.paper.texts import TEXT
from civicmap.spec.paper import AtlasOptions, PaperOptions

log = logging.getLogger(__name__)


def render_paper(
    data: MapData, *, options: PaperOptions | None = None, remember: bool = False
) -> tuple[bytes, PaperPlan]:
    """Lay out and draw the paper map in memory; return the PDF bytes and the plan used.

    ``options`` were checked when the map file loaded (``spec.paper``); None takes
    the map's own, else the defaults. A layout that fails the readability check
    is handled as ``options.unreadable`` says (see :func:`_readable`): a 拡大図
    (inset), a grid atlas, printed as it is, or refused.

    ``remember``: keep this result for the next call with the same ``data`` and
    options (once), so a caller that looks at the plan before writing (a batch
    writing its manifest) does not draw the map twice.

    Raises
    ------
    ConfigError
        For an atlas whose area file cannot be read (naming ``outputs.paper.atlas``).
    UnreadableSheetError
        For a layout that stays unreadable and may not be printed so.
    """
    opts = _options(data, options)
    if _last and _last[0]() is data and _last[1] == opts:
        result = _last[2]
        _last.clear()
        return result
    _last.clear()
    result = _readable(data, opts)
    if remember and not _layouts_only.get():  # a layout only measured has no PDF to keep
        # dropped with the data too (the plan holds its layers: a batch worker keeps no old area)
        _last[:] = [weakref.ref(data, lambda _ref: _last.clear()), opts, result]
    return result


#: The render kept by ``remember``: (weak reference to the data, options, (pdf, plan)).
_last: list[Any] = []


def _readable(data: MapData, opts: PaperOptions) -> tuple[bytes, PaperPlan]:
    """Draw the map, measure it, and never hand back a starburst nobody asked for.

    A single sheet that fails the check gets a 拡大図 of its densest part (the
    first candidate that makes it readable); with ``unreadable: atlas`` a grid
    atlas next (the fewest pages that pass); else an
    :class:`~civicmap.render.paper.readability.UnreadableSheetError` naming the
    fixes. ``unreadable: print`` prints it as it is, with a warning. An atlas
    layout is warned about (``stop``/``atlas``: refused), as no inset helps there.
    """
    with _said_once(), entries_reused():  # the sheet, with insets, as an atlas: same places
        return _readable_layout(data, opts)


@contextlib.contextmanager
def _said_once() -> Iterator[None]:
    """Each paper warning once, while the layout is drawn again (with an inset, as an atlas).

    A filter on the renderer's loggers only (no handler): the second drawing of the
    same sheet repeats what the first said ("parts are cut off").
    """
    seen: set[str] = set()

    def once(record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text in seen:
            return False
        seen.add(text)
        return True

    names = [n for n in logging.root.manager.loggerDict if n.startswith("civicmap.render")]
    loggers = [logging.getLogger(n) for n in names]
    for lg in loggers:
        lg.addFilter(once)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(once)


def _readable_layout(data: MapData, opts: PaperOptions) -> tuple[bytes, PaperPlan]:
    file = str(data.spec.file)
    policy = opts.on_unreadable
    pdf, r = _render_once(data, opts)
    m = r.plan.readability
    kind = dict(atlas=opts.atlas is not None, fit=opts.fit, size=opts.size)
    if not m.unreadable or policy == "print" or (opts.atlas is not None and policy == "inset"):
        warn_if_unreadable(r.plan, m, file=file, **kind)
        _warn_off_map(r)
        return pdf, r.plan
    if opts.atlas is not None:
        raise refusal(r.plan, m, file=file, inset_tried=False, **kind)
    tried = False
    if policy in ("inset", "atlas"):
        for insets, pdf2, r2 in _with_insets(data, opts, r):
            tried = True
            if not r2.plan.readability.unreadable:
                if pdf2 is None:  # measured only: now drawn
                    pdf2, r2 = _printed(data, opts, r2, insets=insets)
                r2.plan.note = _(
                    "%(where)s is too crowded to read as it is: drawn with %(insets)s"
                ) % {
                    "where": _("the sheet at 1:%(scale)s") % {"scale": f"{r2.plan.scale:,}"},
                    "insets": describe(r2.plan.insets),
                }
                _warn_off_map(r2)
                return pdf2, r2.plan
    if policy == "atlas":
        found = _atlas_instead(data, opts, r.plan)
        if found is not None:
            pdf3, r3 = found
            return pdf3, r3.plan
    raise refusal(r.plan, m, file=file, inset_tried=tried, atlas_tried=policy == "atlas", **kind)


def _tried(data: MapData, opts: PaperOptions, *, insets: list | tuple = ()) -> Renderer:
    """A layout the readability check may still reject, laid out and measured, not printed.

    Most tries fail; the one that passes is drawn for real by :func:`_printed`.
    """
    with layouts_only():
        return _render_once(data, opts, insets=insets)[1]


def _printed(
    data: MapData, opts: PaperOptions, tried: Renderer, *, insets: list | tuple = ()
) -> tuple[bytes, Renderer]:
    """The layout of a passing try, drawn for real: the same plan (see :func:`layouts_only`)."""
    if _layouts_only.get():  # the caller wants the layout only
        return b"", tried
    return _render_once(data, opts, insets=insets)


def _with_insets(
    data: MapData, opts: PaperOptions, r: Renderer
) -> Iterator[tuple[list, bytes | None, Renderer]]:
    """The sheet tried with each promising inset; then with the first and a second one (B).

    A second window helps where the crowd has two centres (a city centre and a
    station town): it is looked for on the sheet already tried with the first.
    Yields the insets, the PDF and the layout. The most promising inset, which
    usually passes, is drawn at once; the others are only measured (PDF None,
    see :func:`_tried`).
    """
    first = None
    for i, cand in enumerate(inset_candidates(r, r.plan.frames[0])):
        if i == 0:
            pdf, tried = _render_once(data, opts, insets=[cand])
        else:
            pdf, tried = None, _tried(data, opts, insets=[cand])
        first = first or (cand, tried)
        yield [cand], pdf, tried
    if first is None:
        return
    cand, r1 = first
    for second in inset_candidates(r1, r1.plan.frames[0], label="B", limit=2, taken=[cand]):
        yield [cand, second], None, _tried(data, opts, insets=[cand, second])


#: Scales a grid atlas that replaces an unreadable sheet is tried at (fewest pages first).
ATLAS_FALLBACK_SCALES = (100000, 50000, 25000, 15000, 10000, 7500, 5000)


def _atlas_instead(
    data: MapData, opts: PaperOptions, sheet: PaperPlan
) -> tuple[bytes, Renderer] | None:
    """The first readable grid atlas, on the sheet's paper, larger in scale than the sheet.

    Atlases over ``max_pages`` are skipped (their error names the count); None
    when no scale is readable.
    """
    for scale in (s for s in ATLAS_FALLBACK_SCALES if s < sheet.scale):
        atlas_opts = replace(opts, atlas=AtlasOptions(), scale=scale, unreadable="stop")
        try:
            r = _tried(data, atlas_opts)
        except ConfigError:  # more pages than max_pages: a larger scale number has fewer
            continue
        if r.plan.readability.unreadable:
            continue
        pdf, r = _printed(data, atlas_opts, r)
        r.plan.note = _(
            "%(where)s is too crowded to read: printed as a grid atlas at 1:%(scale)s instead "
            "(%(pages)d pages)"
        ) % {
            "where": _("the sheet at 1:%(scale)s") % {"scale": f"{sheet.scale:,}"},
            "scale": f"{scale:,}",
            "pages": r.plan.pages,
        }
        _warn_off_map(r)
        return pdf, r
    return None


def _render_once(
    data: MapData, opts: PaperOptions, *, insets: list | tuple = ()
) -> tuple[bytes, Renderer]:
    """Draw every page once (again if the background changed meanwhile), and measure them."""
    drawn_from = _credited(data)
    r, c, buf = _draw(data, opts, insets=insets)
    if _credited(data) != drawn_from:
        # A background given up while the frames were drawn (a tile server that
        # connected, then dripped or sent broken images): the credits were laid out
        # with it. Lay the map out again, now on its fallback background, so it
        # credits only what it draws (the fetcher asks the server no more).
        log.info(_("the background changed while the map was drawn: laying the map out again"))
        r, c, buf = _draw(data, opts, insets=insets)
    # After the drawing: the author line credits what the pages show.
    c.setAuthor("; ".join(shown_credit(cr, language=data.language) for cr in map_credits(data)))
    c.save()
    r.plan.pages = r.page_no
    smallest = min(r.fs(5.8), r.fs(6.3), r.num_fs, r.detail_fs)  # credits, labels, numbers
    r.plan.readability = measure(r.plan, smallest_text_pt=smallest)
    return buf.getvalue(), r


def _warn_off_map(r: Renderer) -> None:
    """Say which places a fixed-scale frame leaves out (they are listed as off the map)."""
    off = [e for e in r.entries if not e.ref]
    if off:
        log.warning(
            _(
                "%(n)d place(s) fall outside the paper map's frame and are listed in the index "
                "as %(off_map)r: %(names)s"
            ),
            {
                "n": len(off),
                "off_map": TEXT[r.lang]["off_map"],
                "names": ", ".join(e.name for e in off[:5]),
            },
        )


def _credited(data: MapData) -> list[tuple[str, str]]:
    """Which sources the map credits (without their dates, which the drawing may learn)."""
    return [(cr.source, cr.credit) for cr in map_credits(data)]


def _draw(
    data: MapData, opts: PaperOptions, *, insets: list | tuple = ()
) -> tuple[Renderer, Any, io.BytesIO]:
    """Lay out and draw every page on a new canvas (not saved yet: the author line comes last)."""
    r = Renderer(data, opts)
    c, buf = _canvas(r, data)
    if opts.atlas:
        if opts.atlas.areas:
            draw_area_atlas(r, c)
        else:
            draw_atlas(r, c)
    else:
        draw_single(r, c, insets=insets)
    c.showPage()
    return r, c, buf


#: Set inside :func:`layouts_only`: layouts are drawn on a :class:`BlankCanvas`.
_layouts_only: ContextVar[bool] = ContextVar("civicmap_paper_layouts_only", default=False)


@contextlib.contextmanager
def layouts_only() -> Iterator[None]:
    """Within this block, :func:`render_paper` lays out and measures but writes no PDF.

    The plan (scale, pages, frames, numbers, readability) is the one a real
    drawing makes, as every layout decision is taken the same way on a
    :class:`~civicmap.render.paper.blank.BlankCanvas`; the PDF bytes are empty.
    For callers that only compare layouts (``civicmap init`` tries several):
    the PDF's text and paths were a third of each try.
    """
    token = _layouts_only.set(True)
    try:
        yield
    finally:
        _layouts_only.reset(token)


def _canvas(r: Renderer, data: MapData) -> tuple[Any, io.BytesIO]:
    """A new canvas of ``r``'s page size, with the map's title, in its language's font."""
    buf = io.BytesIO()
    if _layouts_only.get():
        register(data.paper_language)  # the fonts the layout measures with
        return BlankCanvas(), buf
    c = rl_canvas.Canvas(
        buf,
        pagesize=(r.pw, r.ph),
        initialFontName=register(data.paper_language),
        initialFontSize=8,
        pageCompression=1,
        invariant=1,  # no clock in /ID and dates: a rebuild gives the same bytes
    )
    c.setTitle(data.spec.title)
    c.setSubject(data.spec.subtitle)
    c.setCreator("civicmap")
    return c, buf


def render_sections(datas: list[MapData]) -> tuple[bytes, list[PaperPlan]]:
    """One PDF holding each language's sheet in turn (``outputs.paper.languages: sections``).

    Each language's sheet is laid out as it would be alone (its own readability check, its
    拡大図, its index pages, or the refusal), then all are drawn on one canvas, in the order
    of ``language:``. Single sheets only (the map file refuses an atlas with sections: an
    atlas's page numbers are its own).
    """
    plans = [render_paper(data)[1] for data in datas]
    first = datas[0]
    opts = _options(first, None)
    r = Renderer(first, opts)
    c, buf = _canvas(r, first)
    for i, (data, plan) in enumerate(zip(datas, plans, strict=True)):
        if i:
            c.showPage()
            r = Renderer(data, _options(data, None))  # its own fonts, sizes and words
        draw_single(r, c, insets=plan.insets)
        plan.pages = r.page_no
    c.setAuthor("; ".join(cr.credit for cr in map_credits(first)))
    c.showPage()
    c.save()
    return buf.getvalue(), plans


def write_paper_sections(
    datas: list[MapData], path: Path, *, options: PaperOptions | None = None, overwrite: bool
) -> list[Path]:
    """Write one PDF with a section per language (and its first page as the PNG).

    ``datas``: the map collected in each of its languages, the first language first.
    """
    path = Path(path)
    opts = _options(datas[0], options)
    png = path.with_suffix(".png") if opts.png else None
    check_writable(path, overwrite=overwrite)
    if png is not None:
        check_writable(png, overwrite=overwrite)
    pdf, plans = render_sections(datas)
    for plan in plans:
        if plan.note:
            log.warning(_("%(path)s: %(note)s"), {"path": path, "note": plan.note})
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(pdf)
    log.info(
        _("paper map: %(path)s, %(pages)d page(s), 1:%(value)s"),
        {"path": path, "pages": sum(p.pages for p in plans), "value": f"{plans[0].scale:,}"},
    )
    out = [path]
    if png is not None:
        out.append(pdf_to_png(pdf, png, overwrite=overwrite))
    return out


def pdf_to_png(pdf: bytes, path: Path, *, dpi: int = 150, overwrite: bool) -> Path:
    """Render the first page (the map, or the atlas overview) to a PNG for sharing."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=dpi / 72).to_pil()
    finally:
        doc.close()
    with atomic_path(path, overwrite=overwrite) as tmp:
        image.save(tmp, format="PNG", dpi=(dpi, dpi))
    return path


def _options(data: MapData, options: PaperOptions | None) -> PaperOptions:
    """The options to draw with: as given, else the map's ``outputs.paper``, else the defaults."""
    if options is not None:
        return options
    return data.spec.paper if data.spec.paper is not None else PaperOptions()


def write_paper(
    data: MapData, path: Path, *, options: PaperOptions | None = None, overwrite: bool
) -> list[Path]:
    """Write the paper map PDF (and ``<name>.png`` when ``options.png``); return the paths.

    Both files are checked before any drawing and written atomically, so a
    failure leaves neither a half-written PDF nor a PNG from an older run.
    """
    path = Path(path)
    opts = _options(data, options)
    png = path.with_suffix(".png") if opts.png else None
    check_writable(path, overwrite=overwrite)
    if png is not None:
        check_writable(png, overwrite=overwrite)
    pdf, plan = render_paper(data, options=opts)
    if plan.note:  # an inset, or an atlas instead of the sheet: said with the file's name
        log.warning(_("%(path)s: %(note)s"), {"path": path, "note": plan.note})
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(pdf)
    out = [path]
    log.info(
        _("paper map: %(path)s, %(pages)d page(s), 1:%(value)s"),
        {"path": path, "pages": plan.pages, "value": f"{plan.scale:,}"},
    )
    if png is not None:
        out.append(pdf_to_png(pdf, png, overwrite=overwrite))
    return out
