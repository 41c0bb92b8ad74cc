"""HTML → text blocks, in one walk over lexbor's DOM (selectolax), with what each block's context says.

A *block* is the text between two block-level boundaries (``p``, ``div``, ``li``, headings, table rows, ``br``
runs stay inside a block as line breaks). Inline markup (``a``, ``b``, ``span``...) is concatenated exactly as
written, so ``<b>Grate</b>ful`` stays one word. A block boundary always separates texts; so do two inline texts
that meet at an element's edge as a lower-case letter and a capital (``<span class="rightmost">Grateful
Dead</span>Grateful Dead Live...``, a floated span that trafilatura glues into ``DeadGrateful``).

Tables: a cell (``td``/``th``) is not a boundary but adds a tab between the texts of one row, and a row starts
a new line of the table's block; block-level content inside a cell (paragraphs, lists, nested tables) makes
blocks of its own. So a data table comes out one line per row, while a layout table comes out as its
paragraphs, with no Markdown pipes at the ends of lines.

What is recorded per block (:class:`Block`) is what the classifier (:mod:`.features`) needs: lengths, link
text, the block's tag, the tags around it and the boilerplate / content words in the ``class`` / ``id`` /
``role`` of its ancestors (trafilatura's and jusText's signals), and the text and links of its container.
Nothing here looks at other documents: the same page always gives the same blocks.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from itertools import islice
from typing import List, Optional

# Boundaries: entering or leaving one ends the current block.
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "h1", "h2", "h3", "h4",
    "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "table", "caption",
    "blockquote", "pre", "figure", "figcaption", "form", "fieldset", "legend", "address", "hr", "details",
    "summary", "center", "body", "html", "menu", "dialog", "hgroup", "noframes",
})
CELL_TAGS = frozenset({"td", "th"})
# Between the cells of a table row: a tab, as text copied from a browser's table has (and as TSV); never a
# Markdown pipe, which made every line of a layout table end in "|".
CELL_SEPARATOR = "\t"
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

# Ancestor tags worth knowing about (bit per tag).
CONTEXT_TAGS = ("header", "footer", "nav", "aside", "article", "main", "form", "ul", "ol", "li", "table",
                "blockquote", "figure", "a", "dl", "section", "menu", "address", "pre", "strong")

# Words in class / id / role / itemprop, by what they usually mean (trafilatura's discard and body XPaths,
# jusText, boilerpipe). An attribute token (``entry-content``, ``sidebarLeft``) is cut into pieces at
# non-letters and case changes; a group matches when a piece contains one of its words, or equals one of its
# short words (``ad`` must not match ``header``).
CLASS_GROUPS = (
    ("nav", ("nav", "menu", "breadcrumb", "pager", "pagination", "skip", "tabs"), ("toc",)),
    ("footer", ("footer", "bottom", "copyright", "legal", "disclaimer", "imprint", "contentinfo"), ()),
    ("header", ("header", "masthead", "topbar", "logo", "banner", "branding"), ("top",)),
    ("side", ("sidebar", "widget", "aside", "rail", "complementary"), ("side", "right", "left")),
    ("comment", ("comment", "reply", "respond", "discussion", "disqus", "forum", "review"), ()),
    ("share", ("share", "social", "sharing", "follow", "facebook", "twitter", "print", "mail", "whatsapp"), ()),
    ("related", ("related", "recommend", "popular", "trending", "teaser", "latest", "recent", "similar",
                 "listing", "more"), ("also", "list", "item", "items")),
    ("meta", ("author", "byline", "date", "time", "meta", "info", "credit", "source", "categor", "keyword",
              "label", "rating"), ("tag", "tags")),
    ("ad", ("advert", "adsby", "sponsor", "promo", "adsense", "commercial", "marketing", "partner"),
     ("ad", "ads", "adv")),
    ("notice", ("cookie", "consent", "gdpr", "privacy", "newsletter", "subscri", "signup", "login", "register",
                "modal", "popup", "overlay", "alert", "notice", "paywall", "search"), ()),
    ("hidden", ("hidden", "hide", "invisible", "offscreen"), ("sr", "only")),
    ("media", ("caption", "photo", "image", "gallery", "slide", "video", "figure", "thumb", "carousel"), ("img",)),
    ("content", ("content", "article", "entry", "post", "story", "text", "body", "main", "blog", "news",
                 "detail", "single", "prose", "rich"), ("page",)),
    ("title", ("title", "headline", "heading", "subtitle", "lead", "intro", "summary", "abstract",
               "description"), ()),
)
CLASS_GROUP_NAMES = tuple(group[0] for group in CLASS_GROUPS) + ("articlebody",)
# The main text's own container, recognised on the whole token without separators (``article-body``,
# ``entryContent``, itemprop ``articleBody``).
_ARTICLE_BODY = re.compile("articlebody|articlecontent|articletext|entrycontent|entrybody|postcontent|postbody|"
                           "postentry|storybody|storycontent|storytext|maincontent|bodytext|fieldbody|textcontent")
_ARTICLE_BODY_BIT = 1 << len(CLASS_GROUPS)
_GROUP_PATTERNS = tuple(re.compile("|".join(re.escape(word) for word in words))
                        for _name, words, _exact in CLASS_GROUPS)
_EXACT_BITS: dict = {}
for _bit, (_name, _words, _exact) in enumerate(CLASS_GROUPS):
    for _word in _exact:
        _EXACT_BITS[_word] = _EXACT_BITS.get(_word, 0) | 1 << _bit
_PIECES = re.compile(r"[A-Z]*[a-z]+|[A-Z]+")
_MEMO_LIMIT = 200_000  # memos of pure functions: they change no result, only the time
_PIECE_BITS: dict = {}
_TOKEN_BITS: dict = {}
_ATTRIBUTE_BITS: dict = {}


def _piece_bits(piece: str) -> int:
    bits = _EXACT_BITS.get(piece, 0)
    for i, pattern in enumerate(_GROUP_PATTERNS):
        if pattern.search(piece):
            bits |= 1 << i
    if len(_PIECE_BITS) < _MEMO_LIMIT:
        _PIECE_BITS[piece] = bits
    return bits


def _token_bits(token: str) -> int:
    pieces = [piece.lower() for piece in _PIECES.findall(token)]
    bits = 0
    memo = _PIECE_BITS
    for piece in pieces:
        piece_bits = memo.get(piece)
        bits |= _piece_bits(piece) if piece_bits is None else piece_bits
    if len(pieces) > 1 and _ARTICLE_BODY.search("".join(pieces)):
        bits |= _ARTICLE_BODY_BIT
    elif len(pieces) == 1 and _ARTICLE_BODY.search(pieces[0]):
        bits |= _ARTICLE_BODY_BIT
    if len(_TOKEN_BITS) < _MEMO_LIMIT:
        _TOKEN_BITS[token] = bits
    return bits


def class_bits(attribute_text: str) -> int:
    """The bits of CLASS_GROUP_NAMES that one element's class / id / role / itemprop text sets."""
    bits = 0
    memo = _TOKEN_BITS
    for token in attribute_text.split():
        token_bits = memo.get(token)
        bits |= _token_bits(token) if token_bits is None else token_bits
    return bits


