# Reference values from R's splm for the spatial panel estimators of spillover.
#
#   Rscript tests/references/splm_produc.R [path/to/us_states.csv]
#
# writes tests/references/splm_produc.json next to this script. Python tests read the JSON;
# they never need R. The optional CSV (columns state, year, gsp, pcap, pc, emp, unemp, as
# written from spillover.datasets.us_states()) is checked row for row against plm's Produc.
#
# Built with R 4.2.2, splm 1.6-5 (CRAN source, github.com/cran/splm), spatialreg 1.2-6,
# spdep 1.2-7, plm 2.6-2, jsonlite 1.8.4 (the JSON records the versions actually used).
#
# Data: plm's Produc (Munnell 1990; Baltagi's textbook panel), 48 states x 1970-1986.
# Model: log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp.
# Weights: queen contiguity of the 48 states (libpysal's states48.gal, identical to
# spdep::poly2nb(queen = TRUE) on us48.shp), row-standardised (style "W").
#
# splm options (all defaults unless stated): spml(model = "within", method = "eigen",
# LeeYu = FALSE, Hess = FALSE); "Durbin" models add W-lagged regressors W_log_pcap, ... built
# here per period from the raw (untransformed) regressors (splm 1.6-5's spml has no Durbin
# argument; only spgm has one). splm names the lag coefficient "lambda" and the error
# coefficient "rho"; the JSON uses spillover's names: rho = spatial lag, lambda = spatial error.
# Impacts: splm::impacts(fit, listw, time = 17, R = 1000) after set.seed(20240501) (trace
# method, exact traces of powers of kron(I_T, W) up to order 30); simulated SEs are random.

source(file.path(local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f) == 1L) dirname(normalizePath(f)) else "tests/references"
}), "splm_setup.R"))
source(file.path(ref_dir(), "splm_textbook.R"))
suppressPackageStartupMessages({
  library(splm)
  library(spatialreg)
  library(jsonlite)
})

SEED <- 20240501L
R_DRAWS <- 1000L
X_NAMES <- c("log_pcap", "log_pc", "log_emp", "unemp")
FM <- log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp
FM_DURBIN <- update(FM, . ~ . + W_log_pcap + W_log_pc + W_log_emp + W_unemp)
EFFECTS <- c("individual", "time", "twoways")

P <- produc_panel()
IDS <- unique(P$state_abbr) # plm's order: alphabetical by full state name
LW <- states48_listw(IDS)
W <- as.matrix(spatialreg::as_dgRMatrix_listw(LW))
N <- length(IDS)
TT <- length(unique(P$year))
OMEGA <- eigen(W, only.values = TRUE)$values # real for a similar-to-symmetric W

# W-lagged regressors per period (raw, before any within transformation)
for (v in c("pcap", "pc", "emp")) P[[paste0("log_", v)]] <- log(P[[v]])
for (v in X_NAMES) {
  P[[paste0("W_", v)]] <- NA_real_
  for (yr in unique(P$year)) {
    rows <- which(P$year == yr)
    stopifnot(identical(P$state_abbr[rows], IDS))
    P[[paste0("W_", v)]][rows] <- as.numeric(W %*% P[[v]][rows])
  }
}

# ---- data and weights sections ------------------------------------------------------------

data_section <- function(csv) {
  out <- list(
    source = "plm::Produc (plm 2.6-2), rows ordered by state (alphabetical full name), year",
    state_name_to_abbr = as.list(state_abbr_map(levels(P$state))),
    rows = list(
      state = P$state_abbr, year = P$year, gsp = P$gsp, pcap = P$pcap, pc = P$pc,
      emp = P$emp, unemp = P$unemp
    )
  )
  if (!is.null(csv)) {
    py <- utils::read.csv(csv)
    m <- merge(P, py, by.x = c("state_abbr", "year"), by.y = c("state", "year"))
    stopifnot(nrow(m) == nrow(P), nrow(py) == nrow(P))
    diffs <- vapply(c("gsp", "pcap", "pc", "emp", "unemp"), function(v) {
      max(abs(m[[paste0(v, ".x")]] - m[[paste0(v, ".y")]]))
    }, numeric(1))
    out$check_against_python <- c(list(csv = basename(csv), rows_matched = nrow(m)),
                                  as.list(diffs))
  }
  out
}

