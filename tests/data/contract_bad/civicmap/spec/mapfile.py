"""Wrong on purpose: spec imports a renderer."""

from civicmap.render import web

OPTIONS = web.PAGE