def _tag_ids(names) -> dict:
    """lexbor's numeric tag ids of these tag names (cheaper to compare than names in the walk). Table parts are
    looked up inside a table: the HTML parser drops a stray ``<tr>`` or ``<td>``."""
    from selectolax.lexbor import LexborHTMLParser

    ids = {}
    for name in names:
        for snippet in (f"<{name}></{name}>", f"<table><{name}></{name}></table>",
                        f"<table><tr><{name}></{name}></tr></table>"):
            tree = LexborHTMLParser(f"<html><body>{snippet}</body></html>")
            found = next((node.tag_id for node in tree.root.traverse() if node.tag == name), None)
            if found is not None:
                ids[found] = name
                break
        else:
            raise RuntimeError(f"lexbor has no tag id for <{name}>")
    return ids


STRIPPED = ("script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas",
            "video", "audio", "map", "select", "textarea", "button", "input", "head")
_BLOCK_IDS = _tag_ids(BLOCK_TAGS)
_CELL_IDS = frozenset(_tag_ids(CELL_TAGS))
_SKIPPED_IDS = frozenset(_tag_ids(STRIPPED))
_NAMED = _tag_ids(set(CONTEXT_TAGS) | {"br", "a", "title", "option", "tr"})
_ID = {name: tag_id for tag_id, name in _NAMED.items()}
_CONTEXT_BIT = {_ID[tag]: 1 << i for i, tag in enumerate(CONTEXT_TAGS)}
_TEXT, _COMMENT, _BR, _A, _TR = 2, 4, _ID["br"], _ID["a"], _ID["tr"]


