"""Wrong on purpose: mapdata imports a renderer."""

from civicmap.render import web

PAGE = web.PAGE