weights_section <- function() {
  nbl <- states48_neighbours()
  list(
    source = "libpysal examples/us_income/states48.gal (ids = 0-based rows of usjoin.csv)",
    style = "W (row-standardised)",
    ids = IDS,
    neighbours = lapply(nbl, I),
    n_links = sum(lengths(nbl)),
    equals_spdep_poly2nb_queen = identical(states48_poly2nb(), nbl)
  )
}

# ---- fixed effects fits -------------------------------------------------------------------

ldet <- function(a) sum(log(1 - a * OMEGA))

fe_fit <- function(kind, effect, LeeYu = FALSE, Hess = FALSE) {
  lag <- kind %in% c("sar", "sdm", "sac")
  fm <- if (kind %in% c("sdm", "sdem")) FM_DURBIN else FM
  err <- if (kind %in% c("sem", "sdem", "sac")) "b" else "none"
  fit <- spml(fm, data = P, index = c("state", "year"), listw = LW, model = "within",
              effect = effect, lag = lag, spatial.error = err, LeeYu = LeeYu, Hess = Hess)
  cf <- coef(fit)
  se <- sqrt(diag(fit$vcov))
  # splm's leading spatial coefficients: lag "lambda", error "rho"; SAC has both (lag first)
  sp <- if (kind == "sac") c("rho", "lambda") else if (lag) "rho" else "lambda"
  ns <- length(sp)
  bn <- py_name(names(cf)[-seq_len(ns)])
  ll <- as.numeric(fit$logLik)
  s2 <- as.numeric(fit$sigma2)
  out <- list(
    options = list(model = "within", effect = effect, lag = lag, spatial.error = err,
                   method = "eigen", LeeYu = LeeYu, Hess = Hess,
                   durbin = kind %in% c("sdm", "sdem")),
    splm_type = fit$type,
    nobs = N * TT, n_entities = N, n_periods = TT
  )
  for (i in seq_len(ns)) {
    out[[sp[i]]] <- unname(cf[i])
    out[[paste0(sp[i], "_se")]] <- unname(se[i])
  }
  out$coefficients <- named(cf[-seq_len(ns)], bn)
  out$se <- named(se[-seq_len(ns)], bn)
  out$sigma2 <- s2
  if (length(ll)) out$loglik_splm <- ll # splm 1.6-5 returns no logLik for SAC ("sarar")
  # Full Gaussian log-likelihood at the estimates with sigma2 = SSE/NT, computed here from the
  # eigenvalues of W (T * log|I - a W| per spatial parameter), comparable across packages.
  if (!LeeYu) {
    jac <- sum(vapply(unname(cf[seq_len(ns)]), function(a) TT * ldet(a), numeric(1)))
    out$loglik <- jac - N * TT / 2 * (log(2 * pi * s2) + 1)
  }
  list(fit = fit, json = out)
}

# Exact impacts at N = 48 from dense S_k = (I - rho W)^-1 (beta_k I + theta_k W).
dense_impacts <- function(rho, beta, theta = NULL) {
  A <- solve(diag(N) - rho * W)
  if (is.null(theta)) theta <- 0 * beta
  d <- vapply(seq_along(beta), function(k) {
    sum(diag(A %*% (beta[k] * diag(N) + theta[k] * W))) / N
  }, numeric(1))
  tot <- (beta + theta) / (1 - rho)
  list(direct = named(d, names(beta)), indirect = named(tot - d, names(beta)),
       total = named(tot, names(beta)))
}

splm_impacts <- function(fit) {
  set.seed(SEED)
  im <- impacts(fit, listw = LW, time = TT, R = R_DRAWS)
  s <- summary(im, zstats = TRUE, short = TRUE)
  bn <- py_name(attr(im, "bnames"))
  pt <- lapply(im$res, function(v) named(v, bn))
  se <- lapply(seq_len(3), function(j) named(s$semat[, j], bn))
  names(se) <- c("direct", "indirect", "total")
  c(pt, list(simulated = list(
    seed = SEED, R = R_DRAWS, approximate = TRUE, se = se,
    note = paste("draws from N(coef, vcov) with splm's block-diagonal vcov",
                 "(zero rho-beta covariance); random, compare loosely")
  )))
}

