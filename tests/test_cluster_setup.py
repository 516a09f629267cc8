"""`build --cluster` without a cluster at hand (unit tier): what needs none."""

from __future__ import annotations

import sys

import pytest

from audio_edition import build
from audio_edition.config import Settings
from audio_edition.engines.fake import FakeEngine
from audio_edition.errors import BuildFailed


@pytest.mark.parametrize("how", ["setting", "environment"])
def test_without_the_extra_the_build_says_what_to_install(project, monkeypatch, how):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    settings = Settings(formats=("vtt",), cache_dir=project / "cache")
    if how == "setting":
        settings = settings.with_overrides(cluster="tcp://10.0.0.1:8786")
    else:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.0.0.1:8786")
    with pytest.raises(BuildFailed) as err:
        build(project=project, settings=settings, engine=FakeEngine())
    install = "Dask is not installed: pip install 'audio-edition[cluster]'"
    if how == "setting":
        assert str(err.value) == f"--cluster tcp://10.0.0.1:8786: {install}"
    else:  # perhaps set for other Dask work: how to build here without it
        assert str(err.value) == (
            f"DASK_SCHEDULER_ADDRESS=tcp://10.0.0.1:8786: {install}, "
            "or unset DASK_SCHEDULER_ADDRESS to build on this machine"
        )
    assert not list((project / "audio").glob("*.json"))


def test_without_a_cluster_dask_is_not_loaded(project, monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.setitem(sys.modules, "distributed", None)  # an import would fail
    settings = Settings(formats=("vtt",), cache_dir=project / "cache")
    results = build(project=project, settings=settings, engine=FakeEngine())
    assert results[0].synthesized > 0


def _rebuild_in_a_fresh_process(project, formats: tuple[str, ...], shown: str) -> str:
    """Build ``project`` again in a new interpreter (nothing loaded yet), with a cluster
    that cannot be reached; what it prints of ``shown`` (an expression of ``r``, the
    results, and ``sys``)."""
    import subprocess

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from audio_edition import build\n"
        "from audio_edition.config import Settings\n"
        "from audio_edition.engines.fake import FakeEngine\n"
        f"s = Settings(formats={formats!r}, cache_dir=Path({str(project / 'cache')!r}),"
        " cluster='tcp://127.0.0.1:1')\n"
        f"r = build(project={str(project)!r}, settings=s, engine=FakeEngine())\n"
        f"print({shown})"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_no_change_rebuild_on_a_cluster_loads_neither_dask_nor_numpy(project):
    """It answers from the manifests alone: no cluster is contacted, nothing heavy loaded."""
    settings = Settings(formats=("vtt",), cache_dir=project / "cache")
    assert build(project=project, settings=settings, engine=FakeEngine())[0].changed
    shown = "r[0].changed, sorted({'numpy', 'dask', 'distributed'} & set(sys.modules))"
    assert _rebuild_in_a_fresh_process(project, ("vtt",), shown) == "False []"


def test_a_rebuild_with_every_clip_and_segment_cached_does_not_reach_the_cluster(project):
    """A new format for an edition whose audio is all cached has nothing for the workers:
    the build neither loads Dask nor tries the (here unreachable) scheduler."""
    settings = Settings(formats=("mp3",), cache_dir=project / "cache")
    assert build(project=project, settings=settings, engine=FakeEngine())[0].changed
    shown = "r[0].changed, r[0].synthesized, 'distributed' in sys.modules"
    assert _rebuild_in_a_fresh_process(project, ("mp3", "vtt"), shown) == "True 0 False"
