"""Static files that ship inside Python packages, served by the app itself (no CDN, no pasted copies)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage


def _plotly_dir() -> Path:
    import plotly  # noqa: PLC0415 - only needed when static files are looked up

    return Path(plotly.__file__).resolve().parent / "package_data"


class PackageAssetFinder(BaseFinder):
    """Exposes exactly the listed files of installed packages under ``vendor/``.

    Only the named files are served (plotly's package_data also holds datasets we do not want to publish).
    """

    assets = {"vendor/plotly.min.js": (_plotly_dir, "plotly.min.js")}

    def _source(self, path: str) -> Path | None:
        entry = self.assets.get(path)
        if entry is None:
            return None
        folder, name = entry
        source = folder() / name
        return source if source.is_file() else None

    def find(self, path, find_all=False, **kwargs):
        source = self._source(path)
        if source is None:
            return []
        return [str(source)] if find_all else str(source)

    def list(self, ignore_patterns):
        for path, (folder, name) in self.assets.items():
            storage = FileSystemStorage(location=str(folder()))
            storage.prefix = str(Path(path).parent)
            yield name, storage
