"""Rebuild the bundled data sets from the copies inside installed linearmodels and libpysal.

Run from the repository root (``make data`` does this)::

    python data/build.py            # writes spillover/datasets/data/*.parquet
    python data/build.py --check    # rebuilds in memory, fails if the shipped files differ

The output is deterministic: rows are sorted by key, columns are in a fixed order, and
Parquet files carry no time stamp, so rebuilding with the same library versions gives
byte-identical files. See data/README.md for sources, variables and units.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd


def _package_dir(name: str) -> Path:
    """Install folder of a package, found without importing it (libpysal imports slowly)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{name} is not installed; pip install {name}")
    return Path(spec.origin).parent


OUT = Path(__file__).resolve().parents[1] / "spillover" / "datasets" / "data"
LIBPYSAL_EXAMPLES = _package_dir("libpysal") / "examples"
MUNNELL_CSV = _package_dir("linearmodels") / "datasets" / "munnell" / "munnell.csv.bz2"

# Both shapefiles ship without a usable .prj. Their coordinates are longitude/latitude in
# decimal degrees (see data/README.md for the evidence), so they are declared WGS84.
LONLAT = "EPSG:4326"

CENSUS_DIVISIONS = {
    "N Eng": "New England",
    "Mid Atl": "Middle Atlantic",
    "E N Cen": "East North Central",
    "W N Cen": "West North Central",
    "S Atl": "South Atlantic",
    "E S Cen": "East South Central",
    "W S Cen": "West South Central",
    "Mtn": "Mountain",
    "Pacific": "Pacific",
}

MUNNELL_COLUMNS = {
    "GSP": "gsp",
    "P_CAP": "pcap",
    "HWY": "hwy",
    "WATER": "water",
    "UTIL": "util",
    "PC": "pc",
    "EMP": "emp",
    "UNEMP": "unemp",
}

# mexico.csv spells five states differently from mexicojoin.dbf.
MEXICO_NAMES = {
    "Baja California": "Baja California Norte",
    "Coahuila": "Coahuila De Zaragoza",
    "Michoacan": "Michoacan de Ocampo",
    "Quertaro": "Queretaro de Arteaga",
    "Veracruz": "Veracruz-Llave",
}
MEXICO_REGIONS = ["hanson03", "hanson98", "esquivel99", "inegi", "inegi2"]


def us48() -> gpd.GeoDataFrame:
    """The 48 contiguous states: abbreviation, name, FIPS code, census division, polygon."""
    raw = gpd.read_file(LIBPYSAL_EXAMPLES / "us_income" / "us48.shp")
    if raw.crs is not None:
        raise RuntimeError(f"us48.shp now declares {raw.crs}; revisit the CRS choice.")
    out = gpd.GeoDataFrame(
        {
            "state": raw["STATE_ABBR"].astype(str),
            "name": raw["STATE_NAME"].astype(str),
            "fips": raw["STATE_FIPS"].astype(str).str.zfill(2),
            "region": raw["SUB_REGION"].map(CENSUS_DIVISIONS).astype(str),
        },
        geometry=raw.geometry.to_numpy(),
        crs=LONLAT,
    )
    _check_lonlat(out)
    return out.sort_values("state", ignore_index=True)


def munnell(states: gpd.GeoDataFrame) -> pd.DataFrame:
    """Munnell (1990) state panel, 48 states x 1970-1986, with Baltagi's log columns."""
    raw = pd.read_csv(MUNNELL_CSV)
    df = raw.rename(columns={"ST_ABB": "state", "YR": "year", **MUNNELL_COLUMNS})
    df = df[["state", "year", *MUNNELL_COLUMNS.values()]].astype({"gsp": float})
    for col in ("gsp", "pcap", "pc", "emp"):
        df[f"log_{col}"] = np.log(df[col])
    df = _with_state_labels(df, states)
    if len(df) != 48 * 17 or df["name"].isna().any():
        raise RuntimeError("Munnell panel is not 48 states x 17 years matching us48.")
    return df


