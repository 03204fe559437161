# Reference values for spillover.models.spatial, from R's splm (spml) on the Munnell
# panel: log_gsp ~ log_pcap + log_pc + log_emp + unemp, 48 US states x 17 years, with
# row-standardised queen contiguity.
#
# Inputs (written by tests/references/splm_munnell_inputs.py from spillover's bundled data):
#   splm_munnell_data.csv, splm_munnell_queen_edges.csv
# Run from the repository root (Debian's r-cran-spatialreg, r-cran-jsonlite; splm from CRAN):
#   Rscript tests/references/splm_munnell.R
# Writes tests/references/splm_munnell.json. Tests read the JSON and never need R.
suppressPackageStartupMessages({
  library(splm)
  library(spdep)
  library(jsonlite)
})
here <- "tests/references"
dat <- read.csv(file.path(here, "splm_munnell_data.csv"), stringsAsFactors = FALSE)
edges <- read.csv(file.path(here, "splm_munnell_queen_edges.csv"), stringsAsFactors = FALSE)
states <- sort(unique(dat$state))
dat <- dat[order(dat$state, dat$year), ]
B <- matrix(0, length(states), length(states), dimnames = list(states, states))
B[cbind(match(edges$from, states), match(edges$to, states))] <- 1
lw <- mat2listw(B, style = "W", row.names = states)
W <- B / rowSums(B)

# Spatial lags of the regressors, period by period (for the Durbin model)
xs <- c("log_pcap", "log_pc", "log_emp", "unemp")
for (v in xs) {
  lagged <- numeric(nrow(dat))
  for (yr in unique(dat$year)) {
    rows <- which(dat$year == yr)
    lagged[rows] <- W %*% dat[rows, v][match(states, dat$state[rows])]
  }
  dat[[paste0("W_", v)]] <- lagged
}
fm <- log_gsp ~ log_pcap + log_pc + log_emp + unemp
fm_durbin <- update(fm, . ~ . + W_log_pcap + W_log_pc + W_log_emp + W_unemp)

fit <- function(formula, lag, error, effect, leeyu = FALSE, hess = FALSE) {
  m <- spml(formula, data = dat, index = c("state", "year"), listw = lw, model = "within",
            effect = effect, lag = lag, spatial.error = error, LeeYu = leeyu, Hess = hess,
            quiet = TRUE)
  coefs <- c(coef(m))
  v <- as.matrix(vcov(m))
  list(
    names = names(coefs),
    coef = unname(coefs),
    vcov_names = rownames(v),
    se = unname(sqrt(diag(v))),
    sigma2 = m$sigma2,
    loglik = if (is.null(m$logLik)) NULL else as.numeric(m$logLik),
    call = paste(deparse(m$call), collapse = "")
  )
}

re_lag <- spml(fm, data = dat, index = c("state", "year"), listw = lw, model = "random",
               lag = TRUE, spatial.error = "none", quiet = TRUE)
fe_lag <- spml(fm, data = dat, index = c("state", "year"), listw = lw, model = "within",
               effect = "individual", lag = TRUE, spatial.error = "none", quiet = TRUE)
haus <- sphtest(fe_lag, re_lag)
re_coef <- c(coef(re_lag))
re_v <- as.matrix(vcov(re_lag))

out <- list(
  sar_random = list(
    names = names(re_coef), coef = unname(re_coef), vcov_names = rownames(re_v),
    se = unname(sqrt(diag(re_v))), sigma2 = re_lag$sigma2,
    loglik = as.numeric(re_lag$logLik), lag = unname(re_lag$arcoef),
    lag_se = unname(sqrt(diag(as.matrix(re_lag$vcov.arcoef)))),
    errcomp = as.list(re_lag$errcomp)
  ),
  hausman_sar = list(statistic = unname(haus$statistic), df = unname(haus$parameter),
                     pvalue = unname(haus$p.value)),
  splm_version = as.character(packageVersion("splm")),
  sar_entity = fit(fm, TRUE, "none", "individual"),
  sar_entity_leeyu = fit(fm, TRUE, "none", "individual", leeyu = TRUE),
  sem_entity = fit(fm, FALSE, "b", "individual"),
  sar_twoway = fit(fm, TRUE, "none", "twoways"),
  sem_twoway = fit(fm, FALSE, "b", "twoways"),
  sdm_twoway = fit(fm_durbin, TRUE, "none", "twoways"),
  sac_entity = fit(fm, TRUE, "b", "individual"),
  sar_entity_hessian = fit(fm, TRUE, "none", "individual", hess = TRUE)
)
write_json(out, file.path(here, "splm_munnell.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
