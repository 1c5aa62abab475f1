"""Manifest directories changed unit by unit (tenants.manifests.update), as the deployed
snapshot is after every apply, onboarding and offboarding.

What a user relies on: after any sequence of updates the directory is exactly what one
`write` of the same units makes (byte for byte, so `kubectl apply -k`, `plan --deployed` and
a later `render` see the same thing), and a folder that did not change is not written at
all (its files keep their inodes), so the cost follows the change, not the city.
"""

from __future__ import annotations

import pathlib

import pytest
import registries as r
import yaml

from citycloud.tenants import manifests, render, units
from citycloud.tenants.platform import Platform

NAMES = ("wh-gongan-video", "wh-weijian-his", "wh-zwfw-portal")


@pytest.fixture
def platform(tmp_path: pathlib.Path) -> Platform:
    return r.make(tmp_path / "registry", *(r.tenant(name) for name in NAMES))


def by_unit(platform: Platform) -> dict[str, list[render.Manifest]]:
    found: dict[str, list[render.Manifest]] = {}
    for manifest in units.render_all(platform):
        found.setdefault(units.folder_of(manifest), []).append(manifest)
    return found


def tree(directory: pathlib.Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(directory.rglob("*")) if p.is_file()}


def inodes(directory: pathlib.Path) -> dict[str, int]:
    return {p.relative_to(directory).as_posix(): p.stat().st_ino
            for p in directory.rglob("*") if p.is_file()}


def written_whole(tmp: pathlib.Path, units_: dict[str, list[render.Manifest]]) -> pathlib.Path:
    out = tmp / "whole"
    manifests.write(out, [m for folder in sorted(units_, key=units.apply_order)
                          for m in units_[folder]])
    return out


def test_units_added_one_by_one_make_what_one_write_makes(
        platform: Platform, tmp_path: pathlib.Path) -> None:
    every = by_unit(platform)
    out = tmp_path / "deployed"
    for folder in sorted(every, key=units.apply_order):
        assert manifests.update(out, {folder: every[folder]}) == [folder]
    assert tree(out) == tree(written_whole(tmp_path, every))
    assert manifests.read(out) == manifests.read(written_whole(tmp_path / "again", every))


def test_only_the_changed_folder_is_written(platform: Platform,
                                            tmp_path: pathlib.Path) -> None:
    every = by_unit(platform)
    out = tmp_path / "deployed"
    manifests.write(out, [m for ms in every.values() for m in ms])
    before = inodes(out)
    changed = [{**m, "metadata": {**m["metadata"], "annotations": {"x": "y"}}}
               for m in every["wh-weijian-his"]]

    assert manifests.update(out, {"wh-gongan-video": every["wh-gongan-video"],
                                  "wh-weijian-his": changed}) == ["wh-weijian-his"]

    after = inodes(out)
    moved = sorted(name for name in before if before[name] != after.get(name))
    assert moved and all(name.startswith("wh-weijian-his/") for name in moved), moved
    assert sorted(manifests.read(out, folders=["wh-weijian-his"]), key=render.key) == sorted(
        changed, key=render.key)
    assert manifests.update(out, {"wh-weijian-his": changed}) == []  # nothing left to do


def test_a_removed_unit_leaves_the_index_too(platform: Platform,
                                             tmp_path: pathlib.Path) -> None:
    every = by_unit(platform)
    out = tmp_path / "deployed"
    manifests.write(out, [m for ms in every.values() for m in ms])

    assert manifests.update(out, {}, removed=["wh-zwfw-portal", "never-there"]) == [
        "wh-zwfw-portal"]

    rest = {k: v for k, v in every.items() if k != "wh-zwfw-portal"}
    assert tree(out) == tree(written_whole(tmp_path, rest))


def test_a_folder_lost_by_hand_is_written_again(platform: Platform,
                                                tmp_path: pathlib.Path) -> None:
    every = by_unit(platform)
    out = tmp_path / "deployed"
    manifests.write(out, [m for ms in every.values() for m in ms])
    for path in (out / "wh-gongan-video").iterdir():
        path.unlink()

    assert manifests.update(out, {"wh-gongan-video": every["wh-gongan-video"]}) == [
        "wh-gongan-video"]
    assert tree(out) == tree(written_whole(tmp_path, every))


def test_a_stranger_directory_is_refused(platform: Platform, tmp_path: pathlib.Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(manifests.ManifestDirError, match="not written by citycloud"):
        manifests.update(tmp_path / "mine", by_unit(platform))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_each_clusters_kustomization_follows_its_folders(tmp_path: pathlib.Path) -> None:
    """Where clusters are declared, the index is one kustomization per cluster: it lists
    exactly that cluster's folders, pools first, and goes when the cluster's last folder
    goes; the top lists none of them, so applying it never crosses clusters."""
    gov = r.pool("gov")
    del gov["capacity"]
    platform = r.make(tmp_path / "registry", r.tenant("wh-a-east", clusters=["gov-east"]),
                      r.tenant("wh-a-dr", clusters=["gov-east", "gov-west"]),
                      platform=r.platform(gov, clusters=[r.cluster("gov-east", site="e"),
                                                         r.cluster("gov-west", site="w")]))
    every = by_unit(platform)
    out = tmp_path / "deployed"
    manifests.write(out, [m for ms in every.values() for m in ms])
    index = {name: text for name, text in tree(out).items() if name.startswith("clusters/")}
    assert yaml.safe_load(index["clusters/gov-west/kustomization.yaml"])["resources"] == [
        "../../pool.gov.gov-west", "../../wh-a-dr.gov-west"]
    assert yaml.safe_load(tree(out)["kustomization.yaml"])["resources"] == []

    west = [folder for folder in every if folder.endswith(".gov-west")]
    assert sorted(manifests.update(out, {}, removed=west)) == sorted(west)
    rest = {k: v for k, v in every.items() if k not in west}
    assert tree(out) == tree(written_whole(tmp_path, rest))
    assert not (out / "clusters" / "gov-west").exists()

    assert manifests.update(out, {folder: every[folder] for folder in west}) == west
    assert tree(out) == tree(written_whole(tmp_path / "again", every))
    # A render over it again: clusters/ and its folders are known as ours, not a stranger's.
    manifests.write(out, [m for ms in rest.values() for m in ms])
    assert tree(out) == tree(written_whole(tmp_path / "rest", rest))
