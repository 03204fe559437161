"""Option objects of the ``vcov=`` argument (covariances with something to set).

Public names are re-exported by :mod:`spillover.inference.vcov`, which registers each with
its kernel and whose docstring lists the estimators and their small-sample conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from spillover.errors import SpecificationError
from spillover.inference.registry import Named


class Cluster:
    """Cluster-robust covariance (CR1), by one or two variables.

    Parameters
    ----------
    *by : str
        One or two column names or index levels of the panel, e.g. ``Cluster("firm")``
        or ``Cluster("firm", "year")``.
    small_sample : bool, default True
        Apply the CR1 factor ``G/(G-1) * (N-1)/(N-K-A*)`` and t(G-1) inference (Stata).
        False gives CR0 with normal inference.
    """

    __slots__ = ("by", "small_sample")

    def __init__(self, *by: str, small_sample: bool = True) -> None:
        if not 1 <= len(by) <= 2 or not all(isinstance(b, str) for b in by):
            raise SpecificationError(
                f"Cluster takes one or two column names, e.g. Cluster('firm', 'year'); got {by}."
            )
        object.__setattr__(self, "by", tuple(by))
        object.__setattr__(self, "small_sample", bool(small_sample))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Cluster is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cluster) and (self.by, self.small_sample) == (
            other.by,
            other.small_sample,
        )

    def __hash__(self) -> int:
        return hash((self.by, self.small_sample))

    def __repr__(self) -> str:
        return f"Cluster({', '.join(map(repr, self.by))})"

    name = "cluster"


@dataclass(frozen=True)
class DriscollKraay:
    """Driscoll-Kraay (1998) covariance: robust to cross-sectional and serial correlation.

    Parameters
    ----------
    lags : int
        Bartlett bandwidth: autocovariances of the period score sums up to ``lags``
        calendar periods apart get weight ``1 - j/(lags+1)``. Must be below the number of
        calendar periods from the first to the last.

    Notes
    -----
    ``j`` counts calendar periods in the panel's time unit, as every lag in spillover: a
    period absent from the sample (a year missing for every unit) has a zero score sum
    and is still counted, so the two years around it are two periods apart, and waves
    coded by year (2000, 2002, ...) are two apart (``lags=2`` reaches the previous wave).
    Peers differ on such gaps: Stata's ``xtscc`` (Hoechle 2007; ``xtscc.ado`` 1.4)
    refuses them, waves coded by year included ("timevar is not regularly spaced: there
    are contemporaneous gap(s) across all subjects"), while
    R's ``plm::vcovSCC`` and ``sandwich::vcovPL`` and linearmodels'
    ``cov_type="kernel"`` lag by position among the periods present, so the years around
    a gap count as adjacent. We follow calendar time (the convention of ``xtscc``'s
    ``tsset`` time and of the Conley serial terms); on consecutive periods all agree.
    """

    lags: int
    name: str = field(default="driscoll-kraay", init=False, repr=False)

    def __post_init__(self) -> None:
        if int(self.lags) != self.lags or self.lags < 0:
            raise SpecificationError(
                f"DriscollKraay lags must be an integer >= 0, got {self.lags}."
            )


@dataclass(frozen=True)
class Conley:
    """Conley (1999) spatial HAC covariance for panels, with optional serial correlation.

    Parameters
    ----------
    cutoff_km : float
        Distance beyond which scores are treated as uncorrelated, in kilometres.
    lags : int, default 0
        Within-unit serial correlation up to ``lags`` calendar periods apart (in the
        panel's time unit, so biennial waves are 2 apart), Bartlett-weighted as in
        Hsiang's (2010) ``ols_spatial_HAC``, ``reg2hdfespatial``, ``conleyreg`` and
        ``acreg``.
    kernel : {"bartlett", "uniform"}, default "bartlett"
        Spatial weight ``1 - d/cutoff`` or 1 within the cutoff.
    coords : tuple of str, optional
        Columns of the panel holding coordinates per observation. ``metric`` then says
        what they are: ``"haversine"`` for (lon, lat) in degrees, ``"euclidean"`` for
        planar coordinates in km. By default coordinates come from the panel's geometry
        (``spillover.geo.distance_coordinates``), converted to km for projected CRSs.
    metric : {"haversine", "euclidean"} or None, default None
        How the ``coords`` columns are measured; with ``coords`` it defaults to
        ``"haversine"``. Without ``coords`` it stays None, meaning "from the CRS":
        great-circle km for a geographic CRS, planar distances converted to km for a
        projected one. Passing a metric without ``coords`` is an error, since the CRS
        decides.

    Notes
    -----
    Repeated fits with the same locations and options reuse one spatial kernel matrix
    (:func:`spillover.inference.conley.clear_kernel_cache`). HDFE on the DuckDB backend
    sums the same meat out of core, without the kernel matrix
    (:mod:`spillover.models._conley_out_of_core`).
    """

    cutoff_km: float
    lags: int = 0
    kernel: Literal["bartlett", "uniform"] = "bartlett"
    coords: tuple[str, str] | None = None
    metric: Literal["haversine", "euclidean"] | None = None
    name: str = field(default="conley", init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.cutoff_km >= 0:
            raise SpecificationError(f"Conley cutoff_km must be >= 0, got {self.cutoff_km}.")
        if self.kernel not in ("bartlett", "uniform"):
            raise SpecificationError(
                f"Conley kernel must be 'bartlett' or 'uniform', got {self.kernel!r}."
            )
        if self.coords is None and self.metric is not None:
            raise SpecificationError(
                f"Conley metric={self.metric!r} applies to coords= columns only: with the "
                "panel's geometry the CRS decides (great-circle km for lon/lat, planar "
                "distances converted to km for a projected CRS). Drop metric, or name the "
                "coordinate columns with coords=(x, y)."
            )
        if self.coords is not None and self.metric is None:
            object.__setattr__(self, "metric", "haversine")
        if self.metric not in (None, "haversine", "euclidean"):
            raise SpecificationError(
                f"Conley metric must be 'haversine' or 'euclidean', got {self.metric!r}."
            )
        if int(self.lags) != self.lags or self.lags < 0:
            raise SpecificationError(f"Conley lags must be an integer >= 0, got {self.lags}.")


VcovSpec = str | Cluster | DriscollKraay | Conley | Named