@dataclass
class Page:
    """Blocks as parallel lists (one entry per block), plus page facts."""

    texts: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    # per block: chars, link_chars, links, cells, depth, context_tags, own_bits, bits, near_bits, start
    numbers: List[tuple] = field(default_factory=list)
    containers: List[int] = field(default_factory=list)    # per block: its element's entry in ``regions``
    # per block element (a region), its subtree: [chars, link_chars, blocks, parent region (-1 for the body),
    # index of its first block]; a subtree's blocks are consecutive, so a region is a range of block indices
    regions: List[list] = field(default_factory=list)
    title: str = ""
    elements: int = 0


def _clean_line(line: str) -> str:
    """Whitespace collapsed within each table cell of a line; cells kept apart by CELL_SEPARATOR."""
    if CELL_SEPARATOR not in line:
        return " ".join(line.split())
    cells = (" ".join(cell.split()) for cell in line.split(CELL_SEPARATOR))
    return CELL_SEPARATOR.join(cell for cell in cells if cell)


def _lines_text(raw: str) -> str:
    """A block with line breaks or table cells: its lines, each cleaned, empty ones left out."""
    return "\n".join(line for line in (_clean_line(piece) for piece in raw.split("\n")) if line)


def _style_hides(style: str) -> bool:
    compact = style.replace(" ", "").lower()
    return "display:none" in compact or "visibility:hidden" in compact


def _hidden(attributes: dict) -> bool:
    if "hidden" in attributes:
        return True
    style = attributes.get("style")
    if style and "none" in style and _style_hides(style):
        return True
    return attributes.get("aria-hidden") == "true"


def _load_compiled_walk():
    """The compiled walk (``native/lexbor_walk``, built by ``make setup``) when it is installed and was built for
    the installed selectolax; else None, and :func:`page_blocks` walks in Python (the same blocks, slower)."""
    try:
        import lexbor_walk
    except ImportError:
        return None
    import selectolax

    if lexbor_walk.SELECTOLAX_VERSION != selectolax.__version__:
        warnings.warn(f"lexbor_walk was built for selectolax {lexbor_walk.SELECTOLAX_VERSION}, selectolax "
                      f"{selectolax.__version__} is installed: the fast engine walks in Python (run make setup)")
        return None
    lexbor_walk.configure(_BLOCK_IDS, dict.fromkeys(_CELL_IDS, 1), dict.fromkeys(_SKIPPED_IDS, 1), _CONTEXT_BIT,
                          _BR, _A, _TR, class_bits, _style_hides, _lines_text, _ATTRIBUTE_BITS, _MEMO_LIMIT,
                          CELL_SEPARATOR)
    return lexbor_walk.walk


def page_blocks(tree, max_elements: int, compiled: bool = True) -> Optional[Page]:
    """The blocks of a parsed page (selectolax ``LexborHTMLParser``); None if the page has more elements than
    ``max_elements``. Elements in STRIPPED are passed over with everything inside them. The walk is compiled
    where ``lexbor_walk`` is installed (``compiled=False``: the Python walk, the reference it is tested against)."""
    page = Page()
    title_node = tree.css_first("title")
    if title_node is not None:
        page.title = " ".join((title_node.text() or "").split())
    body = tree.body
    if body is None:
        return page
    if compiled and COMPILED_WALK is not None:
        # The walk reads lexbor's nodes through the body's address; ``tree`` keeps them alive meanwhile.
        walked = COMPILED_WALK(body.mem_id, max_elements)
        if walked is None:
            return None
        page.texts, page.tags, page.numbers, page.containers, page.regions, page.elements = walked
        return page
    return _walk(body, page, max_elements)