def us_income(states: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per-capita personal income, 48 states x 1929-2009, long."""
    raw = pd.read_csv(LIBPYSAL_EXAMPLES / "us_income" / "usjoin.csv")
    years = [c for c in raw.columns if c.isdigit()]
    long = raw.melt(id_vars=["STATE_FIPS"], value_vars=years, var_name="year", value_name="pcinc")
    long["fips"] = long["STATE_FIPS"].astype(str).str.zfill(2)
    long["year"] = long["year"].astype(np.int64)
    long["pcinc"] = long["pcinc"].astype(float)
    codes = states.set_index("fips")["state"]
    long["state"] = long["fips"].map(codes)
    if long["state"].isna().any() or len(long) != 48 * 81:
        raise RuntimeError("usjoin.csv does not match the 48 us48 states by FIPS.")
    long["log_pcinc"] = np.log(long["pcinc"])
    return _with_state_labels(long[["state", "year", "pcinc", "log_pcinc"]], states)


def mexico_states() -> gpd.GeoDataFrame:
    """The 32 Mexican states: code (MX01-MX32), name, polygon."""
    raw = gpd.read_file(LIBPYSAL_EXAMPLES / "mexico" / "mexicojoin.shp")
    if raw.crs is not None:
        raise RuntimeError(f"mexicojoin.shp now declares {raw.crs}; revisit the CRS choice.")
    out = gpd.GeoDataFrame(
        {"state": raw["CODE"].astype(str), "name": raw["NAME"].astype(str)},
        geometry=raw.geometry.to_numpy(),
        crs=LONLAT,
    )
    _check_lonlat(out)
    return out.sort_values("state", ignore_index=True)


def mexico(states: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per-capita GDP of the 32 Mexican states, 1940-2000 by decade, long."""
    raw = pd.read_csv(LIBPYSAL_EXAMPLES / "mexico" / "mexico.csv")
    names = raw["State"].replace(MEXICO_NAMES)
    codes = states.set_index("name")["state"]
    raw["state"] = names.map(codes)
    if raw["state"].isna().any():
        raise RuntimeError(f"unmatched Mexican states: {list(raw.loc[raw.state.isna(), 'State'])}")
    _check_mexico_copies(raw)
    years = [f"pcgdp{y}" for y in range(1940, 2001, 10)]
    long = raw.melt(id_vars=["state"], value_vars=years, var_name="year", value_name="pcgdp")
    long["year"] = long["year"].str.removeprefix("pcgdp").astype(np.int64)
    long["log_pcgdp"] = np.log(long["pcgdp"])
    regions = raw.set_index("state")[MEXICO_REGIONS].astype(np.int64)
    long = long.join(regions, on="state").join(states.set_index("state")["name"], on="state")
    cols = ["state", "year", "name", "pcgdp", "log_pcgdp", *MEXICO_REGIONS]
    return long[cols].sort_values(["state", "year"], ignore_index=True)


def _check_mexico_copies(raw: pd.DataFrame) -> None:
    """mexico.csv and the attribute table of mexicojoin.dbf must carry the same numbers."""
    dbf = gpd.read_file(LIBPYSAL_EXAMPLES / "mexico" / "mexicojoin.shp").set_index("CODE")
    for year in range(1940, 2001, 10):
        csv_values = raw.set_index("state")[f"pcgdp{year}"]
        if not np.allclose(csv_values, dbf.loc[csv_values.index, f"PCGDP{year}"]):
            raise RuntimeError(f"mexico.csv and mexicojoin.dbf disagree in {year}.")


def _with_state_labels(df: pd.DataFrame, states: gpd.GeoDataFrame) -> pd.DataFrame:
    labels = states.set_index("state")[["name", "fips", "region"]]
    out = df.drop(columns=["name", "fips", "region"], errors="ignore").join(labels, on="state")
    front = ["state", "year", "name", "fips", "region"]
    out = out[front + [c for c in out.columns if c not in front]]
    return out.sort_values(["state", "year"], ignore_index=True)


def _check_lonlat(gdf: gpd.GeoDataFrame) -> None:
    minx, miny, maxx, maxy = gdf.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise RuntimeError(f"coordinates are not lon/lat degrees: bounds {gdf.total_bounds}.")


def build() -> dict[str, pd.DataFrame]:
    """Every bundled table, keyed by file name."""
    states = us48()
    mx = mexico_states()
    return {
        "us48.parquet": states,
        "munnell.parquet": munnell(states),
        "us_income.parquet": us_income(states),
        "mexico_states.parquet": mx,
        "mexico.parquet": mexico(mx),
    }


def write(tables: dict[str, pd.DataFrame], out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_parquet(out / name, index=False, compression="zstd")


def check(tables: dict[str, pd.DataFrame], out: Path = OUT) -> list[str]:
    """Names of shipped files whose content differs from a fresh build."""
    stale = []
    for name, table in tables.items():
        reader = gpd.read_parquet if isinstance(table, gpd.GeoDataFrame) else pd.read_parquet
        path = out / name
        if not path.exists():
            stale.append(name)
            continue
        shipped = reader(path)
        try:
            pd.testing.assert_frame_equal(shipped, table, check_dtype=False)
        except AssertionError:
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    tables = build()
    if args.check:
        stale = check(tables)
        if stale:
            sys.stderr.write(f"stale bundled data: {', '.join(stale)}; run python data/build.py\n")
            return 1
        return 0
    write(tables)
    for name in tables:
        sys.stdout.write(f"{OUT / name}  {(OUT / name).stat().st_size / 1024:.0f} KiB\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
