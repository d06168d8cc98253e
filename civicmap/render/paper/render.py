"""Render the paper map in memory and write the PDF (and PNG) atomically."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from reportlab.pdfgen import canvas as rl_canvas

from civicmap._files import atomic_path, check_writable
from civicmap.i18n import _
from civicmap.mapdata import MapData
from civicmap.render._fonts import register
from civicmap.render.background import map_credits
from civicmap.render.paper.area_atlas import draw_area_atlas
from civicmap.render.paper.atlas import draw_atlas
from civicmap.render.paper.plan import PaperPlan
from civicmap.render.paper.readability import measure, warn_if_unreadable
from civicmap.render.paper.renderer import Renderer
from civicmap.render.paper.single_page import draw_single
from civicmap.render.paper.texts import TEXT
from civicmap.spec.paper import PaperOptions

log = logging.getLogger(__name__)


def render_paper(data: MapData, *, options: PaperOptions | None = None) -> tuple[bytes, PaperPlan]:
    """Lay out and draw the paper map in memory; return the PDF bytes and the plan used.

    ``options`` were checked when the map file loaded (``spec.paper``); None takes
    the map's own, else the defaults.

    Raises
    ------
    ConfigError
        For an atlas whose area file cannot be read (naming ``outputs.paper.atlas``).
    """
    opts = _options(data, options)
    drawn_from = _credited(data)
    r, c, buf = _draw(data, opts)
    if _credited(data) != drawn_from:
        # A background given up while the frames were drawn (a tile server that
        # connected, then dripped or sent broken images): the credits were laid out
        # with it. Lay the map out again, now on its fallback background, so it
        # credits only what it draws (the fetcher asks the server no more).
        log.info(_("the background changed while the map was drawn: laying the map out again"))
        r, c, buf = _draw(data, opts)
    # After the drawing: the author line credits what the pages show.
    c.setAuthor("; ".join(cr.credit for cr in map_credits(data)))
    c.save()
    r.plan.pages = r.page_no
    smallest = min(r.fs(5.8), r.fs(6.3), r.num_fs, r.detail_fs)  # credits, labels, numbers
    r.plan.readability = measure(r.plan, smallest_text_pt=smallest)
    warn_if_unreadable(r.plan, r.plan.readability, file=str(data.spec.file),
                       atlas=opts.atlas is not None, fit=opts.fit)  # fmt: skip
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
    return buf.getvalue(), r.plan


def _credited(data: MapData) -> list[tuple[str, str]]:
    """Which sources the map credits (without their dates, which the drawing may learn)."""
    return [(cr.source, cr.credit) for cr in map_credits(data)]


def _draw(data: MapData, opts: PaperOptions) -> tuple[Renderer, Any, io.BytesIO]:
    """Lay out and draw every page on a new canvas (not saved yet: the author line comes last)."""
    r = Renderer(data, opts)
    buf = io.BytesIO()
    c = rl_canvas.Canvas(
        buf,
        pagesize=(r.pw, r.ph),
        initialFontName=register(data.language),
        initialFontSize=8,
        pageCompression=1,
        invariant=1,  # no clock in /ID and dates: a rebuild gives the same bytes
    )
    c.setTitle(data.spec.title)
    c.setSubject(data.spec.subtitle)
    c.setCreator("civicmap")
    if opts.atlas:
        if opts.atlas.areas:
            draw_area_atlas(r, c)
        else:
            draw_atlas(r, c)
    else:
        draw_single(r, c)
    c.showPage()
    return r, c, buf


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