fe_section <- function(LeeYu = FALSE, Hess = FALSE) {
  kinds <- if (LeeYu || Hess) c("sar", "sem") else c("sar", "sem", "sdm", "sdem", "sac")
  out <- list()
  for (kind in kinds) {
    out[[kind]] <- list()
    for (eff in EFFECTS) {
      r <- fe_fit(kind, eff, LeeYu = LeeYu, Hess = Hess)
      j <- r$json
      if (!LeeYu && !Hess && kind == "sar") {
        j$impacts <- splm_impacts(r$fit)
        j$impacts_dense <- dense_impacts(j$rho, unlist(j$coefficients))
      }
      if (!LeeYu && !Hess && kind == "sdm") {
        b <- unlist(j$coefficients)
        j$impacts_dense <- dense_impacts(j$rho, b[X_NAMES], b[paste0("W_", X_NAMES)])
      }
      if (!LeeYu && !Hess && kind == "sdem") {
        b <- unlist(j$coefficients)
        th <- b[paste0("W_", X_NAMES)]
        names(th) <- X_NAMES
        j$impacts_closed_form <- list(direct = as.list(b[X_NAMES]), indirect = as.list(th),
                                      total = as.list(b[X_NAMES] + th))
      }
      out[[kind]][[eff]] <- j
    }
  }
  out
}

# ---- random effects, Hausman, LM tests ----------------------------------------------------

re_section <- function() {
  out <- list()
  fits <- list()
  for (kind in c("sar", "sem")) {
    lag <- kind == "sar"
    err <- if (lag) "none" else "b"
    fit <- spml(FM, data = P, index = c("state", "year"), listw = LW, model = "random",
                effect = "individual", lag = lag, spatial.error = err)
    fits[[kind]] <- fit
    bn <- py_name(names(coef(fit)))
    bn[bn == "(Intercept)"] <- "Intercept"
    j <- list(
      options = list(model = "random", effect = "individual", lag = lag,
                     spatial.error = err),
      coefficients = named(coef(fit), bn),
      se = named(sqrt(diag(fit$vcov)), bn),
      errcomp = as.list(fit$errcomp),
      errcomp_se = as.list(stats::setNames(sqrt(diag(fit$vcov.errcomp)), names(fit$errcomp))),
      sigma2 = as.list(fit$sigma2),
      loglik_splm = as.numeric(fit$logLik),
      note = paste("phi = sigma2_mu / sigma2_e; errcomp 'rho' (sem) is the spatial error",
                   "coefficient of the idiosyncratic term (Baltagi et al. 2007 'b' errors)")
    )
    if (lag) {
      j$rho <- unname(fit$arcoef)
      j$rho_se <- sqrt(as.numeric(fit$vcov.arcoef))
    } else {
      j$lambda <- unname(fit$errcomp["rho"])
      j$lambda_se <- unname(sqrt(diag(fit$vcov.errcomp))["rho"])
    }
    out[[kind]] <- j
  }
  list(re = out, fits = fits)
}

htest_json <- function(h) {
  out <- list(statistic = unname(as.numeric(h$statistic)),
              df = if (is.null(h$parameter)) NULL else unname(as.numeric(h$parameter)),
              p_value = unname(as.numeric(h$p.value)), method = h$method)
  out[!vapply(out, is.null, logical(1))]
}

hausman_section <- function(re_fits) {
  out <- list()
  for (kind in c("sar", "sem")) {
    fe <- fe_fit(kind, "individual")$fit
    out[[kind]] <- c(htest_json(sphtest(fe, re_fits[[kind]])), list(
      note = paste("splm sphtest.splm: |d' (V_re - V_fe)^-1 d| over the 4 slopes, d = b_fe -",
                   "b_re, V from each fit's vcov; individual effects; RE errors as in re$",
                   kind)
    ))
  }
  # sphtest's formula method with its defaults: for the error model the RE fit uses KKP
  # errors (spatial.error = "kkp": both the individual effect and the remainder spatially
  # correlated), not the "b" errors of re$sem.
  h <- sphtest(FM, data = P, index = c("state", "year"), listw = LW, spatial.model = "error",
               method = "ML")
  out$sem_kkp <- c(htest_json(h), list(
    note = "sphtest(formula, spatial.model = 'error', method = 'ML', errors = 'KKP' default)"
  ))
  out
}

