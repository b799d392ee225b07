"""griffe extension for the API pages: how they read the package's numpydoc docstrings (the docstrings are not changed).

1. Sphinx roles become links where their target is on the site. The docstrings cite names the Sphinx way
   (``:class:`~e2llm_lab.models.model.E2LLM```, ``:func:`evaluate_all```, ``:mod:`.cli```), which Markdown would
   show verbatim. Each becomes an *optional* mkdocs-autorefs cross-reference to the name's full path (relative and
   bare names resolved where the docstring lives): a link where that object is rendered on an API page, plain code
   where it is not, never a warning. So the strict build fails on the docs' own broken links, not on a docstring
   naming a private helper.
2. A constant documented by ``#:`` comment lines above it (the Sphinx way, which griffe does not read) gets them as
   its docstring, so it is listed on its module's page.
3. Two reStructuredText forms read as Markdown: a literal block's ``Layout::`` loses one colon (the indented block
   after it is already a code block), and a simple table (``====  ====`` borders) is shown as a code block, so its
   ``<subject>`` placeholders are not taken for HTML tags.
4. ``quiet`` (mkdocs.yml) lists objects whose docstring griffe cannot parse as numpydoc: their parse warnings are
   silenced so the strict build passes, and mkdocs.yml says what to fix. Every other docstring that drifts from its
   signature (a documented parameter that does not exist, a parameter without a type) still fails the build.
"""
from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|obj|exc|const):`(~?)([\w.]+)(?:\(\))?`")
LITERAL = re.compile(r"(?<=\S)::$(?=\n\n    )", re.M)
BORDER = re.compile(r"^=+(?: +=+)+$")


def _rst_tables(text: str) -> str:
    """Each reStructuredText simple table (three border lines: top, under the header, bottom) as a code block."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        borders = [j for j in range(i, len(lines)) if BORDER.match(lines[j])][:3] if BORDER.match(lines[i]) else []
        if len(borders) == 3:
            out += ["", *(f"    {line}" for line in lines[i:borders[2] + 1]), ""]
            i = borders[2] + 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def _definer(name: str, package: griffe.Module) -> str | None:
    """The one module under ``package`` (recursively) that defines ``name`` itself, not by import; else None."""
    found, todo = [], [package]
    while todo:
        module = todo.pop()
        if name in module.members and not module.members[name].is_alias:
            found.append(f"{module.path}.{name}")
        todo.extend(module.modules.values())
    return found[0] if len(found) == 1 else None


def _full(path: str, root: griffe.Module) -> str:
    """``path`` as it is defined: a name reached through a lazy re-export (PEP 562) goes to its defining module."""
    parts = path.split(".")
    if parts[0] != root.path:
        return path
    obj = root
    for i, part in enumerate(parts[1:], start=1):
        if part in obj.members:
            obj = obj.members[part]
            if obj.is_alias:
                try:
                    obj = obj.final_target
                except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                    return path                                # outside the package (torch, ...)
            continue
        found = _definer(part, obj) if obj.is_module else None
        return ".".join([found, *parts[i + 1:]]) if found else ".".join([obj.path, *parts[i:]])
    return obj.path


def _resolve(name: str, obj: griffe.Object) -> str:
    """The full path of ``name`` as written in ``obj``'s docstring (relative, bare or already full)."""
    root = obj.package
    if name.startswith("."):                                  # relative, as in an import: "." is the package
        dots = len(name) - len(name.lstrip("."))
        base = obj.module if obj.module.is_init_module else obj.module.parent
        for _ in range(dots - 1):
            base = base.parent or base
        rest = name.lstrip(".")
        return _full(f"{base.path}.{rest}" if rest else base.path, root)
    head, _, tail = name.partition(".")
    if head == root.path:
        return _full(name, root)
    scope: griffe.Object | None = obj if obj.is_class or obj.is_module else obj.parent
    while scope is not None:                                  # the class, then its module, up to the package
        if head in scope.members:
            return _full(f"{scope.path}.{name}", root)
        scope = scope.parent
    found = _definer(head, root)                              # a name the docstring's module does not import
    return _full(f"{found}.{tail}" if tail else found, root) if found else name


def _link(obj: griffe.Object):
    def link(match: re.Match) -> str:
        short, name = match.group(1), match.group(2)
        title = name.rsplit(".", 1)[-1] if short else name.lstrip(".")
        return f'<autoref identifier="{_resolve(name, obj)}" optional>`{title}`</autoref>'

    return link


class ApiDocstrings(griffe.Extension):
    def __init__(self, quiet: list[str] | None = None) -> None:
        super().__init__()
        self.quiet = set(quiet or ())

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs) -> None:
        self.loader = loader
        self._visit(pkg)

    def _comment_docstring(self, attr: griffe.Object) -> griffe.Docstring | None:
        """The ``#:`` lines right above an attribute, as its docstring."""
        lines, i, comment = attr.module.lines, attr.lineno - 2, []
        while i >= 0 and lines[i].strip().startswith("#:"):
            comment.insert(0, lines[i].strip()[2:].strip())
            i -= 1
        if not comment:
            return None
        return griffe.Docstring("\n".join(comment), lineno=i + 2, endlineno=attr.lineno - 1, parent=attr,
                                parser=self.loader.docstring_parser, parser_options=self.loader.docstring_options)

    def _visit(self, obj: griffe.Object) -> None:
        if obj.is_attribute and obj.docstring is None and obj.lineno:
            obj.docstring = self._comment_docstring(obj)
        if obj.docstring is not None:
            value = _rst_tables(LITERAL.sub(":", obj.docstring.value))
            obj.docstring.value = ROLE.sub(_link(obj), value)
            if obj.path in self.quiet:
                obj.docstring.parser_options = {**(obj.docstring.parser_options or {}), "warnings": False}
        for member in obj.members.values():
            if not member.is_alias:
                self._visit(member)
