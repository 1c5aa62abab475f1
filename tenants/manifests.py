"""Rendered manifests on disk: the export for Argo CD / Flux and the deployed snapshot.

A manifest directory holds one folder per tenant and one YAML file per object.
Writes are atomic: the new tree is built beside the old one and swapped in,
so a reader (or a crash) never sees half a render.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterable

import yaml

from tenants import render

MARKER = ".citycloud-manifests"  # marks a directory as ours, so we never replace a stranger's
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestDirError(Exception):
    pass


def to_yaml(manifest: render.Manifest) -> str:
    return yaml.dump(manifest, Dumper=_Dumper, sort_keys=True, allow_unicode=True)


def file_name(manifest: render.Manifest) -> str:
    _, kind, namespace, name = render.key(manifest)
    return f"{kind.lower()}-{namespace + '-' if namespace else ''}{name}.yaml"


def tenant_of(manifest: render.Manifest) -> str:
    return str(manifest["metadata"].get("labels", {}).get(render.LABEL_TENANT, "_platform"))


def write(directory: pathlib.Path, manifests: Iterable[render.Manifest]) -> int:
    """Replace `directory` with exactly these manifests; return how many were written."""
    directory = directory.absolute()
    if directory.exists() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise ManifestDirError(
            f"{directory} is not empty and was not written by citycloud; "
            "choose an empty or new directory")
    foreign = _not_ours(directory)
    if foreign:
        raise ManifestDirError(
            f"{directory} holds files citycloud render did not write ({', '.join(foreign)}), "
            "which replacing it would delete; move them elsewhere or render to another "
            "directory")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    count = 0
    try:
        # mkdtemp makes a private directory; the result gets the usual (or the old) mode.
        staging.chmod(directory.stat().st_mode if directory.exists() else _default_mode())
        (staging / MARKER).write_text("written by citycloud render; replaced on every render\n")
        for manifest in manifests:
            folder = staging / tenant_of(manifest)
            folder.mkdir(exist_ok=True)
            (folder / file_name(manifest)).write_text(to_yaml(manifest), encoding="utf-8")
            count += 1
        _swap(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def _not_ours(directory: pathlib.Path, *, most: int = 3) -> list[str]:
    """Up to `most` entries of a rendered directory that render would not have written."""
    if not (directory / MARKER).exists():
        return []
    found = []
    for entry in sorted(directory.iterdir()):
        if entry.name == MARKER:
            continue
        inside = list(entry.iterdir()) if entry.is_dir() and not entry.is_symlink() else None
        if inside is None or entry.name.startswith("."):  # e.g. a .git folder
            found.append(entry.name)
        else:
            found += [f"{entry.name}/{f.name}" for f in inside
                      if f.suffix != ".yaml" or not f.is_file() or f.is_symlink()]
    return found[:most]


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _swap(staging: pathlib.Path, directory: pathlib.Path) -> None:
    if not directory.exists():
        os.replace(staging, directory)
        return
    old = directory.with_name(f".{directory.name}-old-{os.getpid()}")
    os.replace(directory, old)
    os.replace(staging, directory)
    shutil.rmtree(old, ignore_errors=True)


def read(directory: pathlib.Path) -> list[render.Manifest]:
    """The manifests of a directory written by `write`; empty when it does not exist."""
    if not directory.is_dir():
        return []
    if not (directory / MARKER).exists():
        raise ManifestDirError(f"{directory} was not written by citycloud render")
    found = []
    for path in sorted(directory.glob("*/*.yaml")):
        try:
            manifest = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except yaml.MarkedYAMLError as err:
            line = err.problem_mark.line + 1 if err.problem_mark else 0
            raise ManifestDirError(f"{path}:{line}: not valid YAML ({err.problem}); "
                                   "render the directory again") from None
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise ManifestDirError(f"{path}: not readable YAML ({err})") from None
        if not isinstance(manifest, dict) or "metadata" not in manifest:
            raise ManifestDirError(f"{path} is not a Kubernetes manifest")
        found.append(manifest)
    return found
