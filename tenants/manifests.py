"""Rendered manifests on disk: the export for Argo CD / Flux and the deployed snapshot.

A manifest directory holds one folder per unit (tenants.units: `pool.<name>` for a pool's
objects, `<tenant>` for a tenant's), one YAML file per object, a kustomization.yaml in each
folder listing its files, and one at the top listing the folders, pools first: `kubectl
apply -k DIR` or a Flux Kustomization on DIR applies the whole platform in an order that
applies cleanly. Where the registry declares clusters, `clusters/<cluster>/kustomization.yaml`
lists the folders of that cluster alone, in the same order: point each cluster's Flux
Kustomization (or Argo CD Application) there. The top then lists only the folders of the
pools that declare no cluster (the kubeconfig's own), so applying it never puts one
cluster's objects on another. (No unit folder can be named `clusters`: tenant names carry
their department's prefix and a dash.) Writes are atomic: the new tree is built beside the
old one and swapped in, so a reader (or a crash) never sees half a render.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import shutil
from collections.abc import Iterable, Mapping, Sequence

import yaml

from citycloud.tenants import errors, files, render, units
from citycloud.tenants.platform import IMPLICIT_CLUSTER

MARKER = ".citycloud-manifests"  # marks a directory as ours, so we never replace a stranger's
_MARKER_HEADER = "# written by citycloud render, with the files below; replaced on every render\n"
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestDirError(errors.InputError):
    pass


def to_yaml(manifest: render.Manifest) -> str:
    return yaml.dump(manifest, Dumper=_Dumper, sort_keys=True, allow_unicode=True)


def file_name(manifest: render.Manifest) -> str:
    _, kind, namespace, name = render.key(manifest)
    return f"{kind.lower()}-{namespace + '-' if namespace else ''}{name}.yaml"


KUSTOMIZATION = "kustomization.yaml"
CLUSTERS_DIR = "clusters"


def _kustomization(resources: list[str]) -> str:
    document = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "resources": resources}
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False)


def write(directory: pathlib.Path, manifests: Iterable[render.Manifest]) -> int:
    """Replace `directory` with exactly these manifests (and their kustomizations); return
    how many manifests were written."""
    directory = directory.absolute()
    _check_replaceable(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    # Not mkdtemp: its private mode would stick to the result. mkdir honours the umask.
    staging = directory.with_name(f".{directory.name}-new-{os.getpid()}-{secrets.token_hex(4)}")
    staging.mkdir()
    folders: dict[str, list[str]] = {}  # in the order of the manifests: pools first
    try:
        for manifest in manifests:
            folder, name = units.folder_of(manifest), file_name(manifest)
            (staging / folder).mkdir(exist_ok=True)
            (staging / folder / name).write_text(to_yaml(manifest), encoding="utf-8")
            folders.setdefault(folder, []).append(name)
        for folder, names in folders.items():
            (staging / folder / KUSTOMIZATION).write_text(_kustomization(names))
        for path, text in _index(folders).items():
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            (staging / path).write_text(text)
        if directory.exists():
            staging.chmod(directory.stat().st_mode & 0o7777)
        _swap(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sum(len(names) for names in folders.values())


def update(directory: pathlib.Path, changed: Mapping[str, Sequence[render.Manifest]], *,
           removed: Iterable[str] = ()) -> list[str]:
    """Replace only the unit folders named in `changed` (and delete those in `removed`) of a
    directory `write` made; return the folders that changed.

    The cost is the size of the change, not of the directory: a folder whose files would
    come out the same is not touched, every other folder is neither read nor written, and
    the top kustomization and the marker are rewritten only where the folders or their
    files changed. Each folder is swapped in whole (built beside the directory), so a reader
    sees a unit before or after, never half of one. A directory that does not exist yet is
    written with these units.
    """
    directory = directory.absolute()
    if not (directory / MARKER).is_file():
        ordered = sorted(changed, key=units.apply_order)
        write(directory, [m for folder in ordered for m in changed[folder]])
        return [folder for folder in ordered if changed[folder]]
    folders = _listed(directory)
    done = []
    for folder in removed:
        if folder not in changed and folder in folders:
            shutil.rmtree(directory / folder, ignore_errors=True)
            del folders[folder]
            done.append(folder)
    for folder, manifests in changed.items():
        texts = {file_name(m): to_yaml(m) for m in manifests}
        if not texts:
            if folders.pop(folder, None) is not None:
                shutil.rmtree(directory / folder, ignore_errors=True)
                done.append(folder)
            continue
        texts[KUSTOMIZATION] = _kustomization([n for n in texts if n != KUSTOMIZATION])
        if folder in folders and _holds(directory / folder, texts):
            continue
        _replace_folder(directory, folder, texts)
        folders[folder] = [n for n in texts if n != KUSTOMIZATION]
        done.append(folder)
    if done:
        _update_index(directory, {f: folders[f] for f in sorted(folders, key=units.apply_order)})
    return done


def _update_index(directory: pathlib.Path, folders: Mapping[str, list[str]]) -> None:
    """Rewrite the index files that differ, the marker last (it lists what is ours), and
    delete the cluster kustomizations of clusters no folder is on any more."""
    index = _index(folders)
    for name, text in index.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            files.write_atomic(path, text)
    for stale in (directory / CLUSTERS_DIR).glob(f"*/{KUSTOMIZATION}"):
        if stale.relative_to(directory).as_posix() not in index:
            shutil.rmtree(stale.parent, ignore_errors=True)


def _index(folders: Mapping[str, list[str]]) -> dict[str, str]:
    """The files that index the folders (in order), by path: the top kustomization, one per
    declared cluster, and last the marker, which lists every file written: a later render
    replaces those, and nothing else."""
    on: dict[str, list[str]] = {}
    for folder in folders:
        cluster = units.split(folder.removeprefix(units.POOL_FOLDER_PREFIX))[1]
        on.setdefault(cluster, []).append(f"../../{folder}" if cluster else folder)
    index = {KUSTOMIZATION: _kustomization(on.pop(IMPLICIT_CLUSTER, []))}
    index |= {f"{CLUSTERS_DIR}/{cluster}/{KUSTOMIZATION}": _kustomization(listed)
              for cluster, listed in sorted(on.items())}
    written = [f"{folder}/{name}" for folder, names in folders.items() for name in names]
    written += [f"{folder}/{KUSTOMIZATION}" for folder in folders] + list(index)
    return index | {MARKER: _MARKER_HEADER + "".join(f"{r}\n" for r in written)}


def _listed(directory: pathlib.Path) -> dict[str, list[str]]:
    """Folder -> its object files, as the marker of a directory `write` made lists them."""
    folders: dict[str, list[str]] = {}
    for line in (directory / MARKER).read_text(encoding="utf-8").splitlines()[1:]:
        folder, slash, name = line.partition("/")
        if slash and name != KUSTOMIZATION and folder != CLUSTERS_DIR:
            folders.setdefault(folder, []).append(name)
    return folders


def _holds(folder: pathlib.Path, texts: Mapping[str, str]) -> bool:
    try:
        if {p.name for p in folder.iterdir()} != set(texts):
            return False
        return all((folder / name).read_text(encoding="utf-8") == text
                   for name, text in texts.items())
    except (OSError, UnicodeError):
        return False  # unreadable: rewrite it


def _replace_folder(directory: pathlib.Path, folder: str, texts: Mapping[str, str]) -> None:
    # Built beside the directory, not in it: a crash must not leave a folder readers take
    # for a unit.
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    staging = directory.with_name(f".{directory.name}.{folder}-new-{token}")
    staging.mkdir()
    try:
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        target = directory / folder
        if target.exists():
            old = directory.with_name(f".{directory.name}.{folder}-old-{token}")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _check_replaceable(directory: pathlib.Path) -> None:
    """Refuse to replace a directory holding anything an earlier write did not put there."""
    if not directory.exists() or not any(directory.iterdir()):
        return
    if not (directory / MARKER).is_file():
        raise ManifestDirError(
            f"{directory} is not empty and was not written by citycloud; "
            "choose an empty or new directory")
    ours = set((directory / MARKER).read_text(encoding="utf-8").splitlines()[1:])
    folders = {p.as_posix() for r in ours for p in pathlib.PurePosixPath(r).parents}
    found = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))
    foreign = [f for f in found if f != MARKER and f not in ours and f not in folders]
    if foreign:
        raise ManifestDirError(
            f"{directory} holds files citycloud render did not write "
            f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}), which replacing "
            "it would delete; move them elsewhere or render to another directory")


def _swap(staging: pathlib.Path, directory: pathlib.Path) -> None:
    if not directory.exists():
        os.replace(staging, directory)
        return
    old = directory.with_name(f".{directory.name}-old-{os.getpid()}")
    os.replace(directory, old)
    os.replace(staging, directory)
    shutil.rmtree(old, ignore_errors=True)


def read(directory: pathlib.Path, *,
         folders: Iterable[str] | None = None) -> list[render.Manifest]:
    """The manifests of a directory written by `write` (only those of the unit `folders`
    named, if any are: one tenant's, without reading the city's); empty when it does not
    exist."""
    if not directory.is_dir():
        return []
    if not (directory / MARKER).exists():
        raise ManifestDirError(f"{directory} was not written by citycloud render")
    paths = (directory.glob("*/*.yaml") if folders is None else
             (p for folder in folders for p in (directory / folder).glob("*.yaml")))
    found = []
    for path in sorted(paths):
        if path.name == KUSTOMIZATION:
            continue
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
