"""Source fingerprints for code-aware reruns: the hash of the package code one verb runs.

Snakemake's ``code`` trigger sees only a rule's own ``run:``/``script:`` code, not the package a
``shell:`` rule calls. Each rule therefore carries ``code=fingerprint(<verb module>)`` as a param,
so the ``params`` trigger reruns it (and what depends on it) when that code changes, and only then.

The fingerprint follows the definitions a verb uses, not whole modules: statically (``ast``, no
import, no torch), from every top-level definition of the verb module through the names each
definition refers to, across ``vlpeft`` imports (including imports inside functions). Editing the
prompt format in ``vlpeft/tasks.py`` thus changes the fingerprint of train and evaluate, which use
it, but not that of the demo world, which reads only the task names. Where a name cannot be
followed statically (a package's lazy ``__getattr__``), the whole package counts. Third-party code
is pinned by envs/requirements.txt and not hashed; the dispatcher ``vlpeft/cli.py`` is not hashed.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PACKAGE = "vlpeft"
SRC = Path(__file__).resolve().parent.parent  # the folder holding the vlpeft package


@dataclass
class _Module:
    name: str
    path: Path
    is_package: bool
    source: str
    lines: list[str] = field(default_factory=list)
    defs: dict[str, list[ast.stmt]] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # bound name -> (module, attr)
    preamble: list[ast.stmt] = field(default_factory=list)


def _module_path(name: str) -> tuple[Path, bool] | None:
    base = SRC.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py", True
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py"), False
    return None


def _absolute(module: _Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.name.split(".")
    base = parts if module.is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _bind_imports(module: _Module, node: ast.stmt, into: dict[str, tuple[str, str | None]]) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == PACKAGE:
                into[alias.asname or alias.name.split(".")[0]] = (alias.name if alias.asname else PACKAGE, None)
                if not alias.asname:
                    into[f"__import__{alias.name}"] = (alias.name, None)
    elif isinstance(node, ast.ImportFrom):
        target = _absolute(module, node)
        if target.split(".")[0] != PACKAGE:
            return
        for alias in node.names:
            into[alias.asname or alias.name] = (target, alias.name)


@cache
def _load(name: str) -> _Module | None:
    found = _module_path(name)
    if found is None:
        return None
    path, is_package = found
    source = path.read_text(encoding="utf-8")
    module = _Module(name, path, is_package, source, source.splitlines())
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            module.defs.setdefault(node.name, []).append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            for n in names:
                module.defs.setdefault(n, []).append(node)
            if not names:
                module.preamble.append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            _bind_imports(module, node, module.imports)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        else:
            module.preamble.append(node)
    return module


_REFS: dict[tuple[str, int], tuple[list, list, list]] = {}


def _refs(module: _Module, node: ast.stmt) -> tuple[list, list, list]:
    """What a statement refers to: vlpeft imports inside it, names, and imported modules used as
    ``module.attr`` (computed once per statement)."""
    key = (module.name, id(node))
    if key not in _REFS:
        local: dict[str, tuple[str, str | None]] = {}
        names: dict[str, None] = {}
        modules: dict[str, None] = {}
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                _bind_imports(module, sub, local)
            elif isinstance(sub, ast.Name):
                names[sub.id] = None
            elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                bound = module.imports.get(sub.value.id)
                if bound is not None and bound[1] is None:  # module.attr of an imported module
                    modules[bound[0]] = None
        _REFS[key] = (list(local.values()), list(names), list(modules))
    return _REFS[key]


class _Closure:
    def __init__(self) -> None:
        self.parts: dict[tuple[str, int], str] = {}
        self.done: set[tuple[str, str | None]] = set()

    def add_statements(self, module: _Module, nodes: list[ast.stmt]) -> None:
        for node in nodes:
            key = (module.name, node.lineno)
            if key in self.parts:
                continue
            self.parts[key] = "\n".join(module.lines[node.lineno - 1 : node.end_lineno])
            self._follow(module, node)

    def _follow(self, module: _Module, node: ast.stmt) -> None:
        targets, names, modules = _refs(module, node)
        for target in targets:
            self.need(*target)
        for name in names:
            self.name(module, name)
        for name in modules:
            self.need(name, None)

    def name(self, module: _Module, name: str) -> None:
        if name in module.defs:
            self.need(module.name, name)
        elif name in module.imports:
            self.need(*module.imports[name])

    def need(self, module_name: str, attr: str | None) -> None:
        """``attr`` of ``module_name`` (``None``: the whole module)."""
        if (module_name, attr) in self.done:
            return
        self.done.add((module_name, attr))
        module = _load(module_name)
        if module is None:
            return
        parts = module_name.split(".")
        for i in range(1, len(parts)):  # importing a module runs its packages' __init__
            parent = _load(".".join(parts[:i]))
            if parent is not None:
                self.add_statements(parent, parent.preamble)
        self.add_statements(module, module.preamble)
        if attr is None:
            for nodes in module.defs.values():
                self.add_statements(module, nodes)
            for target in module.imports.values():
                self.need(*target)
        elif attr in module.defs:
            self.add_statements(module, module.defs[attr])
        elif attr in module.imports:
            self.need(*module.imports[attr])
        elif _module_path(f"{module_name}.{attr}") is not None:
            self.need(f"{module_name}.{attr}", None)
        elif module.is_package:  # a lazy export (__getattr__): every module of the package
            for path in sorted(module.path.parent.rglob("*.py")):
                rel = path.relative_to(SRC).with_suffix("")
                name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
                self.need(name, None)


def fingerprint(*modules: str) -> str:
    """A short hash of the code ``modules`` (dotted names, e.g. ``vlpeft.train.cli``) use."""
    closure = _Closure()
    for name in modules:
        if _load(name) is None:
            raise ValueError(f"fingerprint: no module {name!r} under {SRC}")
        closure.need(name, None)
    digest = hashlib.sha256()
    for module, text in sorted((m, t) for (m, _), t in closure.parts.items()):  # line numbers do not count
        digest.update(f"{module}\n{text}\n\0".encode())
    return digest.hexdigest()[:16]


def modules_of(*modules: str) -> list[str]:
    """The modules whose code the fingerprint of ``modules`` covers (for tests and debugging)."""
    closure = _Closure()
    for name in modules:
        closure.need(name, None)
    return sorted({m for m, _ in closure.parts})