def _walk(body, page: Page, max_elements: int) -> Optional[Page]:
    """The walk in Python: one pass over the body's nodes, gathering inline text until a block boundary."""
    texts, tags, numbers, containers = page.texts, page.tags, page.numbers, page.containers
    block_ids, cell_ids, context_bit, attribute_memo = _BLOCK_IDS, _CELL_IDS, _CONTEXT_BIT, _ATTRIBUTE_BITS
    skipped_ids = _SKIPPED_IDS
    regions = page.regions
    regions.append([0, 0, 0, -1, 0])
    # frame: (block tag name, is block, context bits, class bits, near bits (own, parent, grandparent),
    #         container, inside a link)
    frames = [("body", True, 0, 0, (0, 0, 0), 0, False)]
    resume = []  # per open element: the sibling to visit after it
    node = body.child
    parts: List[str] = []
    link_chars = links = cells = 0
    has_break = False
    seam = False  # the next text starts at an inline element's edge
    has_text, checked = False, 0  # parts holds non-whitespace text; parts[:checked] were looked at
    chars_before = 0
    elements = 0

    while True:
        if node is None:
            exiting = True
            if not resume:
                # The body itself ends: its own text is the last block.
                boundary_frame = frames[0]
                depth = 1
            else:
                node = resume.pop()
                frame = frames.pop()
                if not frame[1]:
                    seam = True
                    continue
                boundary_frame = frame
                depth = len(frames) + 1
        else:
            tag_id = node.tag_id
            if tag_id == _TEXT:
                text = node.text_content
                if text:
                    if seam and parts and text[0].isupper() and parts[-1][-1:].islower():
                        # "<span>Grateful Dead</span>Grateful Dead Live...": two texts that meet at an element
                        # edge as lower case + capital were laid out apart (floats, table-like spans); a word
                        # split by markup (<b>Grate</b>ful) does not meet that way.
                        parts.append(" ")
                    seam = False
                    parts.append(text)
                    if frames[-1][6]:
                        link_chars += len(text)
                node = node.next
                continue
            if tag_id == _COMMENT or tag_id in skipped_ids:
                node = node.next
                continue
            if tag_id == _BR:
                parts.append("\n")
                has_break = True
                node = node.next
                continue
            elements += 1
            if elements > max_elements:
                return None
            own_bits = 0
            name = block_ids.get(tag_id)
            if name is not None or tag_id == _A:
                # Inline elements other than links are taken as they are: their class and style seldom decide
                # what a block is, and reading them is most of the walk's cost.
                attributes = node.attributes
                if attributes:
                    if ("style" in attributes or "hidden" in attributes or "aria-hidden" in attributes) and _hidden(
                            attributes):
                        node = node.next
                        continue
                    get = attributes.get
                    attribute_text = (f"{get('class') or ''} {get('id') or ''} {get('role') or ''} "
                                      f"{get('itemprop') or ''}")
                    if len(attribute_text) > 3:
                        own_bits = attribute_memo.get(attribute_text)
                        if own_bits is None:
                            own_bits = class_bits(attribute_text)
                            if len(attribute_memo) < _MEMO_LIMIT:
                                attribute_memo[attribute_text] = own_bits
            parent = frames[-1]
            link = parent[6]
            if tag_id == _A:
                if not link:
                    links += 1
                link = True
            elif tag_id in cell_ids:
                if parts and not parts[-1].endswith("\n"):
                    # A separator only after some text of this block. Each part is looked at once (a row of a
                    # few thousand cells must not join the block's parts once per cell).
                    if not has_text:
                        has_text = any(not part.isspace() for part in islice(parts, checked, None))
                        checked = len(parts)
                    if has_text:
                        parts.append(CELL_SEPARATOR)
                cells += 1
            elif tag_id == _TR:
                parts.append("\n")
                has_break = True
            near = parent[4]
            if name is None:
                seam = True
                frames.append((parent[0], False, parent[2] | context_bit.get(tag_id, 0), parent[3] | own_bits,
                               (own_bits | near[0], near[1], near[2]), parent[5], link))
                resume.append(node.next)
                node = node.child
                continue
            frames.append((name, True, parent[2] | context_bit.get(tag_id, 0), parent[3] | own_bits,
                           (own_bits, near[0], near[1]), len(regions), link))
            regions.append([0, 0, 0, parent[5], len(texts)])
            resume.append(node.next)
            node = node.child
            boundary_frame = parent
            depth = len(frames) - 1
            exiting = False
        # A boundary: the text gathered so far is one block of boundary_frame.
        if parts:
            raw = "".join(parts)
            parts.clear()
            has_text, checked = False, 0
            if has_break or cells:
                text = _lines_text(raw)
                has_break = False
            else:
                text = " ".join(raw.split())

            if text:
                chars = len(text)
                raw_chars = len(raw) or 1
                link_part = chars if link_chars >= raw_chars else chars * link_chars // raw_chars
                near = boundary_frame[4]
                region = boundary_frame[5]
                texts.append(text)
                tags.append(boundary_frame[0])
                numbers.append((chars, link_part, links, cells, depth, boundary_frame[2], near[0],
                                boundary_frame[3], near[0] | near[1] | near[2], chars_before))
                containers.append(region)
                chars_before += chars
                totals = regions[region]
                totals[0] += chars
                totals[1] += link_part
                totals[2] += 1
            link_chars = links = cells = 0
        if exiting:
            # The block element is finished: its totals belong to the region around it too.
            totals = regions[boundary_frame[5]]
            if totals[3] >= 0:
                outer = regions[totals[3]]
                outer[0] += totals[0]
                outer[1] += totals[1]
                outer[2] += totals[2]
            if boundary_frame is frames[0] and not resume and node is None:
                break
    page.elements = elements
    return page


COMPILED_WALK = _load_compiled_walk()
