"""LapseLens analysis: pure pandas functions, no Streamlit (see shared STYLE.md)."""

from analysis.errors import ExtractError
from analysis.ingest.pipeline import LoadResult, load_extract
from analysis.ingest.presets import MappingPreset, load_preset, parse_preset, preset_to_toml

__all__ = ["ExtractError", "LoadResult", "MappingPreset", "load_extract", "load_preset", "parse_preset", "preset_to_toml"]
