"""Alt text for notebook figures: MyST-NB copies only width/height from an image output's metadata,
so this extension also copies ``alt`` (convviz's figures put what they show there, see
``ConvFigure.alt_text``). Without it the <img> of every figure gets its file path as alt text."""
from __future__ import annotations


def setup(app):
    from myst_nb.core.render import NbElementRenderer

    original = NbElementRenderer.render_image
    if getattr(original, "_convviz_alt", False):
        return {"parallel_read_safe": True}

    def render_image(self, data):
        nodes = original(self, data)
        alt = (data.output_metadata or {}).get(data.mime_type, {}).get("alt")
        if alt:
            for node in nodes:
                if "alt" not in node:
                    node["alt"] = str(alt)
        return nodes

    render_image._convviz_alt = True
    NbElementRenderer.render_image = render_image
    return {"parallel_read_safe": True, "parallel_write_safe": True}