lm_section <- function() {
  out <- list()
  cases <- list(pooling = list(model = "pooling", effect = "individual"),
                within_individual = list(model = "within", effect = "individual"),
                within_time = list(model = "within", effect = "time"),
                within_twoways = list(model = "within", effect = "twoways"))
  for (nm in names(cases)) {
    cs <- cases[[nm]]
    out[[nm]] <- list(model = cs$model, effect = cs$effect)
    for (t in c("lml", "lme", "rlml", "rlme")) {
      h <- slmtest(FM, data = P, index = c("state", "year"), listw = LW, model = cs$model,
                   effect = cs$effect, test = t)
      out[[nm]][[t]] <- htest_json(h)
    }
  }
  bsk <- list()
  for (t in c("LMH", "LM1", "LM2", "CLMlambda", "CLMmu")) {
    bsk[[t]] <- htest_json(bsktest(FM, data = P, index = c("state", "year"), listw = LW,
                                   test = t))
  }
  list(slmtest = out, bsktest = bsk)
}

# ---- textbook demeaning (own R code, splm_textbook.R) -----------------------------------

textbook_section <- function(splm_fe) {
  as_mat <- function(v) t(matrix(v, TT, N)) # P is ordered state (slow), year (fast)
  base <- list(log_pcap = as_mat(log(P$pcap)), log_pc = as_mat(log(P$pc)),
               log_emp = as_mat(log(P$emp)), unemp = as_mat(P$unemp))
  durbin <- c(base, stats::setNames(lapply(base, function(m) W %*% m), paste0("W_", X_NAMES)))
  y <- as_mat(log(P$gsp))
  out <- list()
  for (approach in c("direct", "transformation")) {
    out[[approach]] <- list()
    for (kind in c("sar", "sem", "sdm", "sdem")) {
      X <- if (kind %in% c("sdm", "sdem")) durbin else base
      out[[approach]][[kind]] <- list()
      for (eff in EFFECTS) {
        j <- textbook_fe(y, X, W, OMEGA, kind, eff, approach)
        if (kind == "sar") j$impacts_dense <- dense_impacts(j$rho, unlist(j$coefficients))
        if (kind == "sdm") {
          b <- unlist(j$coefficients)
          j$impacts_dense <- dense_impacts(j$rho, b[X_NAMES], b[paste0("W_", X_NAMES)])
        }
        out[[approach]][[kind]][[eff]] <- j
      }
    }
  }
  # Individual effects: the direct approach must reproduce splm (same transformation).
  diffs <- sapply(c("sar", "sem", "sdm", "sdem"), function(kind) {
    a <- out$direct[[kind]]$individual
    b <- splm_fe[[kind]]$individual
    sp <- if (kind %in% c("sar", "sdm")) "rho" else "lambda"
    max(abs(c(a[[sp]] - b[[sp]], unlist(a$coefficients) - unlist(b$coefficients),
              a$sigma2 - b$sigma2, a$loglik - b$loglik)))
  })
  stopifnot(all(diffs < 1e-6))
  out$check_individual_vs_splm_max_abs_diff <- as.list(diffs)
  out
}

# ---- assemble -----------------------------------------------------------------------------

main <- function() {
  args <- commandArgs(trailingOnly = TRUE)
  csv <- if (length(args) >= 1L) args[1] else NULL
  re <- re_section()
  fe <- fe_section()
  out <- list(
    meta = list(
      generated_by = "tests/references/splm_produc.R",
      r_version = R.version.string,
      packages = pkg_versions(c("splm", "spatialreg", "spdep", "plm", "Matrix", "jsonlite")),
      formula = "log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp",
      durbin_formula = paste("log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp +",
                             "W_log_pcap + W_log_pc + W_log_emp + W_unemp"),
      durbin_regressors = paste("W_<x> = W %*% <x> per year on raw log(pcap), log(pc),",
                                "log(emp), unemp, added by this script (splm 1.6-5 spml has",
                                "no Durbin argument)"),
      naming = "rho = spatial lag coefficient (splm 'lambda'); lambda = spatial error (splm 'rho')",
      seed = SEED, impacts_draws = R_DRAWS,
      n_entities = N, n_periods = TT
    ),
    data = data_section(csv),
    weights = weights_section(),
    fe = fe,
    fe_leeyu = fe_section(LeeYu = TRUE),
    fe_hess = fe_section(Hess = TRUE),
    re = re$re,
    hausman = hausman_section(re$fits),
    lm_tests = lm_section(),
    fe_textbook = textbook_section(fe)
  )
  path <- file.path(ref_dir(), "splm_produc.json")
  jsonlite::write_json(out, path, digits = NA, auto_unbox = TRUE, pretty = TRUE)
  invisible(path)
}

main()
