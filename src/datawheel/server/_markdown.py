"""Guidelines in Markdown, rendered safely: raw HTML is escaped, unsafe links are refused."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """HTML for ``text`` (CommonMark and tables); HTML in the text shows as text.

    Example:
        >>> print(render_markdown("**spam** is <script>x</script> [bad](javascript:alert(1))"))
        <p><strong>spam</strong> is &lt;script&gt;x&lt;/script&gt; [bad](javascript:alert(1))</p>
        <BLANKLINE>
    """
    return Markup(_MARKDOWN.render(text))
