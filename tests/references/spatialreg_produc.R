# Cross-sectional (T = 1) reference values from R's spatialreg for spillover's spatial models.
#
#   Rscript tests/references/spatialreg_produc.R
#
# writes tests/references/spatialreg_produc.json next to this script (Python tests read it;
# they never need R). One cross-section of plm's Produc (years 1986 and 1970), 48 states,
# log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp with an intercept, queen contiguity of
# libpysal's states48.gal, row-standardised (same W and data as splm_produc.R; see
# splm_setup.R).
#
# Built with R 4.2.2, spatialreg 1.2-6, spdep 1.2-7, jsonlite 1.8.4 (versions recorded in the
# JSON). Every fit uses method = "eigen" (exact log-determinant from the eigenvalues of W) and
# spatialreg's defaults otherwise: analytic asymptotic variance from the information matrix
# (ase = TRUE for "eigen"), sigma2 = SSE / n (ML, no degrees-of-freedom correction).
#   sar  = lagsarlm(Durbin = FALSE)     sdm  = lagsarlm(Durbin = TRUE)
#   sem  = errorsarlm(Durbin = FALSE)   sdem = errorsarlm(Durbin = TRUE)
#   sac  = sacsarlm(listw2 = listw)
# Impacts: spatialreg::impacts(fit, listw = W) (exact, dense (I - rho W)^-1 at N = 48); for
# sar and sdm also R = 1000 simulated draws after set.seed(20240501) (random: approximate).
# OLS diagnostics: spdep::lm.LMtests(test = "all") and lm.morantest on the OLS residuals.

source(file.path(local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f) == 1L) dirname(normalizePath(f)) else "tests/references"
}), "splm_setup.R"))
suppressPackageStartupMessages({
  library(spatialreg)
  library(jsonlite)
})

SEED <- 20240501L
R_DRAWS <- 1000L
YEARS <- c(1986L, 1970L)
FM <- log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp

P <- produc_panel()
IDS <- unique(P$state_abbr)
LW <- states48_listw(IDS)

# Point impacts from a LagImpact (exact: the object itself; with R draws: $res) or from an
# SDEM "estimable" object ($impacts).
impacts_json <- function(im, bn) {
  src <- if (!is.null(im$res)) im$res else if (!is.null(im$impacts)) im$impacts else im
  lapply(src[c("direct", "indirect", "total")], function(v) named(v, bn))
}

impacts_section <- function(fit, kind) {
  if (kind == "sem") return(NULL)
  if (kind == "sdem") {
    im <- impacts(fit)
    bn <- py_name(attr(im, "bnames"))
    se <- lapply(im$se[c("direct", "indirect", "total")], function(v) named(v, bn))
    return(list(method = "estimable (SDEM: direct = beta, indirect = theta)",
                point = impacts_json(im, bn),
                se = se, se_note = "analytic, from vcov(fit) (linear combinations)"))
  }
  im <- impacts(fit, listw = LW)
  bn <- py_name(attr(im, "bnames"))
  out <- list(method = attr(im, "method"), point = impacts_json(im, bn))
  if (kind %in% c("sar", "sdm")) {
    set.seed(SEED)
    ims <- impacts(fit, listw = LW, R = R_DRAWS)
    s <- summary(ims, zstats = TRUE, short = TRUE)
    se <- lapply(seq_len(3), function(j) named(s$semat[, j], bn))
    names(se) <- c("direct", "indirect", "total")
    out$simulated <- list(seed = SEED, R = R_DRAWS, approximate = TRUE, se = se,
                          note = "draws from N(coef, vcov(fit)); random, compare loosely")
  }
  out
}

fit_one <- function(kind, d) {
  fit <- switch(kind,
    sar = lagsarlm(FM, data = d, listw = LW, method = "eigen"),
    sdm = lagsarlm(FM, data = d, listw = LW, method = "eigen", Durbin = TRUE),
    sem = errorsarlm(FM, data = d, listw = LW, method = "eigen"),
    sdem = errorsarlm(FM, data = d, listw = LW, method = "eigen", Durbin = TRUE),
    sac = sacsarlm(FM, data = d, listw = LW, listw2 = LW, method = "eigen")
  )
  V <- vcov(fit)
  cf <- coef(fit)
  sp <- intersect(c("rho", "lambda"), names(cf))
  bn <- py_name(setdiff(names(cf), sp))
  se <- sqrt(diag(V))
  out <- list(
    function_call = paste(deparse(fit$call), collapse = " "),
    coefficients = named(cf[setdiff(names(cf), sp)], bn),
    se = named(se[setdiff(names(cf), sp)], bn),
    sigma2 = fit$s2,
    loglik = as.numeric(logLik(fit)),
    aic = stats::AIC(fit),
    loglik_ols = as.numeric(fit$logLik_lm.model),
    vcov = matrix_json(V, py_name(colnames(V)))
  )
  for (s in sp) {
    out[[s]] <- unname(cf[s])
    out[[paste0(s, "_se")]] <- unname(se[s])
  }
  im <- impacts_section(fit, kind)
  if (!is.null(im)) out$impacts <- im
  out
}

ols_section <- function(d) {
  ols <- lm(FM, data = d)
  lmt <- spdep::lm.LMtests(ols, LW, test = "all")
  mor <- spdep::lm.morantest(ols, LW)
  bn <- py_name(names(coef(ols)))
  list(
    coefficients = named(coef(ols), bn),
    se = named(sqrt(diag(vcov(ols))), bn),
    lm_tests = lapply(lmt, function(h) {
      list(statistic = unname(as.numeric(h$statistic)),
           df = unname(as.numeric(h$parameter)), p_value = unname(as.numeric(h$p.value)))
    }),
    moran = list(I = unname(mor$estimate[1]), expectation = unname(mor$estimate[2]),
                 variance = unname(mor$estimate[3]),
                 z = unname(as.numeric(mor$statistic)), p_value = unname(as.numeric(mor$p.value)),
                 alternative = mor$alternative)
  )
}

main <- function() {
  years <- list()
  for (yr in YEARS) {
    d <- P[P$year == yr, ]
    stopifnot(identical(d$state_abbr, IDS))
    fits <- lapply(c("sar", "sem", "sdm", "sdem", "sac"), fit_one, d = d)
    names(fits) <- c("sar", "sem", "sdm", "sdem", "sac")
    years[[as.character(yr)]] <- c(list(ols = ols_section(d)), fits)
  }
  out <- list(
    meta = list(
      generated_by = "tests/references/spatialreg_produc.R",
      r_version = R.version.string,
      packages = pkg_versions(c("spatialreg", "spdep", "plm", "Matrix", "jsonlite")),
      formula = "log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp (with intercept)",
      method = "eigen", seed = SEED, impacts_draws = R_DRAWS,
      naming = paste("rho = spatial lag, lambda = spatial error; W_<x> = spatialreg's",
                     "lag.<x> (Durbin terms); Intercept = (Intercept)"),
      sigma2 = "SSE / n (ML)",
      vcov = paste("spatialreg default: inverse analytic information matrix (ase = TRUE);",
                   "errorsarlm's is block diagonal (lambda | beta)")
    ),
    weights = list(ids = IDS, style = "W",
                   note = "same neighbours as splm_produc.json$weights"),
    years = years
  )
  path <- file.path(ref_dir(), "spatialreg_produc.json")
  jsonlite::write_json(out, path, digits = NA, auto_unbox = TRUE, pretty = TRUE)
  invisible(path)
}

main()
